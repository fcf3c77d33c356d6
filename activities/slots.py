"""The school's timetable: publishing slots, cancelling unbooked ones, coaches' leave.

Plain functions of a session, used by the school port and the demo loader. Every conflict is
refused by the database (`ResourceHold`'s primary key); the reads before it only word the
refusal. Nothing is written when a function refuses.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.registry import Coach, FeeSchedule, TrainingGround, Vehicle
from models.training import (
    KINDS,
    MAX_SLOT_HOURS,
    RATE_KINDS,
    SUBJECTS,
    CoachLeave,
    ResourceHold,
    SlotBooking,
    TrainingSlot,
    hour_starts,
    resource,
)

MAX_LEAVE_DAYS = 90


class SlotRefused(Exception):
    """A refusal a person can act on: `invalid` names a field, `conflict` is a clash in time."""

    def __init__(
        self,
        kind: Literal["invalid", "conflict", "not_found"],
        message: str,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


def _invalid(field: str, message: str) -> SlotRefused:
    return SlotRefused("invalid", message, field)


@dataclass
class NewSlot:
    subject: str
    kind: str
    coach_id: str
    vehicle_id: str
    ground_id: str | None
    start: datetime
    hours: int
    rate_kind: str
    slot_id: str | None = None  # chosen by the caller (demo data) or generated


def publish_slot(
    session: Session, school_id: str, new: NewSlot, now: datetime, *, commit: bool = True
) -> TrainingSlot:
    """Validates and publishes one slot with its coach/vehicle/ground holds.

    With `commit=False` the rows are only added (the demo loader commits a batch at once).
    """
    _check_shape(new, now)
    coach, vehicle = _check_resources(session, school_id, new)
    fees = session.get(FeeSchedule, (school_id, vehicle.vehicle_class))
    if fees is None:
        raise _invalid("vehicle_id", f"本校未设置{vehicle.vehicle_class}车型的收费标准")
    slot = TrainingSlot(
        id=new.slot_id or f"TS-{uuid.uuid4().hex[:20]}",
        school_id=school_id,
        subject=new.subject,
        kind=new.kind,
        coach_id=coach.id,
        vehicle_id=vehicle.id,
        ground_id=new.ground_id,
        start=new.start.astimezone(UTC),
        end=(new.start + timedelta(hours=new.hours)).astimezone(UTC),
        rate_kind=new.rate_kind,
        rate_fen=_rate(fees, new.kind, new.subject)[RATE_KINDS.index(new.rate_kind)],
        created_at=datetime.now(UTC),
    )
    resources = _slot_resources(slot)
    hours = hour_starts(slot.start, slot.end)
    _check_free(session, resources, hours)
    session.add(slot)
    add_holds(session, resources, hours, f"slot:{slot.id}")
    if commit:
        try:
            session.commit()
        except IntegrityError as exc:
            # Another request held the same coach, vehicle or ground hour a moment earlier.
            session.rollback()
            raise SlotRefused("conflict", "该时段教练、车辆或场地已被占用") from exc
        session.refresh(slot)
    return slot


def cancel_open_slot(session: Session, slot_id: str, school_id: str) -> TrainingSlot:
    """Withdraws an unbooked slot and frees its holds; a booked one goes through the journey."""
    slot = session.get(TrainingSlot, slot_id)
    if slot is None or slot.school_id != school_id:
        raise SlotRefused("not_found", "slot not found")
    if slot.status == "cancelled":
        return slot
    # The guarded UPDATE locks the row, so a booking racing with us either committed before
    # (and is seen below) or finds the slot cancelled.
    session.exec(
        update(TrainingSlot)
        .where(col(TrainingSlot.id) == slot_id, col(TrainingSlot.status) == "open")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    if _booked(session, [slot_id]):
        session.rollback()
        raise SlotRefused("conflict", "该时段已有学员预约，请通过预约取消")
    release_holds(session, [f"slot:{slot_id}"])
    session.commit()
    session.refresh(slot)
    return slot


def add_coach_leave(
    session: Session,
    school_id: str,
    coach_id: str,
    start: datetime,
    end: datetime,
    reason: str,
    now: datetime,
) -> tuple[CoachLeave, list[str]]:
    """Files a coach's leave; open slots in it are withdrawn, booked ones refuse the leave.

    Returns the leave and the ids of the slots withdrawn. The leave holds the coach's hours,
    so a slot published during it clashes in the database like any double booking.
    """
    coach = session.get(Coach, coach_id)
    if coach is None or coach.school_id != school_id:
        raise SlotRefused("not_found", "coach not found")
    if end <= start:
        raise _invalid("end", "结束时间须晚于开始时间")
    if end <= now:
        raise _invalid("end", "请假结束时间已过")
    if end - start > timedelta(days=MAX_LEAVE_DAYS):
        raise _invalid("end", f"单次请假不超过{MAX_LEAVE_DAYS}天")
    slot_ids = list(
        session.exec(
            select(TrainingSlot.id).where(
                col(TrainingSlot.coach_id) == coach_id,
                col(TrainingSlot.status) == "open",
                col(TrainingSlot.start) < end,
                col(TrainingSlot.end) > start,
            )
        ).all()
    )
    if slot_ids:
        session.exec(
            update(TrainingSlot)
            .where(col(TrainingSlot.id).in_(slot_ids), col(TrainingSlot.status) == "open")
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
        if _booked(session, slot_ids):
            session.rollback()
            raise SlotRefused("conflict", "教练在该时段有学员已预约的课时，请先取消这些预约")
        release_holds(session, [f"slot:{sid}" for sid in slot_ids])
    leave = CoachLeave(
        id=f"CL-{uuid.uuid4().hex[:20]}",
        coach_id=coach_id,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        reason=reason,
        created_at=datetime.now(UTC),
    )
    session.add(leave)
    add_holds(session, [resource("coach", coach_id)], hour_starts(start, end), f"leave:{leave.id}")
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise SlotRefused("conflict", "教练在该时段已有请假或新排的课时") from exc
    session.refresh(leave)
    return leave, slot_ids


def list_slots(
    session: Session,
    school_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[tuple[TrainingSlot, SlotBooking | None]]:
    """A school's slots by start time, each with its latest booking (if any)."""
    query = select(TrainingSlot).where(col(TrainingSlot.school_id) == school_id)
    if start is not None:
        query = query.where(col(TrainingSlot.end) > start)
    if end is not None:
        query = query.where(col(TrainingSlot.start) < end)
    if status is not None:
        query = query.where(col(TrainingSlot.status) == status)
    slots = session.exec(query.order_by(col(TrainingSlot.start), col(TrainingSlot.id)).limit(limit))
    slots = list(slots.all())
    latest: dict[str, SlotBooking] = {}
    if slots:
        bookings = session.exec(
            select(SlotBooking)
            .where(col(SlotBooking.slot_id).in_([s.id for s in slots]))
            .order_by(col(SlotBooking.created_at))
        )
        latest = {b.slot_id: b for b in bookings.all()}
    return [(slot, latest.get(slot.id)) for slot in slots]


