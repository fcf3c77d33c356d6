"""Per-school and per-coach statistics over a window, counted in SQL (one grouped query per
table, each on an index that starts with the school, coach or city and the time).

Definitions (docs/domain.md, the index):
- learners: the school's journeys under way at some time in the window (started before its end,
  and still active or last changed after its start);
- exam attempts: every 12123 result in the window (all attempts, and first attempts apart);
- complaints, penalties, reviews: filed, decided or written in the window; hidden reviews count;
- graduates: journeys whose 科目四 was passed within the three years before the window's end;
  their violations and accidents: those in the window of drivers licensed within those years.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from evaluation.measures import SCHOOL_COUNTERS, SUBJECTS
from models.complaints import Complaint
from models.evaluation import GraduateIncident, Penalty, Review
from models.journeys import JourneyRecord
from models.quality import ExamAttempt
from models.registry import Coach, School

GRADUATE_YEARS = 3
Counters = dict[str, float]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, days: int) -> "Window":
        end = end.astimezone(UTC)
        return cls(end - timedelta(days=days), end)

    @property
    def licensed_since(self) -> datetime:
        return self.end - timedelta(days=365 * GRADUATE_YEARS)


@dataclass
class CoachCounters:
    school_id: str
    learners_taught: int = 0
    complaints: int = 0
    penalties: int = 0
    reviews: int = 0
    stars: int = 0


def _count_if(condition: Any) -> Any:
    return func.sum(sa.case((condition, 1), else_=0))


def _grouped(owner: Any, ids: list[str], at: Any, window: Window, *aggregates: Any) -> Any:
    """`aggregates` per `owner` (a school or coach column) among `ids`, of the rows whose `at`
    lies in the window: the owner's index (owner, time) answers it."""
    return (
        select(owner, *aggregates)
        .where(col(owner).in_(ids), at >= window.start, at < window.end)
        .group_by(owner)
    )


def school_counters(session: Session, city_code: str, window: Window) -> dict[str, Counters]:
    """Every filed school of the city -> its counters (SCHOOL_COUNTERS, zero where none)."""
    school_ids = list(
        session.exec(select(School.id).where(School.city_code == city_code).order_by(School.id))
    )
    counters: dict[str, Counters] = {s: dict.fromkeys(SCHOOL_COUNTERS, 0) for s in school_ids}
    if not school_ids:
        return counters

    def put(rows: Sequence[Any], *names: str) -> None:
        for school_id, *values in rows:
            if school_id in counters:
                for name, value in zip(names, values, strict=True):
                    counters[school_id][name] += value or 0

    w = window
    j = JourneyRecord
    put(
        session.exec(
            select(j.school_id, func.count())
            .where(
                j.city_code == city_code,
                j.started_at < w.end,
                sa.or_(j.status == "active", j.updated_at >= w.start),
            )
            .group_by(j.school_id)
        ).all(),
        "learners",
    )
    a = ExamAttempt
    attempts = session.exec(
        select(
            a.school_id,
            a.subject,
            func.count(),
            _count_if(a.passed),
            _count_if(a.first),
            _count_if(sa.and_(a.first, a.passed)),
        )
        .where(a.city_code == city_code, a.examined_at >= w.start, a.examined_at < w.end)
        .group_by(a.school_id, a.subject)
    ).all()
    for school_id, subject, *values in attempts:
        if subject in SUBJECTS:
            kinds = ("attempts", "passes", "first_attempts", "first_passes")
            put([(school_id, *values)], *(f"{kind}_{subject}" for kind in kinds))
    put(
        session.exec(
            select(a.school_id, func.count(sa.distinct(a.workflow_id)))
            .where(
                a.city_code == city_code,
                a.subject == "safety",
                a.passed,
                a.examined_at >= w.licensed_since,
                a.examined_at < w.end,
            )
            .group_by(a.school_id)
        ).all(),
        "graduates",
    )
    c, p, r, g = Complaint, Penalty, Review, GraduateIncident
    for query, names in (
        (
            _grouped(c.school_id, school_ids, c.filed_at, w, func.count(), _count_if(c.overdue)),
            ("complaints", "overdue_complaints"),
        ),
        (_grouped(p.school_id, school_ids, p.decided_at, w, func.count()), ("penalties",)),
        (
            _grouped(
                r.school_id, school_ids, r.created_at, w, func.count(), func.sum(r.school_stars)
            ),
            ("reviews", "stars"),
        ),
        (
            _grouped(
                g.school_id,
                school_ids,
                g.occurred_at,
                w,
                _count_if(g.kind == "violation"),
                _count_if(g.kind == "accident"),
            ).where(g.licensed_at >= w.licensed_since),
            ("violations", "accidents"),
        ),
    ):
        put(session.exec(query).all(), *names)
    return counters


def coach_counters(session: Session, city_code: str, window: Window) -> dict[str, CoachCounters]:
    """Every coach of the city's schools -> learners taught (ever, up to the window's end) and
    complaints, penalties and reviews in the window."""
    coaches = session.exec(
        select(Coach.id, Coach.school_id)
        .join(School, col(School.id) == col(Coach.school_id))
        .where(School.city_code == city_code)
    ).all()
    found = {coach_id: CoachCounters(school_id) for coach_id, school_id in coaches}
    if not found:
        return found
    ids, w = list(found), window
    j, c, p, r = JourneyRecord, Complaint, Penalty, Review
    queries: list[tuple[Any, tuple[str, ...]]] = [
        (
            select(j.coach_id, func.count(sa.distinct(j.learner_id)))
            .where(j.city_code == city_code, j.started_at < w.end)
            .group_by(j.coach_id),
            ("learners_taught",),
        ),
        (_grouped(c.coach_id, ids, c.filed_at, w, func.count()), ("complaints",)),
        (_grouped(p.coach_id, ids, p.decided_at, w, func.count()), ("penalties",)),
        (
            _grouped(r.coach_id, ids, r.created_at, w, func.count(), func.sum(r.coach_stars)).where(
                col(r.coach_stars).is_not(None)
            ),
            ("reviews", "stars"),
        ),
    ]
    for query, names in queries:
        for coach_id, *values in session.exec(query).all():
            if coach_id in found:
                for name, value in zip(names, values, strict=True):
                    setattr(found[coach_id], name, int(value or 0))
    return found
