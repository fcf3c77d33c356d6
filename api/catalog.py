"""Choosing a school (一键式): the filed, compliant schools a learner may pick, their coaches and
fees, for the learner port's JSON routes and its pages alike."""

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from api.errors import not_found
from api.quality import figures, index_mark
from evaluation import reading
from models.quality import IndexSchoolScore
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
    """What the selection screen shows beside a school beyond its filing, from its city's
    latest published index (一指数): empty until one is published."""

    items: dict[str, str] = field(default_factory=dict)  # label -> value, in display order


SUBJECT_LABELS = {"theory": "科目一", "field": "科目二", "road": "科目三", "safety": "科目四"}


def school_figures(session: Session, school_ids: list[str]) -> dict[str, SchoolFigures]:
    """Each school's figures as the learner port's list shows them (the same publication)."""
    schools = session.exec(select(School).where(col(School.id).in_(school_ids))).all()
    city_of = {s.id: s.city_code for s in schools}
    latest = reading.latest_by_city(session, set(city_of.values()))
    rows = {
        r.school_id: r
        for r in reading.scores(session, [p.id for p in latest.values()], list(city_of))
        if r.publication_id == latest[city_of[r.school_id]].id
    }
    return {i: SchoolFigures(_shown(rows[i]) if i in rows else {}) for i in school_ids}


def _shown(row: IndexSchoolScore) -> dict[str, str]:
    mark, f = index_mark(row), figures(row)
    items = {"服务质量指数": "—" if mark.score is None else f"{mark.score:.1f}"}
    items["信用等级"] = mark.level or "—"
    if mark.red_list or mark.black_list:
        items["榜单"] = ("红榜" if mark.red_list else "黑榜") + (
            f"（{mark.list_reason}）" if mark.list_reason else ""
        )
    for subject, label in SUBJECT_LABELS.items():
        rate = f.pass_rates.get(subject)
        items[f"{label}合格率"] = "—" if rate is None else f"{rate:.0f}%"
    items["满意度"] = "—" if f.satisfaction is None else f"{f.satisfaction:.1f} 星"
    items["投诉"] = f"{f.complaints} 件"
    items["行政处罚"] = f"{f.penalties} 次"
    return items
