"""服务端 learner port, part 2: training, exams, graduation and after.

Thin handlers: check the input and the caller's scope, run the journey's Update, return the
view. The journey's validators refuse what the rules forbid (409, nothing written); input
that cannot be right is a 422 naming the field before the journey is asked at all.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from api import training_service as service
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, LearnerUser, SessionDep, SettingsDep, TemporalDep
from api.errors import field_error
from api.inputs import NOT_BLANK, Comment, Day, Id, PathId, Reason, Stars
from api.journeys import (
    ApplicantData,
    run_update,
)
from api.learner_service import learner_party
from api.routes.learner import own_journey
from models.registry import Coach
from models.training import TrainingSlotPublic
from policy.model import Policy
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    CancelExam,
    CoachChangeRequest,
    FollowupReview,
    JourneyView,
    RateStage,
    Subject,
    UpdateOutcome,
)

router = APIRouter(prefix="/api/learner", tags=["learner"], route_class=StrictRoute)

ARCHIVE_KINDS = service.ARCHIVE_KINDS


def _policy(request: Request, view: JourneyView) -> Policy:
    return request.app.state.policies[view.city_code]


# ---- practical bookings (科目二, 科目三) -------------------------------------------------------


@router.get("/journeys/{wf_id}/slots")
async def list_open_slots(
    wf_id: PathId,
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> list[TrainingSlotPublic]:
    """The school's open slots for the current stage that the learner is free to take (an hour
    they already booked, in this journey or another, is left out); empty when the stage books
    none."""
    view = await own_journey(session, client, wf_id, learner)
    return service.bookable_slots(session, view, learner, _policy(request, view))


class BookingCreate(BaseModel):
    slot_id: Id


@router.post("/journeys/{wf_id}/bookings")
async def book_slot(
    wf_id: PathId,
    session: SessionDep,
    body: BookingCreate,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    return await service.book_slot(session, client, learner, wf_id, body.slot_id, key)


class BookingCancel(BaseModel):
    reason: Comment = ""


@router.post("/journeys/{wf_id}/bookings/{booking_id}/cancel")
async def cancel_booking(
    wf_id: PathId,
    session: SessionDep,
    booking_id: PathId,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
    body: BookingCancel | None = None,
) -> UpdateOutcome:
    reason = body.reason if body else ""
    return await service.cancel_booking(session, client, learner, wf_id, booking_id, reason, key)


# ---- training records: confirm or dispute (学时确认) ------------------------------------------


@router.post("/journeys/{wf_id}/records/{record_no}/confirm")
async def confirm_record(
    wf_id: PathId,
    session: SessionDep,
    record_no: PathId,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    return await service.decide_record(session, client, learner, wf_id, record_no, "", key)


class Dispute(BaseModel):
    reason: Reason


@router.post("/journeys/{wf_id}/records/{record_no}/dispute")
async def dispute_record(
    wf_id: PathId,
    session: SessionDep,
    record_no: PathId,
    body: Dispute,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    reason = body.reason
    return await service.decide_record(session, client, learner, wf_id, record_no, reason, key)


# ---- stages: theory confirmation with a rating, the stage report (阶段报审) -----------------


class StageRating(BaseModel):
    school_stars: Stars
    coach_stars: Stars
    comment: Comment = ""


@router.post("/journeys/{wf_id}/stages/{subject}/confirm")
async def confirm_stage(
    wf_id: PathId,
    session: SessionDep,
    subject: Literal["theory", "safety"],
    body: StageRating,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    rating = RateStage(subject, body.school_stars, body.coach_stars, body.comment)
    return await service.confirm_stage(session, client, learner, wf_id, rating, key)


@router.post("/journeys/{wf_id}/stages/{subject}/rating")
async def rate_practical_stage(
    wf_id: PathId,
    session: SessionDep,
    subject: Literal["field", "road"],
    body: StageRating,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    """科目二、科目三：阶段报审确认前评价驾校和教练（一次；之后在评价中修改）。"""
    rating = RateStage(subject, body.school_stars, body.coach_stars, body.comment)
    return await service.rate_practical_stage(session, client, learner, wf_id, rating, key)


@router.post("/journeys/{wf_id}/stages/{subject}/report/confirm")
async def confirm_stage_report(
    wf_id: PathId,
    session: SessionDep,
    subject: Subject,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    return await service.confirm_report(session, client, learner, wf_id, subject.value, key)


# ---- exams (12123) -------------------------------------------------------------------------


class ExamBookingCreate(BaseModel):
    subject: Subject
    exam_date: Day
    venue: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK),
    ] = None


@router.post("/journeys/{wf_id}/exams")
async def book_exam(
    wf_id: PathId,
    session: SessionDep,
    body: ExamBookingCreate,
    request: Request,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    policies = request.app.state.policies
    day = body.exam_date.isoformat()
    return await service.book_exam(
        session, client, policies, learner, wf_id, body.subject.value, day, body.venue, key
    )


@router.post("/journeys/{wf_id}/exams/{subject}/cancel")
async def cancel_exam(
    wf_id: PathId,
    session: SessionDep,
    subject: Subject,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    return await run_update(
        client, wf_id, LearnerJourney.cancel_exam, CancelExam(subject.value), key
    )


# ---- coach change, follow-up review, transfer ------------------------------------------------


class CoachChangeCreate(BaseModel):
    coach_id: Id
    reason: Reason


@router.post("/journeys/{wf_id}/coach-change")
async def request_coach_change(
    wf_id: PathId,
    body: CoachChangeCreate,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    view = await learner_party(session, client, wf_id, learner)
    coach = session.get(Coach, body.coach_id)
    if coach is None or coach.school_id != view.school_id or not coach.active:
        raise field_error("coach_id", "该驾校没有此在岗教练", kind="unknown_coach")
    if view.vehicle_class not in coach.permitted_classes:
        message = f"教练{coach.name}未获准教授{view.vehicle_class}车型"
        raise field_error("coach_id", message, kind="coach_not_permitted")
    req = CoachChangeRequest(coach.id, coach.name, body.reason)
    return await run_update(client, wf_id, LearnerJourney.request_coach_change, req, key)


class FollowupCreate(BaseModel):
    school_stars: Stars
    coach_stars: Stars
    comment: Comment = ""


@router.post("/journeys/{wf_id}/followup")
async def add_followup_review(
    wf_id: PathId,
    session: SessionDep,
    body: FollowupCreate,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    review = FollowupReview(body.school_stars, body.coach_stars, body.comment)
    return await service.add_followup_review(session, client, learner, wf_id, review, key)


class TransferCreate(ApplicantData):
    """转校: the new school and coach, with the applicant's data as at sign-up."""

    reason: Reason
    school_id: Id
    coach_id: Id


@router.post("/journeys/{wf_id}/transfer")
async def transfer(
    wf_id: PathId,
    body: TransferCreate,
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    applicant = ApplicantData(**body.model_dump(include=set(ApplicantData.model_fields)))
    to = service.NewSchool(body.school_id, body.coach_id, applicant, body.reason)
    policies = request.app.state.policies
    return await service.transfer(session, client, policies, learner, wf_id, to, key)


# ---- the archive (登记表, 教学日志, 培训记录, 结业证书) --------------------------------------


@router.get("/journeys/{wf_id}/documents/{kind}.pdf")
async def archive_pdf(
    wf_id: PathId,
    session: SessionDep,
    kind: str,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> Response:
    """One archive document, once the learner has graduated (404 before)."""
    return await service.archive_document(session, settings, client, learner, wf_id, kind)
