"""Consultations (咨询) on all three ports: a learner asks a filed school (theirs, or one they
are choosing), the school answers its own, and the regulator sees those left unanswered past
the city policy's answer time."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from api.bodies import StrictRoute
from api.deps import IdempotencyKey, LearnerUser, RegulatorUser, SessionDep, StaffUser
from api.errors import api_error, field_error, not_found
from api.idempotency import record_id
from api.inputs import Id, LongText, PathId
from core.regions import region_prefix
from models.complaints import Consultation
from models.registry import School
from policy.model import Policy

router = APIRouter(prefix="/api", route_class=StrictRoute)


class ConsultationAsk(BaseModel):
    school_id: Id
    question: LongText


class ConsultationAnswer(BaseModel):
    answer: LongText


class ConsultationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    school_id: str
    city_code: str
    question: str
    asked_at: datetime
    due_at: datetime
    answer: str | None
    answered_at: datetime | None
    overdue: bool  # past its answer time unanswered: the regulator sees it

    @classmethod
    def of(cls, c: Consultation, now: datetime) -> "ConsultationPublic":
        overdue = c.answered_at is None and aware(c.due_at) <= now
        return cls.model_validate({**c.model_dump(), "overdue": overdue})


def aware(moment: datetime) -> datetime:
    """A time read back from SQLite, which drops the zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.post("/learner/consultations", tags=["learner"], status_code=status.HTTP_201_CREATED)
def ask(
    body: ConsultationAsk,
    request: Request,
    session: SessionDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> ConsultationPublic:
    school = session.get(School, body.school_id)
    if school is None or not school.compliant:
        raise field_error("school_id", "没有此备案且合规的驾校", kind="unknown_school")
    policy: Policy | None = request.app.state.policies.get(school.city_code)
    if policy is None:
        raise field_error("school_id", "该驾校所在城市暂未开通线上咨询", kind="city_not_in_policy")
    consultation_id = record_id(
        "CQ", key.update_id(school.id, "ask_consultation", body.model_dump())
    )
    existing = session.get(Consultation, consultation_id)
    now = datetime.now(UTC)
    if existing is None:
        existing = Consultation(
            id=consultation_id,
            learner_id=learner.id,
            school_id=school.id,
            city_code=school.city_code,
            question=body.question,
            asked_at=now,
            due_at=now + timedelta(seconds=policy.complaints.consultation_answer_seconds),
        )
        session.add(existing)
        session.commit()
    return ConsultationPublic.of(existing, now)


@router.get("/learner/consultations", tags=["learner"])
def my_consultations(session: SessionDep, learner: LearnerUser) -> list[ConsultationPublic]:
    return listed(session, col(Consultation.learner_id) == learner.id)


@router.get("/school/consultations", tags=["school"])
def school_consultations(
    session: SessionDep, staff: StaffUser, unanswered: bool | None = None
) -> list[ConsultationPublic]:
    clauses = [col(Consultation.school_id) == staff.school_id]
    if unanswered is not None:
        answered = col(Consultation.answered_at).is_(None)
        clauses.append(answered if unanswered else sa.not_(answered))
    return listed(session, *clauses)


@router.post("/school/consultations/{consultation_id}/answer", tags=["school"])
def answer(
    consultation_id: PathId, body: ConsultationAnswer, session: SessionDep, staff: StaffUser
) -> ConsultationPublic:
    c = session.get(Consultation, consultation_id)
    if c is None or c.school_id != staff.school_id:
        raise not_found("consultation")
    now = datetime.now(UTC)
    # Only an unanswered one takes the answer: two staff answering at once, one wins.
    taken = session.execute(
        sa.update(Consultation)
        .where(col(Consultation.id) == c.id, col(Consultation.answered_at).is_(None))
        .values(answer=body.answer, answered_at=now, answered_by=staff.id)
    )
    session.commit()
    session.refresh(c)
    if taken.rowcount == 0 and c.answer != body.answer:  # type: ignore[attr-defined]
        raise api_error(status.HTTP_409_CONFLICT, "该咨询已答复", "already_answered")
    return ConsultationPublic.of(c, now)


@router.get("/gov/consultations/overdue", tags=["gov"])
def overdue_consultations(
    session: SessionDep,
    regulator: RegulatorUser,
    limit: int = Query(100, ge=1, le=1000),
) -> list[ConsultationPublic]:
    """Consultations in the region left unanswered past their answer time, oldest first."""
    now = datetime.now(UTC)
    rows = session.exec(
        select(Consultation)
        .where(
            col(Consultation.city_code).startswith(region_prefix(regulator.region_code or "")),
            col(Consultation.answered_at).is_(None),
            col(Consultation.due_at) <= now,
        )
        .order_by(col(Consultation.due_at))
        .limit(limit)
    ).all()
    return [ConsultationPublic.of(c, now) for c in rows]


def listed(session: Session, *clauses: sa.ColumnElement[bool]) -> list[ConsultationPublic]:
    rows = session.exec(
        select(Consultation).where(*clauses).order_by(col(Consultation.asked_at).desc())
    ).all()
    now = datetime.now(UTC)
    return [ConsultationPublic.of(c, now) for c in rows]
