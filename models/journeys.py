"""The journeys read model: a SQL mirror of each workflow's state, written only by activities.

The workflow is the source of truth; this table lets pages list and filter journeys
without querying every workflow.
"""

from datetime import datetime

from sqlmodel import Field, SQLModel


class JourneyRecord(SQLModel, table=True):
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
