"""Filing, reading and driving complaint workflows on behalf of the API's ports."""

import contextlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import status
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.complaints import ComplaintRecordActivities, complaint_row
from api.errors import api_error, field_error, not_found, temporal_errors
from api.idempotency import Idempotency
from api.journeys import journey_view
from core.config import Settings
from core.db import engine_for
from models import journey_log
from models.complaints import Complaint, ComplaintEvent
from models.journeys import JourneyRecord
from models.users import User
from policy.model import Policy
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_state import (
    ComplaintInput,
    ComplaintOutcome,
    ComplaintState,
    complaint_workflow_id,
)

OPEN_STATUSES = ("filed", "delivered")
DeadlineStatus = Literal["on_time", "due_soon", "overdue"]


class ComplaintCategory(StrEnum):
    fees = "fees"  # 收费
    teaching = "teaching"  # 教学质量
    service = "service"  # 服务态度
    contract = "contract"  # 合同履行
    training_hours = "training_hours"  # 学时
    safety = "safety"  # 安全
    other = "other"


class ComplaintSource(StrEnum):
    general = "general"
    training_record = "training_record"  # a disputed 学时 record of the journey
    contract_dispute = "contract_dispute"  # 合同争议调解: the journey's signed contract


class ComplaintEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    at: datetime
    party: str | None
    text: str | None


class ComplaintPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    journey_id: str | None
    school_id: str
    coach_id: str | None
    city_code: str
    source: str
    source_ref: str | None
    category: str
    content: str
    status: str
    case_no: str | None
    filed_at: datetime
    deadline_at: datetime | None
    answer: str | None
    answered_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    reopened: bool
    rating: int | None
    deadline_status: DeadlineStatus

    @classmethod
    def of(cls, c: Complaint, now: datetime) -> "ComplaintPublic":
        return cls.model_validate({**c.model_dump(), "deadline_status": deadline_status(c, now)})


class ComplaintDetail(ComplaintPublic):
    events: list[ComplaintEventPublic]


def aware(moment: datetime | None) -> datetime | None:
    """A time read back from SQLite, which drops the zone; every stored time is UTC."""
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)


def deadline_status(c: Complaint, now: datetime) -> DeadlineStatus:
    """Overdue once escalated (or past the deadline unanswered, the workflow about to escalate);
    due soon from the first reminder; else on time (also once answered in time)."""
    if c.overdue:
        return "overdue"
    if c.status not in OPEN_STATUSES:
        return "on_time"
    deadline, due_soon = aware(c.deadline_at), aware(c.due_soon_at)
    if deadline is not None and now >= deadline:
        return "overdue"
    if due_soon is not None and now >= due_soon:
        return "due_soon"
    return "on_time"


def deadline_clause(wanted: DeadlineStatus, now: datetime) -> sa.ColumnElement[bool]:
    """`deadline_status(c, now) == wanted` in SQL."""
    is_open = col(Complaint.status).in_(OPEN_STATUSES)
    past_deadline = sa.and_(is_open, col(Complaint.deadline_at) <= now)
    overdue = sa.or_(col(Complaint.overdue), past_deadline)
    due_soon = sa.and_(sa.not_(overdue), is_open, col(Complaint.due_soon_at) <= now)
    return {"overdue": overdue, "due_soon": due_soon}.get(
        wanted, sa.and_(sa.not_(overdue), sa.not_(due_soon))
    )


async def check_source(
    session: Session, client: Client, journey_id: str, source: ComplaintSource, ref: str | None
) -> None:
    """A complaint from a record or the contract names one of the journey's own."""
    if source == ComplaintSource.general:
        if ref is not None:
            raise field_error("source_ref", "一般投诉不关联记录，请勿填写", kind="unexpected_ref")
        return
    if ref is None:
        raise field_error("source_ref", "请填写所投诉的学时记录号或合同编号", kind="missing")
    view = journey_log.full_view(session, await journey_view(session, client, journey_id))
    session.commit()
    if source == ComplaintSource.training_record:
        if not any(r.record_no == ref and r.disputed_at for r in view.state.records):
            message = "该报名记录中没有此有争议的学时记录"
            raise field_error("source_ref", message, kind="no_disputed_record")
    elif ref != view.state.contract.contract_no or not view.state.contract.signed_sha256:
        raise field_error("source_ref", "该报名记录中没有此已签订的合同", kind="no_contract")


def complaint_input(
    journey: JourneyRecord,
    policy: Policy,
    complaint_id: str,
    source: ComplaintSource,
    source_ref: str | None,
    category: ComplaintCategory,
    content: str,
) -> ComplaintInput:
    return ComplaintInput(
        complaint_id=complaint_id,
        learner_id=journey.learner_id,
        journey_id=journey.workflow_id,
        school_id=journey.school_id,
        coach_id=journey.coach_id or None,
        city_code=journey.city_code,
        source=source.value,
        source_ref=source_ref,
        category=category.value,
        content=content,
        filed_at=datetime.now(UTC),
        rules=policy.complaints,
    )


async def file_complaint(
    session: Session, client: Client, settings: Settings, inp: ComplaintInput
) -> Complaint:
    """Starts the complaint's workflow (a retry under the same key meets it) and lists it."""
    writer = ComplaintRecordActivities(engine_for(settings.database_url))
    wf_id = complaint_workflow_id(inp.complaint_id)
    try:
        async with temporal_errors("complaint"):
            await client.start_workflow(
                ComplaintWorkflow.run,
                inp,
                id=wf_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    except WorkflowAlreadyStartedError:
        pass  # filed and closed already under this key: its row answers
    # The workflow's first write, made here too so the complaint is listed at once; the
    # version rule lets the workflow's own writes win.
    first = ComplaintState()
    first.set_deadline(inp.rules, inp.filed_at, inp.rules.handling_working_days)
    with contextlib.suppress(IntegrityError):  # the workflow's first write came in between
        writer.write(complaint_row(inp, first, wf_id))
    row = session.get(Complaint, inp.complaint_id)
    assert row is not None
    return row


def complaint_of(session: Session, complaint_id: str, allowed: Any) -> Complaint:
    """The complaint if `allowed(row)`; else 404, never confirming that it exists."""
    row = session.get(Complaint, complaint_id)
    if row is None or not allowed(row):
        raise not_found("complaint")
    return row


def detail(session: Session, row: Complaint) -> ComplaintDetail:
    events = session.exec(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == row.id)
        .order_by(col(ComplaintEvent.seq))
    ).all()
    public = ComplaintPublic.of(row, datetime.now(UTC))
    return ComplaintDetail(
        **public.model_dump(), events=[ComplaintEventPublic.model_validate(e) for e in events]
    )


async def run_complaint_update(
    client: Client, row: Complaint, update: Any, arg: Any, key: Idempotency
) -> ComplaintOutcome:
    """Runs a complaint Update; a closed complaint is refused without asking its workflow."""
    if row.status == "closed":
        raise api_error(status.HTTP_409_CONFLICT, "该投诉已办结", "complaint_closed")
    update_id = key.update_id(row.workflow_id, update.__name__, arg)
    async with temporal_errors("complaint"):
        outcome: ComplaintOutcome = await client.get_workflow_handle(
            row.workflow_id
        ).execute_update(update, arg, id=update_id)
    return outcome


def learner_may_file(journey: JourneyRecord | None, learner: User) -> JourneyRecord:
    if journey is None or journey.learner_id != learner.id:
        raise not_found("journey")
    return journey
