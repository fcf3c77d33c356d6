"""Administrative penalties as taken in from the enforcement system: the regulator sees those
against the schools of their region, ops the decisions the platform refused (to follow up)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select

from api.bodies import StrictRoute
from api.deps import OpsUser, RegulatorUser, SessionDep
from api.inputs import Id
from core.regions import region_prefix
from evaluation.paging import page
from evaluation.penalties import PenaltyNotice
from models.evaluation import Penalty
from models.evaluation_log import PenaltyRefusal
from models.registry import School
from workflows.training import utc

router = APIRouter(route_class=StrictRoute)


class PenaltyOut(PenaltyNotice):
    received_at: datetime


class PenaltyPage(BaseModel):
    total: int
    items: list[PenaltyOut]


class RefusedPenalty(BaseModel):
    case_no: str
    school_id: str
    coach_id: str | None
    city_code: str
    reason: str
    received_at: datetime


@router.get("/api/gov/penalties", tags=["gov"])
def region_penalties(
    session: SessionDep,
    regulator: RegulatorUser,
    school_id: Id | None = None,
    coach_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> PenaltyPage:
    """Penalties against the region's schools and their coaches, latest decision first."""
    where = [col(School.city_code).startswith(region_prefix(regulator.region_code or ""))]
    if school_id is not None:
        where.append(col(Penalty.school_id) == school_id)
    if coach_id is not None:
        where.append(col(Penalty.coach_id) == coach_id)
    query = select(Penalty).join(School, col(School.id) == col(Penalty.school_id)).where(*where)
    latest_first = (col(Penalty.decided_at).desc(), col(Penalty.id))
    total, rows = page(session, query, *latest_first, limit=limit, offset=offset)
    items = [
        PenaltyOut(
            **p.model_dump(exclude={"id", "decided_at", "received_at"}),
            case_no=p.id,
            decided_at=utc(p.decided_at),
            received_at=utc(p.received_at),
        )
        for p in rows
    ]
    return PenaltyPage(total=total, items=items)


@router.get("/api/ops/penalty-refusals", tags=["ops"])
def refused_penalties(
    session: SessionDep,
    _: OpsUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RefusedPenalty]:
    """Decisions against a school or coach the registry lacks, latest first."""
    rows = session.exec(
        select(PenaltyRefusal).order_by(col(PenaltyRefusal.received_at).desc()).limit(limit)
    ).all()
    return [
        RefusedPenalty(**r.model_dump(exclude={"received_at"}), received_at=utc(r.received_at))
        for r in rows
    ]
