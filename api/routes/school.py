"""企业端 school port: a school's staff see their own learners, approve 面签, submit stage reports
(阶段报审), record no-shows and decide on coach changes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import school_service as service
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, SessionDep, StaffUser, TemporalDep
from api.idempotency import Idempotency
from api.inputs import Answer, Comment, PathId, Reason
from api.journeys import full_view_json, run_update
from models.journeys import JourneyRecord
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    JourneyView,
    Stage,
    StageReportAction,
    Subject,
    UpdateOutcome,
    WaitingOn,
)

router = APIRouter(prefix="/api/school", tags=["school"], route_class=StrictRoute)


@router.get("/journeys")
def school_journeys(
    session: SessionDep,
    staff: StaffUser,
    stage: Stage | None = None,
    waiting_on: WaitingOn | None = None,
) -> list[JourneyRecord]:
    return service.school_journeys(
        session, staff, stage and stage.value, waiting_on and waiting_on.value
    )


async def school_journey(
    session: SessionDep, client: TemporalDep, wf_id: str, staff: StaffUser
) -> JourneyView:
    return await service.staff_journey(session, client, wf_id, staff)


@router.get("/journeys/{wf_id}", response_model=dict)
async def get_journey(
    wf_id: PathId, session: SessionDep, client: TemporalDep, staff: StaffUser
) -> JSONResponse:
    view = await school_journey(session, client, wf_id, staff)
    return await full_view_json(session, client, view, staff)


@router.post("/journeys/{wf_id}/signing/approve")
async def approve_signing(
    wf_id: PathId, session: SessionDep, client: TemporalDep, staff: StaffUser, key: IdempotencyKey
) -> UpdateOutcome:
    return await service.approve_signing(session, client, staff, wf_id, key)


class Rejection(BaseModel):
    reason: Reason


@router.post("/journeys/{wf_id}/signing/reject")
async def reject_signing(
    wf_id: PathId,
    session: SessionDep,
    body: Rejection,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    return await service.reject_signing(session, client, staff, wf_id, body.reason, key)


# ---- training: stage reports, no-shows, coach changes -----------------------------------------


@router.post("/journeys/{wf_id}/stages/{subject}/report")
async def submit_stage_report(
    wf_id: PathId,
    session: SessionDep,
    subject: Subject,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    """阶段报审: the school submits a stage whose hours are met; the learner then confirms."""
    return await service.submit_stage_report(session, client, staff, wf_id, subject.value, key)


class DisputeAnswerBody(BaseModel):
    concede: bool  # True: the learner is right and the record is voided
    answer: Answer


@router.post("/journeys/{wf_id}/records/{record_no}/dispute-answer")
async def answer_dispute(
    wf_id: PathId,
    session: SessionDep,
    record_no: PathId,
    body: DisputeAnswerBody,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    """The school answers a learner's dispute of a training record: concede, or contest it
    before the regulator."""
    return await service.answer_dispute(
        session, client, staff, wf_id, record_no, body.concede, body.answer, key
    )


@router.post("/journeys/{wf_id}/bookings/{booking_id}/no-show")
async def report_no_show(
    wf_id: PathId,
    session: SessionDep,
    booking_id: PathId,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    return await service.report_no_show(session, client, staff, wf_id, booking_id, key)


class Approval(BaseModel):
    reason: Comment = ""


@router.post("/journeys/{wf_id}/coach-change/approve")
async def approve_coach_change(
    wf_id: PathId,
    session: SessionDep,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
    body: Approval | None = None,
) -> UpdateOutcome:
    await school_journey(session, client, wf_id, staff)
    reason = body.reason if body else ""
    return await _decide_coach_change(client, wf_id, staff, True, reason, key)


@router.post("/journeys/{wf_id}/coach-change/reject")
async def reject_coach_change(
    wf_id: PathId,
    session: SessionDep,
    body: Rejection,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await school_journey(session, client, wf_id, staff)
    return await _decide_coach_change(client, wf_id, staff, False, body.reason, key)


async def _decide_coach_change(
    client: TemporalDep, wf_id: str, staff: StaffUser, approve: bool, reason: str, key: Idempotency
) -> UpdateOutcome:
    decision = StageReportAction(
        subject="", actor_id=staff.id, approve=approve, reason=reason, role="school_staff"
    )
    return await run_update(client, wf_id, LearnerJourney.decide_coach_change, decision, key)
