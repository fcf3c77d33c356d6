"""Complaints (投诉) on all three ports: a learner files one about their own journey (at any
time, also from a disputed training record or the contract), reads it, rates the handling or
reopens it once; the school answers its own; the regulator lists its region's with their
deadline status. Each complaint is its own workflow (workflows/complaint.py)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field, StrictInt, StringConstraints
from sqlmodel import col, select

from api.bodies import StrictRoute
from api.complaints import (
    ComplaintCategory,
    ComplaintDetail,
    ComplaintPublic,
    ComplaintSource,
    DeadlineStatus,
    check_source,
    complaint_input,
    complaint_of,
    deadline_clause,
    detail,
    file_complaint,
    learner_may_file,
    run_complaint_update,
)
from api.deps import (
    IdempotencyKey,
    LearnerUser,
    RegulatorUser,
    SessionDep,
    SettingsDep,
    StaffUser,
    TemporalDep,
)
from api.errors import field_error
from api.idempotency import record_id
from api.inputs import ID_PATTERN, Comment, Id, LongText, PathId, Reason
from core.regions import region_covers, region_prefix
from models.complaints import Complaint
from models.journeys import JourneyRecord
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_state import (
    ComplaintAnswer,
    ComplaintOutcome,
    ComplaintRating,
    ComplaintReopen,
)

router = APIRouter(prefix="/api", route_class=StrictRoute)
Ref = Annotated[str, StringConstraints(min_length=1, max_length=160, pattern=ID_PATTERN)]


class ComplaintFile(BaseModel):
    journey_id: Ref
    category: ComplaintCategory
    content: LongText
    source: ComplaintSource = ComplaintSource.general
    source_ref: Ref | None = None  # the disputed record's number, or the contract's


class RatingBody(BaseModel):
    stars: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Comment = ""


class ReopenBody(BaseModel):
    reason: Reason


class AnswerBody(BaseModel):
    answer: LongText


# ---- learner port ---------------------------------------------------------------------------


@router.post("/learner/complaints", tags=["learner"], status_code=status.HTTP_201_CREATED)
async def file(
    body: ComplaintFile,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> ComplaintPublic:
    journey = learner_may_file(session.get(JourneyRecord, body.journey_id), learner)
    policy = request.app.state.policies.get(journey.city_code)
    if policy is None:
        raise field_error("journey_id", "该城市暂未开通线上投诉", kind="city_not_in_policy")
    await check_source(session, client, journey.workflow_id, body.source, body.source_ref)
    complaint_id = record_id(
        "CP", key.update_id(journey.workflow_id, "file_complaint", body.model_dump(mode="json"))
    )
    inp = complaint_input(
        journey, policy, complaint_id, body.source, body.source_ref, body.category, body.content
    )
    row = await file_complaint(session, client, settings, inp)
    return ComplaintPublic.of(row, datetime.now(UTC))


@router.get("/learner/complaints", tags=["learner"])
def my_complaints(session: SessionDep, learner: LearnerUser) -> list[ComplaintPublic]:
    rows = session.exec(
        select(Complaint)
        .where(col(Complaint.learner_id) == learner.id)
        .order_by(col(Complaint.filed_at).desc())
    ).all()
    now = datetime.now(UTC)
    return [ComplaintPublic.of(c, now) for c in rows]


@router.get("/learner/complaints/{complaint_id}", tags=["learner"])
def my_complaint(
    complaint_id: PathId, session: SessionDep, learner: LearnerUser
) -> ComplaintDetail:
    row = complaint_of(session, complaint_id, lambda c: c.learner_id == learner.id)
    return detail(session, row)


@router.post("/learner/complaints/{complaint_id}/rating", tags=["learner"])
async def rate(
    complaint_id: PathId,
    body: RatingBody,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> ComplaintOutcome:
    """Rates the school's handling (1-5 stars), which closes the complaint."""
    row = complaint_of(session, complaint_id, lambda c: c.learner_id == learner.id)
    req = ComplaintRating(body.stars, body.comment)
    return await run_complaint_update(client, row, ComplaintWorkflow.rate, req, key)


@router.post("/learner/complaints/{complaint_id}/reopen", tags=["learner"])
async def reopen(
    complaint_id: PathId,
    body: ReopenBody,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> ComplaintOutcome:
    """Not satisfied with the answer: the school answers again by a new deadline (once)."""
    row = complaint_of(session, complaint_id, lambda c: c.learner_id == learner.id)
    req = ComplaintReopen(body.reason)
    return await run_complaint_update(client, row, ComplaintWorkflow.reopen, req, key)


# ---- school port ----------------------------------------------------------------------------


@router.get("/school/complaints", tags=["school"])
def school_complaints(
    session: SessionDep, staff: StaffUser, open_only: bool = False
) -> list[ComplaintPublic]:
    query = select(Complaint).where(col(Complaint.school_id) == staff.school_id)
    if open_only:
        query = query.where(col(Complaint.status).in_(("filed", "delivered")))
    now = datetime.now(UTC)
    rows = session.exec(query.order_by(col(Complaint.deadline_at))).all()
    return [ComplaintPublic.of(c, now) for c in rows]


@router.get("/school/complaints/{complaint_id}", tags=["school"])
def school_complaint(
    complaint_id: PathId, session: SessionDep, staff: StaffUser
) -> ComplaintDetail:
    row = complaint_of(session, complaint_id, lambda c: c.school_id == staff.school_id)
    return detail(session, row)


@router.post("/school/complaints/{complaint_id}/answer", tags=["school"])
async def answer(
    complaint_id: PathId,
    body: AnswerBody,
    session: SessionDep,
    client: TemporalDep,
    staff: StaffUser,
    key: IdempotencyKey,
) -> ComplaintOutcome:
    row = complaint_of(session, complaint_id, lambda c: c.school_id == staff.school_id)
    req = ComplaintAnswer(staff.id, body.answer)
    return await run_complaint_update(client, row, ComplaintWorkflow.answer, req, key)


# ---- governance port ------------------------------------------------------------------------


@router.get("/gov/complaints", tags=["gov"])
def region_complaints(
    session: SessionDep,
    regulator: RegulatorUser,
    deadline_status: DeadlineStatus | None = None,
    school_id: Id | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[ComplaintPublic]:
    """The region's complaints, nearest deadline first, with each one's deadline status."""
    now = datetime.now(UTC)
    query = select(Complaint).where(
        col(Complaint.city_code).startswith(region_prefix(regulator.region_code or ""))
    )
    if deadline_status is not None:
        query = query.where(deadline_clause(deadline_status, now))
    if school_id is not None:
        query = query.where(col(Complaint.school_id) == school_id)
    rows = session.exec(query.order_by(col(Complaint.deadline_at)).limit(limit)).all()
    return [ComplaintPublic.of(c, now) for c in rows]


@router.get("/gov/complaints/{complaint_id}", tags=["gov"])
def region_complaint(
    complaint_id: PathId, session: SessionDep, regulator: RegulatorUser
) -> ComplaintDetail:
    region = regulator.region_code or ""
    row = complaint_of(session, complaint_id, lambda c: region_covers(region, c.city_code))
    return detail(session, row)
