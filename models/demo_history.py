"""Demo history for `make run`: a year of finished journeys at every demo school with their
exam results, reviews, complaints, penalties and graduates' incidents, so every figure of the
school list and the index is non-zero; then a first publication of each city's index.

Deterministic (a fixed seed, times relative to the load) and loaded once: a second start finds
its first learner and leaves everything as it is.
"""

import random
from datetime import datetime, timedelta

from sqlmodel import Session, select

from evaluation.publish import publish
from models.demo import demo_ground_area
from models.history_rows import History
from models.journeys import JourneyRecord
from models.quality import IndexPublication
from models.registry import Coach, School, TrainingGround
from models.users import User
from policy.model import QualityIndex

PREFIX = "hist"
LEARNERS_PER_SCHOOL = 24
# Per demo school (in id order): the chance to pass each exam, the usual stars, the complaints
# and penalties of the year. The third Rizhao school has three penalties: black-listed.
PROFILES = {
    "S350100001": (0.85, 5, 2, 2),
    "S371100001": (0.9, 5, 2, 2),
    "S371100002": (0.85, 5, 2, 2),
    "S371100003": (0.6, 3, 6, 3),
}
SUBJECTS = ("theory", "field", "road", "safety")


def load_demo_history(
    session: Session, rules_by_city: dict[str, QualityIndex], now: datetime
) -> None:
    if session.get(User, f"U-{PREFIX}1") is None:
        _fill_ground_areas(session)
        history = _history(session, now)
        history.add_to(session)
        session.commit()
    for city_code, rules in sorted(rules_by_city.items()):
        exists = session.exec(
            select(IndexPublication.id).where(IndexPublication.city_code == city_code)
        ).first()
        if exists is None:
            publish(session, f"index-{city_code}-demo", city_code, rules, now, "demo")


def _fill_ground_areas(session: Session) -> None:
    """Grounds filed by an earlier demo load, before areas were recorded."""
    schools = sorted(session.exec(select(School.id)).all())
    for ground in session.exec(select(TrainingGround).where(TrainingGround.area_m2 == 0)):
        if ground.school_id in schools:
            ground.area_m2 = demo_ground_area(schools.index(ground.school_id))
            session.add(ground)


def _history(session: Session, now: datetime) -> History:
    rng = random.Random(371100)
    h = History()
    for school in session.exec(select(School).order_by(School.id)).all():
        if school.id not in PROFILES:
            continue
        pass_chance, stars, complaints, penalties = PROFILES[school.id]
        coaches = sorted(session.exec(select(Coach.id).where(Coach.school_id == school.id)))
        journeys = []
        for n in range(LEARNERS_PER_SCHOOL):
            started = now - timedelta(days=rng.randint(120, 330))
            ended = started + timedelta(days=rng.randint(60, 110))
            coach = coaches[n % len(coaches)]
            j = h.journey(
                h.learner(PREFIX), school.id, coach, school.city_code, started, "completed", ended
            )
            journeys.append(j)
            _exams(h, rng, j, pass_chance, started, ended)
            h.review(j, max(1, min(5, stars - rng.choice((0, 0, 1)))), ended, "教练耐心，场地方便")
        for n in range(complaints):
            h.complaint(journeys[n], journeys[n].updated_at - timedelta(days=20), overdue=n == 0)
        for n in range(penalties):
            decided = now - timedelta(days=30 + 40 * n)
            h.penalty(school.id, school.city_code, decided, coach_id=coaches[n % len(coaches)])
        for n, kind in enumerate(("violation", "violation", "accident")):
            j = journeys[n]
            h.incident(j, kind, j.updated_at, min(now, j.updated_at + timedelta(days=10 + n)))
    return h


def _exams(
    h: History,
    rng: random.Random,
    j: JourneyRecord,
    pass_chance: float,
    start: datetime,
    end: datetime,
) -> None:
    """Each subject sat until passed (at most three times), spread over the journey."""
    step = (end - start) / (len(SUBJECTS) * 3 + 1)
    at = start
    for subject in SUBJECTS:
        for attempt in range(3):
            at += step
            passed = attempt == 2 or rng.random() < pass_chance
            h.exam(j, subject, passed, at)
            if passed:
                break
