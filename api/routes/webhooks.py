"""Signed callbacks from the subsystems, turned into signals on the journey they name.

A forged or stale signature is refused before anything is read; duplicates are harmless
because the workflow ignores a result it already has.
"""

import json
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ValidationError

from api.deps import SettingsDep, TemporalDep
from api.errors import temporal_errors
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from workflows.journey import LearnerJourney
from workflows.journey_state import ExamResult, HealthResult, PaymentCallback, TrainingRecord

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
M = TypeVar("M", bound=BaseModel)


class PaymentEvent(BaseModel):
    event: str
    order_id: str
    payer_ref: str
    amount_fen: int
    bank_txn_id: str
    paid_at: datetime


class HealthEvent(BaseModel):
    event: str
    booking_id: str
    learner_ref: str
    passed: bool
    examined_at: datetime
    reason: str | None = None
    items: dict[str, Any] = {}


class TrainingRecordEvent(BaseModel):
    event: str
    record_no: str
    session_id: str
    journey_ref: str
    subject: str
    mode: str
    start: datetime
    end: datetime
    valid_minutes: int
    invalid_minutes: int = 0
    invalid_reason: str | None = None


class ExamAttempt(BaseModel):
    score: int
    passed: bool


class ExamResultEvent(BaseModel):
    event: str
    booking_id: str
    journey_ref: str
    subject: int
    exam_date: str
    attempts: list[ExamAttempt]
    passed: bool
    permit_issued_at: str | None = None


async def _verified(request: Request, secret: str) -> dict[str, Any]:
    body = await request.body()
    headers = request.headers
    if not verify(body, secret, headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)):
        raise HTTPException(401, "bad or missing webhook signature")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise HTTPException(422, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise HTTPException(422, "body must be a JSON object")
    return data


def _parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from exc


@router.post("/bank")
async def bank_callback(
    request: Request, settings: SettingsDep, client: TemporalDep
) -> dict[str, str]:
    event = _parse(PaymentEvent, await _verified(request, settings.webhook_secret))
    if event.event != "payment.succeeded":
        return {"status": "ignored"}
    async with temporal_errors():
        await client.get_workflow_handle(event.payer_ref).signal(
            LearnerJourney.payment_callback,
            PaymentCallback(event.order_id, event.amount_fen, event.bank_txn_id, event.paid_at),
        )
    return {"status": "accepted"}


@router.post("/health")
async def health_callback(
    request: Request, settings: SettingsDep, client: TemporalDep
) -> dict[str, str]:
    event = _parse(HealthEvent, await _verified(request, settings.webhook_secret))
    if event.event != "health.result":
        return {"status": "ignored"}
    async with temporal_errors():
        await client.get_workflow_handle(event.learner_ref).signal(
            LearnerJourney.health_result,
            HealthResult(
                event.booking_id,
                event.passed,
                event.examined_at,
                event.reason or "",
                {k: str(v) for k, v in event.items.items()},
            ),
        )
    return {"status": "accepted"}


@router.post("/timing")
async def timing_callback(
    request: Request, settings: SettingsDep, client: TemporalDep
) -> dict[str, str]:
    event = _parse(TrainingRecordEvent, await _verified(request, settings.webhook_secret))
    if event.event != "training.record":
        return {"status": "ignored"}
    async with temporal_errors():
        await client.get_workflow_handle(event.journey_ref).signal(
            LearnerJourney.training_record,
            TrainingRecord(
                event.record_no,
                event.session_id,
                event.subject,
                event.mode,
                event.start,
                event.end,
                event.valid_minutes,
                event.invalid_minutes,
                event.invalid_reason or "",
            ),
        )
    return {"status": "accepted"}


@router.post("/exam")
async def exam_callback(
    request: Request, settings: SettingsDep, client: TemporalDep
) -> dict[str, str]:
    event = _parse(ExamResultEvent, await _verified(request, settings.webhook_secret))
    if event.event != "exam.result":
        return {"status": "ignored"}
    async with temporal_errors():
        await client.get_workflow_handle(event.journey_ref).signal(
            LearnerJourney.exam_result,
            ExamResult(
                event.booking_id,
                event.subject,
                event.exam_date,
                event.passed,
                [a.score for a in event.attempts],
                event.permit_issued_at,
            ),
        )
    return {"status": "accepted"}
