"""What school staff do with their school's journeys, for the JSON routes and the pages."""

from sqlmodel import Session, select
from temporalio.client import Client

from api.idempotency import Idempotency
from api.journeys import Allowed, JourneyParty, run_update, visible_party, visible_view
from models.journeys import JourneyRecord
from models.users import User
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    DisputeAnswer,
    JourneyView,
    NoShowReport,
    StaffDecision,
    StageReportAction,
    UpdateOutcome,
)


def ours(staff: User) -> Allowed:
    return lambda party: party.school_id == staff.school_id


async def staff_journey(session: Session, client: Client, wf_id: str, staff: User) -> JourneyView:
    return await visible_view(session, client, wf_id, ours(staff))


async def staff_party(session: Session, client: Client, wf_id: str, staff: User) -> JourneyParty:
    return await visible_party(session, client, wf_id, ours(staff))


def school_journeys(
    session: Session, staff: User, stage: str | None = None, waiting_on: str | None = None
) -> list[JourneyRecord]:
    """The school's journeys from the read model, longest in their stage first."""
    query = select(JourneyRecord).where(JourneyRecord.school_id == staff.school_id)
    if stage:
        query = query.where(JourneyRecord.stage == stage)
    if waiting_on:
        query = query.where(JourneyRecord.waiting_on == waiting_on)
    return list(session.exec(query.order_by(JourneyRecord.stage_entered_at)).all())


async def approve_signing(
    session: Session, client: Client, staff: User, wf_id: str, key: Idempotency
) -> UpdateOutcome:
    await staff_party(session, client, wf_id, staff)
    decision = StaffDecision(staff.id)
    return await run_update(client, wf_id, LearnerJourney.approve_signing, decision, key)


async def reject_signing(
    session: Session, client: Client, staff: User, wf_id: str, reason: str, key: Idempotency
) -> UpdateOutcome:
    await staff_party(session, client, wf_id, staff)
    decision = StaffDecision(staff.id, reason)
    return await run_update(client, wf_id, LearnerJourney.reject_signing, decision, key)


async def submit_stage_report(
    session: Session, client: Client, staff: User, wf_id: str, subject: str, key: Idempotency
) -> UpdateOutcome:
    """阶段报审: the school submits a stage whose hours are met; the learner then confirms."""
    await staff_party(session, client, wf_id, staff)
    req = StageReportAction(subject, staff.id, role="school_staff")
    return await run_update(client, wf_id, LearnerJourney.stage_report, req, key)


async def answer_dispute(
    session: Session,
    client: Client,
    staff: User,
    wf_id: str,
    record_no: str,
    concede: bool,
    answer: str,
    key: Idempotency,
) -> UpdateOutcome:
    """The school answers a learner's dispute of a training record: concede, or contest it
    before the regulator."""
    await staff_party(session, client, wf_id, staff)
    req = DisputeAnswer(record_no, staff.id, concede, answer)
    return await run_update(client, wf_id, LearnerJourney.answer_dispute, req, key)


async def report_no_show(
    session: Session, client: Client, staff: User, wf_id: str, booking_id: str, key: Idempotency
) -> UpdateOutcome:
    await staff_party(session, client, wf_id, staff)
    req = NoShowReport(booking_id, staff.id)
    return await run_update(client, wf_id, LearnerJourney.report_no_show, req, key)
