"""Ops actions on one journey: retry a failing activity now, ask a subsystem to send its last
callback again, cancel with refund. Each is written to the audit log with who, when, why,
what, on which journey and the outcome; a refusal is written too, then answered as a 4xx."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Literal

import httpx
from fastapi import HTTPException, status
from pydantic import BaseModel, StringConstraints
from sqlmodel import Session, col, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetActivityRequest
from temporalio.client import Client, WorkflowExecutionStatus

from api.errors import api_error, not_found, temporal_errors
from api.journeys import fetch_view, handle
from api.learner_service import withdrawal_refund_fen
from api.ops_stuck import failed_pending, subsystem_of
from api.pages.web import explain
from core.config import Settings
from core.money import yuan
from models.journeys import JourneyRecord
from models.ops import OpsAudit
from models.users import User
from workflows.journey import LearnerJourney
from workflows.journey_state import Status, Withdraw

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Subsystem = Literal["bank", "health", "timing", "exam"]


class RetryActivity(BaseModel):
    reason: Reason
    activity_id: Ref | None = None  # None: every activity of the journey that is failing


class ResendCallback(BaseModel):
    reason: Reason
    subsystem: Subsystem
    ref: Ref  # the order, booking or training record the callback is about


class CancelWithRefund(BaseModel):
    reason: Reason


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor_id: str
    action: str
    journey_id: str
    target: str
    reason: str
    outcome: str
    detail: str


def _entry(row: OpsAudit) -> AuditEntry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return AuditEntry.model_validate({**row.model_dump(), "at": at})


def _write(session: Session, row: OpsAudit) -> AuditEntry:
    session.add(row)
    session.commit()
    return _entry(row)


async def audited(
    session: Session,
    ops: User,
    action: str,
    journey_id: str,
    target: str,
    reason: str,
    run: Callable[[], Awaitable[str]],
) -> AuditEntry:
    """Runs the action and writes its audit row: `done` with what it did, or `refused` with
    why (the refusal then goes on to the caller)."""

    def row(outcome: str, detail: str) -> OpsAudit:
        return OpsAudit(
            at=datetime.now(UTC),
            actor_id=ops.id,
            action=action,
            journey_id=journey_id,
            target=target,
            reason=reason,
            outcome=outcome,
            detail=detail,
        )

    try:
        detail = await run()
    except HTTPException as exc:
        session.rollback()
        _write(session, row("refused", explain(exc)))
        raise
    return _write(session, row("done", detail))


def _journey(session: Session, wf_id: str, *, running: bool = False) -> JourneyRecord:
    """The journey's read-model row (404 without one); `running`: 409 once it has ended."""
    journey = session.get(JourneyRecord, wf_id)
    session.commit()  # no connection held while Temporal or a subsystem answers
    if journey is None:
        raise not_found("journey")
    if running and journey.status != Status.active.value:
        raise api_error(status.HTTP_409_CONFLICT, "该报名已结束", "journey_closed")
    return journey


async def retry_activity(
    session: Session, client: Client, ops: User, wf_id: str, req: RetryActivity
) -> AuditEntry:
    async def run() -> str:
        # Temporal, not the read model: a journey can fail before its first projection.
        async with temporal_errors():
            description = await handle(client, wf_id).describe()
        if description.workflow_type != LearnerJourney.__name__:
            raise not_found("journey")
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise api_error(status.HTTP_409_CONFLICT, "该报名已结束", "journey_closed")
        failing = failed_pending(description)
        chosen = [p for p in failing if req.activity_id in (None, p.activity_id)]
        if not chosen:
            raise api_error(
                status.HTTP_409_CONFLICT, "该报名没有正在失败重试的活动", "nothing_to_retry"
            )
        for p in chosen:
            reset = ResetActivityRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=wf_id),
                id=p.activity_id,
                identity=f"ops:{ops.id}",
            )
            async with temporal_errors():
                await client.workflow_service.reset_activity(reset)
        return "；".join(
            f"已立即重试 {p.activity_type.name}（{subsystem_of(p.activity_type.name)}，"
            f"此前已尝试 {p.attempt} 次：{p.last_failure.message or '未知原因'}）"
            for p in chosen
        )

    target = req.activity_id or "所有失败中的活动"
    return await audited(session, ops, "retry_activity", wf_id, target, req.reason, run)


def subsystem_url(settings: Settings, subsystem: Subsystem) -> str:
    return {
        "bank": settings.bank_url,
        "health": settings.health_url,
        "timing": settings.timing_url,
        "exam": settings.exam_url,
    }[subsystem]


async def resend_callback(
    session: Session, settings: Settings, ops: User, wf_id: str, req: ResendCallback
) -> AuditEntry:
    """The subsystem sends its last callback about `ref` for this journey again; the journey
    takes a result it already has as the same result (duplicates are harmless)."""

    async def run() -> str:
        _journey(session, wf_id)
        url = f"{subsystem_url(settings, req.subsystem)}/_callbacks/resend"
        try:
            async with httpx.AsyncClient(timeout=settings.subsystem_timeout_seconds) as http:
                answer = await http.post(url, json={"ref": req.ref, "journey_ref": wf_id})
        except httpx.HTTPError as exc:
            raise api_error(503, f"{subsystem_of(req.subsystem)}暂不可用，请稍后重试") from exc
        if answer.status_code == 404:
            raise api_error(404, f"{subsystem_of(req.subsystem)}没有该报名此业务的回调记录")
        if not answer.is_success:
            raise api_error(503, f"{subsystem_of(req.subsystem)}暂不可用，请稍后重试")
        sent = answer.json()
        return (
            f"{subsystem_of(req.subsystem)}已重新发送回调 {sent.get('event')}"
            f"（回调编号 {sent.get('callback_id')}，原回调 {sent.get('resent_of')}）"
        )

    target = f"{req.subsystem}:{req.ref}"
    return await audited(session, ops, "resend_callback", wf_id, target, req.reason, run)


async def cancel_with_refund(
    session: Session, client: Client, ops: User, wf_id: str, req: CancelWithRefund
) -> AuditEntry:
    """The journey is withdrawn through its own withdrawal (the Update a learner sends), which
    refunds everything held that the school has not earned (workflows/money.py `settle`)."""

    async def run() -> str:
        _journey(session, wf_id, running=True)
        refund = withdrawal_refund_fen(await fetch_view(client, wf_id))
        withdraw = Withdraw(f"平台运维 {ops.id} 代为取消：{req.reason}")
        async with temporal_errors():
            await handle(client, wf_id).execute_update(
                LearnerJourney.withdraw, withdraw, id=f"ops-cancel-{uuid.uuid4().hex}"
            )
        return f"已按退学办理，退还学员监管资金 {yuan(refund)} 元（未拨付部分）"

    return await audited(session, ops, "cancel_with_refund", wf_id, "", req.reason, run)


def audit_log(session: Session, journey_id: str | None, limit: int) -> list[AuditEntry]:
    query = select(OpsAudit).order_by(col(OpsAudit.id).desc()).limit(limit)
    if journey_id is not None:
        query = query.where(OpsAudit.journey_id == journey_id)
    return [_entry(row) for row in session.exec(query).all()]
