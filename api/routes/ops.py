"""Ops (平台运维): stuck journeys and why, actions on one journey (each in the audit log), and
the audit log itself. The ops role only."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api import ops_actions as actions
from api.bodies import StrictRoute
from api.deps import OpsUser, SessionDep, SettingsDep, TemporalDep
from api.inputs import ID_PATTERN, PathId
from api.ops_stuck import StuckJourney, stuck_journeys

router = APIRouter(prefix="/api/ops", tags=["ops"], route_class=StrictRoute)
MAX_AGE_SECONDS = 10 * 366 * 86400  # ten years: older than any journey


@router.get("/stuck")
async def stuck(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    _: OpsUser,
    older_than_seconds: int | None = Query(
        None, ge=1, le=MAX_AGE_SECONDS, description="instead of each stage's policy threshold"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> list[StuckJourney]:
    """Journeys in one stage longer than their city's policy threshold for it, or waiting on
    a subsystem (an activity failing and retried), longest stuck first."""
    policies = request.app.state.policies
    return await stuck_journeys(
        session, client, settings, policies, older_than_seconds=older_than_seconds, limit=limit
    )


@router.post("/journeys/{wf_id}/retry-activity")
async def retry_activity(
    wf_id: PathId,
    body: actions.RetryActivity,
    session: SessionDep,
    client: TemporalDep,
    ops: OpsUser,
) -> actions.AuditEntry:
    """Retries a failing activity now instead of at its next backoff (Temporal ResetActivity)."""
    return await actions.retry_activity(session, client, ops, wf_id, body)


@router.post("/journeys/{wf_id}/resend-callback")
async def resend_callback(
    wf_id: PathId,
    body: actions.ResendCallback,
    session: SessionDep,
    settings: SettingsDep,
    ops: OpsUser,
) -> actions.AuditEntry:
    """Asks the subsystem to send its last callback about an order, booking or record again."""
    return await actions.resend_callback(session, settings, ops, wf_id, body)


@router.post("/journeys/{wf_id}/cancel")
async def cancel_with_refund(
    wf_id: PathId,
    body: actions.CancelWithRefund,
    session: SessionDep,
    client: TemporalDep,
    ops: OpsUser,
) -> actions.AuditEntry:
    """Withdraws the journey on the learner's behalf; escrow not yet released is refunded."""
    return await actions.cancel_with_refund(session, client, ops, wf_id, body)


@router.get("/audit")
async def audit_log(
    session: SessionDep,
    _: OpsUser,
    journey_id: Annotated[str | None, Query(max_length=128, pattern=ID_PATTERN)] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[actions.AuditEntry]:
    """Ops actions, newest first: who, when, why, what, on which journey, the outcome."""
    return actions.audit_log(session, journey_id, limit)
