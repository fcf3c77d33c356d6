"""Demo timetable: a week of hourly field and road slots at each Rizhao demo school.

Each coach keeps one car; at every hour one pair trains on the ground (科目二) while the other
is on the road (科目三), so nothing is double-held. Loading is idempotent: existing slot ids are
skipped, so a restart only adds the days that came into the week.
"""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from activities.slots import NewSlot, SlotRefused, publish_slot
from models.registry import Coach, School, TrainingGround, Vehicle
from models.training import CHINA, TrainingSlot

DEMO_CITY = "371100"
DAYS = 7
FIRST_HOUR, LAST_HOUR = 8, 17  # slot starts, China time
PEAK_HOURS = range(17, 19)


def load_demo_slots(session: Session, now: datetime) -> int:
    """Publishes the demo week from `now`; returns how many slots were added."""
    existing = set(session.exec(select(TrainingSlot.id).where(col(TrainingSlot.id).like("DEMO-%"))))
    schools = session.exec(
        select(School).where(col(School.city_code) == DEMO_CITY).order_by(col(School.id))
    ).all()
    added = 0
    for school in schools:
        for new in _week(session, school.id, now):
            if new.slot_id in existing:
                continue
            try:
                publish_slot(session, school.id, new, now, commit=False)
            except SlotRefused:
                continue  # staff published something else in that hour: theirs stands
            added += 1
    session.commit()
    return added


def _week(session: Session, school_id: str, now: datetime) -> list[NewSlot]:
    coaches = session.exec(
        select(Coach)
        .where(col(Coach.school_id) == school_id, col(Coach.active))
        .order_by(col(Coach.id))
    ).all()
    cars = session.exec(
        select(Vehicle)
        .where(col(Vehicle.school_id) == school_id, col(Vehicle.kind) == "car")
        .order_by(col(Vehicle.id))
    ).all()
    ground = session.exec(
        select(TrainingGround).where(col(TrainingGround.school_id) == school_id)
    ).first()
    today = now.astimezone(CHINA).date()
    slots: list[NewSlot] = []
    for day in (today + timedelta(days=d) for d in range(DAYS)):
        for hour in range(FIRST_HOUR, LAST_HOUR + 1):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)
            if start <= now:
                continue
            for i, (coach, car) in enumerate(zip(coaches, cars, strict=False)):
                subject = "field" if (hour + i) % 2 == 0 and ground is not None else "road"
                slots.append(
                    NewSlot(
                        subject=subject,
                        kind="car",
                        coach_id=coach.id,
                        vehicle_id=car.id,
                        ground_id=ground.id if subject == "field" and ground else None,
                        start=start,
                        hours=1,
                        rate_kind=_rate_kind(start),
                        slot_id=f"DEMO-{coach.id}-{start:%Y%m%d%H}",
                    )
                )
    return slots


def _rate_kind(start: datetime) -> str:
    if start.weekday() >= 5:
        return "holiday"
    return "peak" if start.hour in PEAK_HOURS else "normal"
