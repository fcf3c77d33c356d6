"""What ops work from: every ops action with who, when, why and what came of it (refusals
too), and the activities the worker saw failing, so the stuck view finds a journey that waits
on a subsystem without asking every running journey."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class OpsAudit(SQLModel, table=True):
    __tablename__ = "ops_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_id: str = Field(max_length=32)  # the ops user
    action: str = Field(max_length=32)  # retry_activity | resend_callback | cancel_with_refund
    journey_id: str = Field(index=True, max_length=128)
    target: str = Field(default="", max_length=200)  # the activity, or subsystem:reference
    reason: str = Field(max_length=500)  # why, as the ops user wrote it
    outcome: str = Field(max_length=16)  # done | refused
    detail: str = Field(default="", sa_type=sa.Text)  # what happened, in words


class ActivityTrouble(SQLModel, table=True):
    """An activity of a workflow whose last attempt failed and that Temporal retries; the row
    goes when an attempt succeeds (or the failure is final)."""

    __tablename__ = "activity_trouble"

    workflow_id: str = Field(primary_key=True, max_length=128)
    activity_id: str = Field(primary_key=True, max_length=64)
    activity_type: str = Field(max_length=64)
    attempt: int
    error: str = Field(max_length=500)
    first_failed_at: datetime
    last_failed_at: datetime
