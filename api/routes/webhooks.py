"""Signed callbacks from the subsystems, turned into signals on the journey they name.

A forged or stale signature, or one made with another subsystem's secret, is refused before
anything is read, and so is a nonce seen before (a replayed delivery). Duplicates the
subsystem sends itself (each delivery has a nonce of its own) are harmless because the
workflow ignores a result it already has.
"""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, StrictBool, StringConstraints, ValidationError
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import nonces
from api.bodies import StrictRoute, parse_json
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import api_error, not_found, temporal_errors
from api.inputs import Day, Moment
from api.journeys import journey_view
from core.config import Settings
from core.signing import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from evaluation import penalties
from evaluation.penalties import PenaltyNotice
from models.complaints import Complaint
from models.journeys import JourneyRecord
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_state import HandlingEvent, complaint_workflow_id
from workflows.journey import LearnerJourney
from workflows.journey_state import ExamResult, HealthResult, PaymentCallback, TrainingRecord
from workflows.late_payment import LatePayment, LatePaymentRefund

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], route_class=StrictRoute)
M = TypeVar("M", bound=BaseModel)


# What a subsystem may send: bounded ids and text, aware times, numbers in range, known values.
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Note = Annotated[str, StringConstraints(max_length=500)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]


class PaymentEvent(BaseModel):
    """What the bank says was paid; the journey checks it against the order it made."""

    event: Ref
    order_id: Ref
    payer_ref: Ref
    account_id: Ref
    amount_fen: Annotated[int, Field(ge=1, le=10_000_000_000)]
    channel: Ref
    bank_txn_id: Ref
    paid_at: Moment


class HealthEvent(BaseModel):
    event: Ref
    booking_id: Ref
    learner_ref: Ref
    passed: StrictBool
    examined_at: Moment
    reason: Note | None = None
    items: Annotated[dict[Ref, Any], Field(max_length=50)] = {}


class TrainingRecordEvent(BaseModel):
    event: Ref
    record_no: Ref
    session_id: Ref
    journey_ref: Ref
    subject: Literal["theory", "field", "road", "safety"]
    mode: Literal["classroom", "remote", "practical", "simulator"]
    start: Moment
    end: Moment
    valid_minutes: Minutes
    invalid_minutes: Minutes = 0
    invalid_reason: Note | None = None


class ExamAttempt(BaseModel):
    score: Annotated[int, Field(ge=0, le=100)]
    passed: StrictBool


class ExamResultEvent(BaseModel):
    event: Ref
    booking_id: Ref
    journey_ref: Ref
    subject: Literal[1, 2, 3, 4]
    exam_date: Day
    attempts: Annotated[list[ExamAttempt], Field(max_length=5)]
    passed: StrictBool
    permit_issued_at: Day | None = None


class ComplaintHandlingEvent(BaseModel):
    event: Ref
    event_id: Ref
    case_no: Ref
    complaint_ref: Ref
    kind: Ref
    note: Note = ""
    at: Moment


