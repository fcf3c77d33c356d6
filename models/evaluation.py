"""What the service-quality index (一指数) counts besides journeys and complaints: reviews of
schools and coaches, administrative penalties, and graduates' driving record.

Rows arrive through activities and ingestion (never typed in by a school); the index and the
school list compute every figure from them.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Review(SQLModel, table=True):
    """A learner's rating of the school and the coach for one stage (科目二, 科目三, or the
    follow-up 追评 after graduation): one per learner per journey and stage, edits versioned."""

    __table_args__ = (
        sa.UniqueConstraint("journey_id", "stage", name="uq_review_journey_id_stage"),
        sa.Index("ix_review_school_id_created_at", "school_id", "created_at"),
        sa.Index("ix_review_coach_id_created_at", "coach_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=160)
    journey_id: str = Field(max_length=128)
    learner_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", max_length=32)
    coach_id: str | None = Field(default=None, max_length=32)
    stage: str = Field(max_length=32)
    school_stars: int
    coach_stars: int | None = None
    text: str = Field(default="", max_length=2000)
    version: int = 1  # the current edit; every edit is kept in ReviewEdit
    created_at: datetime
    updated_at: datetime
    reply: str | None = Field(default=None, max_length=2000)  # the school's answer
    replied_at: datetime | None = None
    replied_by: str | None = Field(default=None, max_length=32)
    # A regulator may hide abusive text, with a reason that is logged; the stars still count.
    hidden: bool = False
    hidden_reason: str | None = Field(default=None, max_length=500)
    hidden_by: str | None = Field(default=None, max_length=32)
    hidden_at: datetime | None = None


class ReviewEdit(SQLModel, table=True):
    """Every version of a review, the first included."""

    __tablename__ = "review_edit"

    review_id: str = Field(foreign_key="review.id", primary_key=True, max_length=160)
    version: int = Field(primary_key=True)
    school_stars: int
    coach_stars: int | None = None
    text: str = Field(default="", max_length=2000)
    edited_at: datetime


class Penalty(SQLModel, table=True):
    """An administrative penalty (行政处罚) against a school or one of its coaches, as the
    enforcement system reported it."""

    __table_args__ = (
        sa.Index("ix_penalty_school_id_decided_at", "school_id", "decided_at"),
        sa.Index("ix_penalty_coach_id_decided_at", "coach_id", "decided_at"),
    )

    id: str = Field(primary_key=True, max_length=64)  # the enforcement system's case number
    school_id: str = Field(foreign_key="school.id", max_length=32)
    coach_id: str | None = Field(default=None, max_length=32)
    city_code: str = Field(max_length=6)
    kind: str = Field(max_length=32)  # warning | fine | suspension | revocation
    reason: str = Field(max_length=500)
    amount_fen: int = 0
    decided_at: datetime
    received_at: datetime


class GraduateIncident(SQLModel, table=True):
    """A traffic violation or accident of a school's graduate within three years of licensing,
    pulled from the 12123 system."""

    __tablename__ = "graduate_incident"
    __table_args__ = (
        sa.Index("ix_graduate_incident_school_id_occurred_at", "school_id", "occurred_at"),
    )

    id: str = Field(primary_key=True, max_length=64)  # the 12123 system's record number
    learner_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", max_length=32)
    coach_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=16)  # violation | accident
    severity: str = Field(
        max_length=16
    )  # violation: points as text; accident: minor | injury | fatal
    licensed_at: datetime
    occurred_at: datetime
    received_at: datetime
