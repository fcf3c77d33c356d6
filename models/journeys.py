"""The journeys read model: a SQL mirror of each workflow's state, written only by activities.

The workflow is the source of truth; this table lets pages list and filter journeys
without querying every workflow.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class JourneyRecord(SQLModel, table=True):
    # For the regulator's and the school's lists (migration 0007 says which read each serves).
    __table_args__ = (
        sa.Index("ix_journeyrecord_status_stage_entered_at", "status", "stage_entered_at"),
        sa.Index("ix_journeyrecord_status_city_code_stage", "status", "city_code", "stage"),
        sa.Index(
            "ix_journeyrecord_school_id_stage_stage_entered_at",
            "school_id",
            "stage",
            "stage_entered_at",
        ),
    )

    workflow_id: str = Field(primary_key=True, max_length=128)
    learner_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    city_code: str = Field(index=True, max_length=6)
    vehicle_class: str = Field(max_length=4)
    coach_id: str = Field(max_length=32)
    stage: str = Field(index=True, max_length=32)
    status: str = Field(max_length=16)  # active | completed | withdrawn | failed
    waiting_on: str = Field(max_length=32)
    stage_entered_at: datetime
    started_at: datetime
    updated_at: datetime
    learner_no: str | None = Field(default=None, max_length=32)  # 全国统一编号
    # A monotonically increasing version from the workflow, so a late retry of an older
    # projection can never overwrite a newer one.
    version: int = 0


# What journeys under the footprint rules no longer keep in their state (issue 9), written by
# their projection (activities/records.py) and read back by models/journey_log.py.


class JourneyStep(SQLModel, table=True):
    """One entry of a journey's timeline, by its place in it."""

    workflow_id: str = Field(primary_key=True, max_length=128)
    seq: int = Field(primary_key=True)
    data: str = Field(sa_type=sa.Text)  # the StepOutcome, as the journey encodes it


class JourneyItem(SQLModel, table=True):
    """A journey's training record or practical booking, as the journey last wrote it."""

    workflow_id: str = Field(primary_key=True, max_length=128)
    kind: str = Field(primary_key=True, max_length=8)  # record | booking
    item_id: str = Field(primary_key=True, max_length=160)  # record no or booking id
    n: int  # the order the journey received or made it in
    status: str = Field(max_length=16)
    version: int  # the journey's version when written: an older one never overwrites it
    data: str = Field(sa_type=sa.Text)  # the RecordEntry or Booking


class ClosedJourneyView(SQLModel, table=True):
    """A closed journey's view, written as it closes: read instead of replaying its history."""

    workflow_id: str = Field(primary_key=True, max_length=128)
    version: int
    closed_at: datetime
    data: str = Field(sa_type=sa.Text)  # the JourneyView