class PenaltyEvent(BaseModel):
    event: Ref
    case_no: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    school_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    coach_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    city_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    kind: Literal["warning", "fine", "suspension", "revocation"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    amount_fen: Annotated[int, Field(ge=0, le=10_000_000_000)] = 0
    decided_at: Moment


@contextlib.asynccontextmanager
async def _callback(
    request: Request, settings: Settings, session: Session, subsystem: str
) -> AsyncIterator[dict[str, Any]]:
    """The callback's JSON, once its signature is that subsystem's own (no other subsystem's
    secret signs for it: a health centre's key forges no bank payment) and its nonce is new.

    Should handling it then fail on the platform's side (a 5xx: Temporal unavailable), the
    nonce is given back, so the subsystem sending the very same delivery again still lands;
    a refusal (4xx) keeps it taken."""
    body = await request.body()
    headers = request.headers
    signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    nonce = headers.get(NONCE_HEADER)
    secret = settings.webhook_secrets()[subsystem]
    if nonce is None or timestamp is None or not verify(body, secret, signature, timestamp, nonce):
        raise api_error(401, "回调签名缺失、有误或已过期", "bad_signature")
    data = parse_json(body)
    if not isinstance(data, dict):
        raise RequestValidationError([{"type": "model_type", "loc": ("body",), "msg": ""}])
    if not nonces.take(session, subsystem, nonce, int(timestamp)):
        raise api_error(409, "该回调已收到过（随机数重复），未再处理", "replayed_callback")
    try:
        yield data
    except Exception as exc:
        refused = isinstance(exc, RequestValidationError) or (
            isinstance(exc, HTTPException) and exc.status_code < 500
        )
        if not refused:
            nonces.give_back(session, subsystem, nonce)
        raise


def _parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


async def _relay(
    request: Request,
    settings: Settings,
    session: Session,
    client: Client,
    subsystem: str,
    model: type[M],
    event_name: str,
    deliver: Callable[[M], tuple[str, Any, Any]],
    when_closed: Callable[[M], Awaitable[dict[str, str]]] | None = None,
) -> dict[str, str]:
    """Verifies and parses a callback, then signals the journey it names.

    `deliver` maps the event to (journey id, signal, signal argument); `when_closed` answers an
    event for a journey that has ended (404 without it).
    """
    async with _callback(request, settings, session, subsystem) as data:
        event = _parse(model, data)
        if getattr(event, "event", None) != event_name:
            return {"status": "ignored"}
        journey_id, signal, arg = deliver(event)
        try:
            async with temporal_errors():
                await client.get_workflow_handle(journey_id).signal(signal, arg)
        except HTTPException as exc:
            if exc.status_code != 404 or when_closed is None:
                raise
            return await when_closed(event)
        return {"status": "accepted"}


async def _refund_late_payment(
    event: PaymentEvent, session: SessionDep, settings: Settings, client: Client
) -> dict[str, str]:
    """Money for a journey that has ended never stays at the bank: a small workflow of its own
    books and refunds it (once per order, however often the bank calls back).

    Checked against the orders the journey made: one it refused (it differed from the order)
    has had its money handed back already. Any other, even for an order the journey never made
    (one opened outside it), goes back from the account the bank says it was paid into, as much
    as was paid, whatever the order said: the refund comes first, so only money the bank really
    holds there is booked at all."""
    journey = session.get(JourneyRecord, event.payer_ref)
    if journey is None:
        raise not_found("journey")
    view = await journey_view(session, client, journey.workflow_id)
    state = view.state
    order = next((o for o in state.orders if o.order_id == event.order_id), None)
    if (order is not None and order.status == "refused") or event.order_id in state.foreign_orders:
        return {"status": "refused"}
    payment = LatePayment(
        journey_id=journey.workflow_id,
        school_id=journey.school_id,
        account_id=event.account_id,
        order_id=event.order_id,
        amount_fen=event.amount_fen,
        bank_txn_id=event.bank_txn_id,
    )
    # A duplicate callback after the refund finds the id taken: refunded already.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            LatePaymentRefund.run,
            payment,
            id=f"late-payment-{event.order_id}",
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return {"status": "refunding"}


@router.post("/bank")
async def bank_callback(
    request: Request, settings: SettingsDep, client: TemporalDep, session: SessionDep
) -> dict[str, str]:
    return await _relay(
        request,
        settings,
        session,
        client,
        "bank",
        PaymentEvent,
        "payment.succeeded",
        lambda e: (
            e.payer_ref,
            LearnerJourney.payment_callback,
            PaymentCallback(
                e.order_id, e.amount_fen, e.bank_txn_id, e.paid_at, e.account_id, e.channel
            ),
        ),
        lambda e: _refund_late_payment(e, session, settings, client),
    )


@router.post("/health")
async def health_callback(
    request: Request, settings: SettingsDep, client: TemporalDep, session: SessionDep
) -> dict[str, str]:
    return await _relay(
        request,
        settings,
        session,
        client,
        "health",
        HealthEvent,
        "health.result",
        lambda e: (
            e.learner_ref,
            LearnerJourney.health_result,
            HealthResult(
                e.booking_id,
                e.passed,
                e.examined_at,
                e.reason or "",
                {k: str(v) for k, v in e.items.items()},
            ),
        ),
    )


@router.post("/timing")
async def timing_callback(
    request: Request, settings: SettingsDep, client: TemporalDep, session: SessionDep
) -> dict[str, str]:
    return await _relay(
        request,
        settings,
        session,
        client,
        "timing",
        TrainingRecordEvent,
        "training.record",
        lambda e: (
            e.journey_ref,
            LearnerJourney.training_record,
            TrainingRecord(
                e.record_no,
                e.session_id,
                e.subject,
                e.mode,
                e.start,
                e.end,
                e.valid_minutes,
                e.invalid_minutes,
                e.invalid_reason or "",
            ),
        ),
    )


@router.post("/exam")
async def exam_callback(
    request: Request, settings: SettingsDep, client: TemporalDep, session: SessionDep
) -> dict[str, str]:
    return await _relay(
        request,
        settings,
        session,
        client,
        "exam",
        ExamResultEvent,
        "exam.result",
        lambda e: (
            e.journey_ref,
            LearnerJourney.exam_result,
            ExamResult(
                e.booking_id,
                e.subject,
                e.exam_date.isoformat(),
                e.passed,
                [a.score for a in e.attempts],
                e.permit_issued_at.isoformat() if e.permit_issued_at else None,
            ),
        ),
    )


async def _complaint_closed(event: ComplaintHandlingEvent, session: SessionDep) -> dict[str, str]:
    """12328 may note a case after the learner closed it: nothing left to tell."""
    if session.get(Complaint, event.complaint_ref) is None:
        raise not_found("complaint")
    return {"status": "closed"}


@router.post("/complaints")
async def complaint_callback(
    request: Request, settings: SettingsDep, client: TemporalDep, session: SessionDep
) -> dict[str, str]:
    return await _relay(
        request,
        settings,
        session,
        client,
        "complaints",
        ComplaintHandlingEvent,
        "complaint.handling",
        lambda e: (
            complaint_workflow_id(e.complaint_ref),
            ComplaintWorkflow.handling,
            HandlingEvent(e.event_id, e.kind, e.note, e.at),
        ),
        lambda e: _complaint_closed(e, session),
    )


@router.post("/enforcement")
async def enforcement_callback(
    request: Request, settings: SettingsDep, session: SessionDep
) -> dict[str, str]:
    """An administrative penalty, into the platform's records (no journey to signal): once per
    case number; one against a school or coach the registry lacks is kept as refused."""
    async with _callback(request, settings, session, "enforcement") as data:
        event = _parse(PenaltyEvent, data)
        if event.event != "penalty.decided":
            return {"status": "ignored"}
        notice = PenaltyNotice(**event.model_dump(exclude={"event"}))
        return {"status": penalties.ingest(session, notice)}
