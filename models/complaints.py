"""Consultations (咨询) and complaints (投诉) as the read model keeps them.

A consultation goes to the learner's school and waits for its answer. A complaint is its own
Temporal workflow (the complaint workflow writes this row through activities, as the journey
writes its record); the row is what the school's and the coach's statistics, the regulator's
lists and the service-quality index count.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Consultation(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_consultation_school_id_asked_at", "school_id", "asked_at"),
        sa.Index(
            "ix_consultation_city_code_answered_at_due_at", "city_code", "answered_at", "due_at"
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    learner_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", max_length=32)
    city_code: str = Field(max_length=6)
    question: str = Field(max_length=2000)
    asked_at: datetime
    due_at: datetime  # asked_at plus the city policy's answer time; past it, flagged
    answer: str | None = Field(default=None, max_length=2000)
    answered_at: datetime | None = None
    answered_by: str | None = Field(default=None, max_length=32)


class Complaint(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_complaint_school_id_filed_at", "school_id", "filed_at"),
        sa.Index("ix_complaint_coach_id_filed_at", "coach_id", "filed_at"),
        sa.Index("ix_complaint_city_code_status", "city_code", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    workflow_id: str = Field(unique=True, max_length=128)  # the complaint's own workflow
    learner_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    journey_id: str | None = Field(default=None, max_length=128)  # the journey it is about
    school_id: str = Field(foreign_key="school.id", max_length=32)
    coach_id: str | None = Field(default=None, max_length=32)
    city_code: str = Field(max_length=6)
    # general | training_record (a disputed 学时 record) | contract_dispute (合同争议调解)
    source: str = Field(max_length=20)
    source_ref: str | None = Field(default=None, max_length=160)  # the record or contract id
    category: str = Field(max_length=32)
    content: str = Field(max_length=2000)
    # filed | delivered | answered | closed (the complaint workflow documents the moves)
    status: str = Field(max_length=16)
    case_no: str | None = Field(default=None, max_length=40)  # the 12328 system's number
    filed_at: datetime
    deadline_at: datetime | None = None  # working days from the policy, holidays skipped
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool = False  # past its deadline unanswered: escalated to the regulator
    reopened: bool = False  # a learner may reopen once
    rating: int | None = None  # the learner's 1-5 rating of the handling
    version: int = 0  # monotonic, from the workflow: a late retry never overwrites newer
    # Added by the complaint workflow (migration 0011): the school's answer, and when the
    # school's first reminder of the current deadline falls (the regulator's "due soon").
    answer: str | None = Field(default=None, max_length=2000)
    answered_by: str | None = Field(default=None, max_length=32)
    due_soon_at: datetime | None = None


class ComplaintEvent(SQLModel, table=True):
    """A complaint's timeline: each delivery, reminder, escalation, answer, reopening, rating
    and 12328 handling step, in the order the complaint workflow recorded them."""

    __tablename__ = "complaint_event"

    complaint_id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    # delivered | reminder | escalated | answered | reopened | rated | closed | handling | refused
    kind: str = Field(max_length=20)
    at: datetime
    party: str | None = Field(default=None, max_length=32)  # the recipient, or who acted
    text: str | None = Field(default=None, max_length=2000)
