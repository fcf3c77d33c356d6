"""A learner's training, for the JSON routes and the pages: the open slots they may book,
booking and cancelling, confirming or disputing a record, and the archive's documents."""

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.responses import Response
from sqlmodel import Session
from temporalio.client import Client

from activities.bookings import open_slots
from activities.slots import held
from api import documents as docs
from api.errors import field_error, not_found
from api.idempotency import Idempotency
from api.journeys import ApplicantData, JourneyCreate, checked_enrolment, run_update
from api.learner_service import learner_journey, learner_party
from core.config import Settings
from models.training import TrainingSlotPublic, hour_starts, resource
from models.users import User
from policy.model import Policy
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookExam,
    BookSlotRequest,
    CancelBookingRequest,
    FollowupReview,
    JourneyView,
    RateStage,
    RecordDecision,
    StageReportAction,
    Status,
    Transfer,
    UpdateOutcome,
)

ARCHIVE_KINDS = ("registration", "teaching_log", "training_records", "certificate")


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they are stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def bookable_slots(
    session: Session, view: JourneyView, learner: User, policy: Policy
) -> list[TrainingSlotPublic]:
    """The school's open slots for the current stage that the learner is free to take (an hour
    they already booked, in this journey or another, is left out); empty when the stage books
    none."""
    subject = str(view.state.stage)
    if subject not in ("field", "road") or view.state.status != Status.active:
        return []
    horizon = policy.training.booking_horizon_days
    slots = open_slots(session, view.school_id, subject, datetime.now(UTC), horizon)
    hours = {s.id: set(hour_starts(_utc(s.start), _utc(s.end))) for s in slots}
    every_hour = sorted(set().union(*hours.values()))
    busy = {
        _utc(h.hour_start)
        for h in (
            held(session, [resource("learner", learner.id)], every_hour) if every_hour else []
        )
    }
    return [
        TrainingSlotPublic.model_validate(s, from_attributes=True)
        for s in slots
        if not hours[s.id] & busy
    ]


async def book_slot(
    session: Session, client: Client, learner: User, wf_id: str, slot_id: str, key: Idempotency
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    req = BookSlotRequest(slot_id)
    return await run_update(client, wf_id, LearnerJourney.book_slot, req, key)


async def cancel_booking(
    session: Session,
    client: Client,
    learner: User,
    wf_id: str,
    booking_id: str,
    reason: str,
    key: Idempotency,
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    req = CancelBookingRequest(booking_id, reason)
    return await run_update(client, wf_id, LearnerJourney.cancel_booking, req, key)


async def decide_record(
    session: Session,
    client: Client,
    learner: User,
    wf_id: str,
    record_no: str,
    dispute_reason: str,
    key: Idempotency,
) -> UpdateOutcome:
    """Confirms a training record, or disputes it when a reason is given."""
    await learner_party(session, client, wf_id, learner)
    req = RecordDecision(record_no, dispute_reason=dispute_reason)
    return await run_update(client, wf_id, LearnerJourney.confirm_record, req, key)


async def archive_document(
    session: Session, settings: Settings, client: Client, learner: User, wf_id: str, kind: str
) -> Response:
    """One archive document, once the learner has graduated (404 before)."""
    if kind not in ARCHIVE_KINDS:
        raise not_found("document")
    s = (await learner_journey(session, client, wf_id, learner)).state
    name = f"{s.certificate_no or wf_id}-{kind}.pdf"
    return docs.pdf_response(settings, kind, s.archive.get(kind, ""), name)


@dataclass
class NewSchool:
    """Where a transfer goes, and who enrols there (the applicant's data as at sign-up)."""

    school_id: str
    coach_id: str
    applicant: ApplicantData
    reason: str


async def transfer(
    session: Session,
    client: Client,
    policies: dict[str, Policy],
    learner: User,
    wf_id: str,
    to: NewSchool,
    key: Idempotency,
) -> UpdateOutcome:
    """转校: the journey settles (what the school has not earned is refunded) and continues at
    the new school in the same vehicle class."""
    view = await learner_party(session, client, wf_id, learner)
    if to.school_id == view.school_id:
        raise field_error("school_id", "转入驾校不能与当前驾校相同", kind="same_school")
    applicant = to.applicant.model_dump()
    enrolment = JourneyCreate(
        **applicant, school_id=to.school_id, coach_id=to.coach_id, vehicle_class=view.vehicle_class
    )
    new = await checked_enrolment(session, learner, enrolment, policies)
    req = Transfer(to.reason, new)
    return await run_update(client, wf_id, LearnerJourney.transfer, req, key)


# ---- stages, exams and the follow-up review -------------------------------------------------


async def confirm_stage(
    session: Session, client: Client, learner: User, wf_id: str, rating: RateStage, key: Idempotency
) -> UpdateOutcome:
    """Theory or safety: the learner confirms the stage's hours and rates school and coach."""
    await learner_party(session, client, wf_id, learner)
    return await run_update(client, wf_id, LearnerJourney.confirm_theory, rating, key)


async def rate_practical_stage(
    session: Session, client: Client, learner: User, wf_id: str, rating: RateStage, key: Idempotency
) -> UpdateOutcome:
    """科目二/科目三: the learner rates school and coach before confirming the stage's report."""
    await learner_party(session, client, wf_id, learner)
    return await run_update(client, wf_id, LearnerJourney.rate_practical_stage, rating, key)


async def confirm_report(
    session: Session, client: Client, learner: User, wf_id: str, subject: str, key: Idempotency
) -> UpdateOutcome:
    """阶段报审: the learner confirms the report the school submitted."""
    await learner_party(session, client, wf_id, learner)
    req = StageReportAction(subject, learner.id, role="learner")
    return await run_update(client, wf_id, LearnerJourney.stage_report, req, key)


async def book_exam(
    session: Session,
    client: Client,
    policies: dict[str, Policy],
    learner: User,
    wf_id: str,
    subject: str,
    exam_date: str,
    venue: str | None,
    key: Idempotency,
) -> UpdateOutcome:
    view = await learner_journey(session, client, wf_id, learner)
    venue = venue or f"{policies[view.city_code].city_name}机动车驾驶人考试中心"
    req = BookExam(subject, exam_date, venue)
    return await run_update(client, wf_id, LearnerJourney.book_exam, req, key)


async def add_followup_review(
    session: Session,
    client: Client,
    learner: User,
    wf_id: str,
    review: FollowupReview,
    key: Idempotency,
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    return await run_update(client, wf_id, LearnerJourney.add_followup_review, review, key)
