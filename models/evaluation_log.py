"""What the review, penalty and driving-record ingestion keep besides the records the index
counts (models/evaluation.py): the regulator's moderation log, penalties the platform refused,
and how far the 12123 driving records have been read per school."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class ReviewModeration(SQLModel, table=True):
    """One regulator's hiding (or showing again) of a review's text: who, when, why."""

    __tablename__ = "review_moderation"
    __table_args__ = (sa.Index("ix_review_moderation_review_id_at", "review_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: str = Field(foreign_key="review.id", max_length=160)
    action: str = Field(max_length=8)  # hide | show
    reason: str = Field(max_length=500)
    actor_id: str = Field(max_length=32)
    at: datetime


class PenaltyRefusal(SQLModel, table=True):
    """A penalty the enforcement system sent that the platform could not take (an unknown school
    or coach): kept with the reason so ops can follow it up, never silently dropped."""

    __tablename__ = "penalty_refusal"

    case_no: str = Field(primary_key=True, max_length=64)
    school_id: str = Field(max_length=64)
    coach_id: str | None = Field(default=None, max_length=64)
    city_code: str = Field(max_length=6)
    reason: str = Field(max_length=200)
    received_at: datetime


class GraduateRecordCursor(SQLModel, table=True):
    """The last 12123 driving record read for a school's graduates: each pull goes on from it."""

    __tablename__ = "graduate_record_cursor"

    school_id: str = Field(foreign_key="school.id", primary_key=True, max_length=32)
    after: int = 0
    updated_at: datetime
