"""Choosing a school (一键式): the filed, compliant schools a learner may pick, their coaches and
fees, for the learner port's JSON routes and its pages alike."""

from dataclasses import dataclass, field

from sqlmodel import Session, select

from api.errors import not_found
from models.registry import Coach, CoachPublic, FeeSchedule, School, SchoolPublic


def compliant_schools(
    session: Session, city_code: str | None = None, vehicle_class: str | None = None
) -> list[SchoolPublic]:
    query = select(School).where(School.compliant)
    if city_code:
        query = query.where(School.city_code == city_code)
    schools = session.exec(query.order_by(School.id)).all()
    return [
        SchoolPublic.model_validate(s)
        for s in schools
        if not vehicle_class or vehicle_class in s.vehicle_classes
    ]


def active_coaches(session: Session, school_id: str) -> list[CoachPublic]:
    if session.get(School, school_id) is None:
        raise not_found("school")
    coaches = session.exec(select(Coach).where(Coach.school_id == school_id, Coach.active)).all()
    return [CoachPublic.model_validate(c) for c in coaches]


def school_fees(session: Session, school_id: str) -> list[FeeSchedule]:
    """The fee annex per vehicle class the school has published."""
    return list(session.exec(select(FeeSchedule).where(FeeSchedule.school_id == school_id)).all())


@dataclass
class SchoolFigures:
    """What the selection screen shows beside a school beyond its filing: pass rates,
    satisfaction, complaints, penalties, the index. Issue 10's evaluation work fills it
    (`school_figures` below is its hook); until then it is empty and the pages say so."""

    items: dict[str, str] = field(default_factory=dict)  # label -> value, in display order


def school_figures(session: Session, school_ids: list[str]) -> dict[str, SchoolFigures]:
    """Hook for issue 10 (index, credit list, pass rates): figures per school id."""
    return {school_id: SchoolFigures() for school_id in school_ids}