def add_holds(
    session: Session, resources: Iterable[str], hours: list[datetime], owner: str
) -> None:
    # Resources and hours in one fixed order, so two transactions never wait on each other
    # in a cycle (PostgreSQL would abort one as a deadlock).
    for name in sorted(resources):
        for hour in sorted(hours):
            session.add(ResourceHold(resource=name, hour_start=hour, owner=owner))


def release_holds(session: Session, owners: list[str]) -> None:
    session.exec(
        delete(ResourceHold)
        .where(col(ResourceHold.owner).in_(owners))
        .execution_options(synchronize_session=False)
    )


def held(session: Session, resources: list[str], hours: list[datetime]) -> list[ResourceHold]:
    return list(
        session.exec(
            select(ResourceHold).where(
                col(ResourceHold.resource).in_(resources),
                col(ResourceHold.hour_start).in_(hours),
            )
        ).all()
    )


def _booked(session: Session, slot_ids: list[str]) -> bool:
    """Whether a learner holds (or has used) any of these slots."""
    query = select(SlotBooking.id).where(
        col(SlotBooking.slot_id).in_(slot_ids), col(SlotBooking.status) != "cancelled"
    )
    return session.exec(query).first() is not None


def _check_shape(new: NewSlot, now: datetime) -> None:
    for name, allowed in (("subject", SUBJECTS), ("kind", KINDS), ("rate_kind", RATE_KINDS)):
        if getattr(new, name) not in allowed:
            raise _invalid(name, f"须为 {' | '.join(allowed)} 之一")
    if not 1 <= new.hours <= MAX_SLOT_HOURS:
        raise _invalid("hours", f"每个时段 1–{MAX_SLOT_HOURS} 学时")
    if new.start.utcoffset() is None:
        raise _invalid("start", "开始时间须带时区")
    start = new.start.astimezone(UTC)
    if (start.minute, start.second, start.microsecond) != (0, 0, 0):
        raise _invalid("start", "开始时间须为整点")
    if new.start <= now:
        raise _invalid("start", "开始时间已过")


def _check_resources(session: Session, school_id: str, new: NewSlot) -> tuple[Coach, Vehicle]:
    coach = session.get(Coach, new.coach_id)
    if coach is None or coach.school_id != school_id or not coach.active:
        raise _invalid("coach_id", "不是本校在岗教练")
    vehicle = session.get(Vehicle, new.vehicle_id)
    if vehicle is None or vehicle.school_id != school_id:
        raise _invalid("vehicle_id", "不是本校车辆")
    if vehicle.kind != new.kind:
        raise _invalid("vehicle_id", "模拟器时段须用模拟器，实车时段须用教练车")
    if vehicle.vehicle_class not in coach.permitted_classes:
        raise _invalid("coach_id", f"教练未获准教授{vehicle.vehicle_class}车型")
    if new.subject == "road" and new.ground_id is not None:
        raise _invalid("ground_id", "科目三道路训练不占用训练场")
    if new.subject == "field" and new.kind == "car" and new.ground_id is None:
        raise _invalid("ground_id", "科目二实车训练须指定训练场")
    if new.ground_id is not None:
        ground = session.get(TrainingGround, new.ground_id)
        if ground is None or ground.school_id != school_id:
            raise _invalid("ground_id", "不是本校训练场")
    return coach, vehicle


def _check_free(session: Session, resources: list[str], hours: list[datetime]) -> None:
    taken = held(session, resources, hours)
    if any(h.owner.startswith("leave:") for h in taken):
        raise SlotRefused("conflict", "教练该时段请假")
    if taken:
        names = "、".join(sorted({h.resource for h in taken}))
        raise SlotRefused("conflict", f"该时段已被占用：{names}")


def _slot_resources(slot: TrainingSlot) -> list[str]:
    names = [resource("coach", slot.coach_id), resource("vehicle", slot.vehicle_id)]
    if slot.ground_id is not None:
        names.append(resource("ground", slot.ground_id))
    return names


def _rate(fees: FeeSchedule, kind: str, subject: str) -> list[int]:
    if kind == "simulator":
        return fees.simulator_rates_fen
    return fees.field_rates_fen if subject == "field" else fees.road_rates_fen
