"""Booking practical sessions: the only writer of bookings on behalf of journeys.

Each activity is one transaction. The rules that must hold under concurrency are the
database's: one live booking per slot (partial unique index), one hold per learner-hour
(`ResourceHold`), the daily cap (a conditional UPDATE under a CHECK). The reads before the
writes only choose the words of a refusal. `now` always comes from the workflow.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http import business_rejection
from activities.slots import add_holds, held, release_holds
from models.registry import Coach, Vehicle
from models.training import (
    LearnerDayLoad,
    SlotBooking,
    TrainingSlot,
    china_day,
    hour_starts,
    resource,
)


@dataclass
class BookSlot:
    booking_id: str  # chosen by the workflow; also the idempotency key
    slot_id: str
    journey_id: str
    learner_id: str
    school_id: str
    subject: str  # field | road
    now: datetime
    horizon_days: int
    daily_cap_hours: int
    available_fen: int  # escrow the learner may still commit


@dataclass
class BookedSlot:
    booking_id: str
    slot_id: str
    subject: str
    kind: str
    start: datetime
    end: datetime
    hours: int
    rate_fen: int
    rate_kind: str
    coach_id: str
    vehicle_id: str
    ground_id: str | None
    coach_name: str = ""
    vehicle_plate: str = ""


@dataclass
class CancelBooking:
    booking_id: str
    by: str  # learner | school
    reason: str
    now: datetime
    cutoff_hours: int
    late_fee_pct: int


@dataclass
class CancelledBooking:
    booking_id: str
    late: bool
    fee_fen: int


@dataclass
class CompleteBooking:
    booking_id: str
    record_no: str


@dataclass
class NoShow:
    booking_id: str
    fee_pct: int
    now: datetime
    # The journey is ending: a session that has begun (not only ended) counts as missed.
    begun_is_enough: bool = False


class BookingActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="bookings.book")
    def book(self, p: BookSlot) -> BookedSlot:
        with Session(self._engine) as session:
            try:
                return _book(session, p)
            except IntegrityError:
                session.rollback()
            # The booking row clashed: a twin of this call won (idempotent) or the slot is taken.
            done = _already_booked(session, p)
            if done is not None:
                return done
            raise _refuse("该时段已被预约", "slot_taken")

    @activity.defn(name="bookings.cancel")
    def cancel(self, p: CancelBooking) -> CancelledBooking:
        if p.by not in ("learner", "school"):
            raise ApplicationError(f"unknown canceller {p.by!r}", non_retryable=True)
        with Session(self._engine) as session:
            booking = _booking(session, p.booking_id)
            if booking.status == "cancelled":
                return CancelledBooking(booking.id, booking.late, booking.fee_fen)
            if booking.status != "booked":
                raise _refuse("课时已结束，不能取消", "too_late_to_cancel")
            if p.now >= booking.start:
                raise _refuse("课时已开始，不能取消", "too_late_to_cancel")
            late = p.by == "learner" and booking.start - p.now < timedelta(hours=p.cutoff_hours)
            fee = booking.hours * booking.rate_fen * p.late_fee_pct // 100 if late else 0
            changed = _transition(
                session,
                booking.id,
                status="cancelled",
                cancelled_by=p.by,
                cancel_reason=p.reason[:200],
                late=late,
                fee_fen=fee,
            )
            if not changed:
                return self.cancel(p)  # completed or cancelled meanwhile: decide on the new row
            release_holds(session, [f"booking:{booking.id}"])
            _give_back_hours(session, booking)
            if p.by == "school":
                _cancel_slot(session, booking.slot_id)
            session.commit()
            return CancelledBooking(booking.id, late, fee)

    @activity.defn(name="bookings.complete")
    def complete(self, p: CompleteBooking) -> None:
        with Session(self._engine) as session:
            booking = _booking(session, p.booking_id)
            if booking.status == "completed":
                return
            if booking.status != "booked":
                raise _refuse("该预约已取消或记为缺席，不能记为完成", "not_booked")
            if not _transition(session, booking.id, status="completed", record_no=p.record_no):
                return self.complete(p)
            session.commit()

    @activity.defn(name="bookings.no_show")
    def no_show(self, p: NoShow) -> int:
        """Marks a booked session the learner missed; returns the fee owed to the school."""
        with Session(self._engine) as session:
            booking = _booking(session, p.booking_id)
            if booking.status == "no_show":
                return booking.fee_fen
            if booking.status != "booked":
                raise _refuse("该预约已取消或已完成，不能记为缺席", "not_booked")
            if p.now < (booking.start if p.begun_is_enough else booking.end):
                raise _refuse("课时尚未结束，不能记为缺席", "not_ended")
            fee = booking.hours * booking.rate_fen * p.fee_pct // 100
            if not _transition(session, booking.id, status="no_show", fee_fen=fee):
                return self.no_show(p)
            session.commit()
            return fee


def open_slots(
    session: Session, school_id: str, subject: str, now: datetime, horizon_days: int
) -> list[TrainingSlot]:
    """Slots a learner of this school may book now: open, unbooked, within the horizon."""
    taken = select(SlotBooking.slot_id).where(col(SlotBooking.status) != "cancelled")
    query = (
        select(TrainingSlot)
        .where(
            col(TrainingSlot.school_id) == school_id,
            col(TrainingSlot.subject) == subject,
            col(TrainingSlot.status) == "open",
            col(TrainingSlot.start) > now,
            col(TrainingSlot.start) <= now + timedelta(days=horizon_days),
            col(TrainingSlot.id).not_in(taken),
        )
        .order_by(col(TrainingSlot.start), col(TrainingSlot.id))
    )
    return list(session.exec(query).all())


def _book(session: Session, p: BookSlot) -> BookedSlot:
    done = _already_booked(session, p)
    if done is not None:
        return done
    slot = session.get(TrainingSlot, p.slot_id)
    _check_bookable(slot, p)
    assert slot is not None
    hours = hour_starts(slot.start, slot.end)
    # The first write: it locks the slot row (PostgreSQL) or the database (SQLite), and
    # re-checks the slot is still open, so a concurrent cancellation or leave is seen.
    locked = session.exec(
        update(TrainingSlot)
        .where(col(TrainingSlot.id) == slot.id, col(TrainingSlot.status) == "open")
        .values(status="open")
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        raise _refuse("该时段已取消", "slot_unavailable")
    done = _already_booked(session, p)
    if done is not None:
        return done
    if _live_booking(session, slot.id):
        raise _refuse("该时段已被预约", "slot_taken")
    learner = resource("learner", p.learner_id)
    if held(session, [learner], hours):
        raise _refuse("您在该时段已有预约", "learner_busy")
    now = datetime.now(UTC)
    booking = SlotBooking(
        id=p.booking_id,
        slot_id=slot.id,
        journey_id=p.journey_id,
        learner_id=p.learner_id,
        school_id=slot.school_id,
        subject=slot.subject,
        start=slot.start,
        end=slot.end,
        hours=slot.hours,
        rate_fen=slot.rate_fen,
        rate_kind=slot.rate_kind,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()  # IntegrityError here: a twin or another learner got the slot first
    add_holds(session, [learner], hours, f"booking:{booking.id}")
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise _refuse("您在该时段已有预约", "learner_busy") from exc
    for day, count in sorted(Counter(china_day(h) for h in hours).items()):
        if not _add_day_hours(session, p.learner_id, day, count, p.daily_cap_hours):
            session.rollback()
            raise _refuse(f"超过每日学时上限（{p.daily_cap_hours}学时）", "daily_cap")
    session.commit()
    return _booked_slot(session, booking, slot)


def _check_bookable(slot: TrainingSlot | None, p: BookSlot) -> None:
    if slot is None or slot.status != "open" or slot.school_id != p.school_id:
        raise _refuse("该时段不可预约", "slot_unavailable")
    if slot.subject != p.subject:
        raise _refuse("该时段不是本科目的训练", "wrong_subject")
    if slot.start <= p.now:
        raise _refuse("该时段已开始或已过", "outside_horizon")
    if slot.start > p.now + timedelta(days=p.horizon_days):
        raise _refuse(f"只能预约{p.horizon_days}天内的时段", "outside_horizon")
    if slot.hours * slot.rate_fen > p.available_fen:
        raise _refuse("监管账户余额不足，请先充值", "insufficient_balance")


def _already_booked(session: Session, p: BookSlot) -> BookedSlot | None:
    booking = session.get(SlotBooking, p.booking_id, populate_existing=True)
    if booking is None:
        return None
    if (booking.slot_id, booking.learner_id) != (p.slot_id, p.learner_id):
        raise ApplicationError(
            f"booking id {p.booking_id} reused for another slot or learner",
            type="BookingIdReused",
            non_retryable=True,
        )
    slot = session.get(TrainingSlot, booking.slot_id)
    assert slot is not None
    return _booked_slot(session, booking, slot)


def _booked_slot(session: Session, booking: SlotBooking, slot: TrainingSlot) -> BookedSlot:
    # The terminal needs the coach and car filed by name and plate before it records a session.
    coach = session.get(Coach, slot.coach_id)
    vehicle = session.get(Vehicle, slot.vehicle_id)
    return BookedSlot(
        booking_id=booking.id,
        slot_id=slot.id,
        subject=booking.subject,
        kind=slot.kind,
        start=booking.start,
        end=booking.end,
        hours=booking.hours,
        rate_fen=booking.rate_fen,
        rate_kind=booking.rate_kind,
        coach_id=slot.coach_id,
        vehicle_id=slot.vehicle_id,
        ground_id=slot.ground_id,
        coach_name=coach.name if coach else "",
        vehicle_plate=vehicle.plate if vehicle else "",
    )


def _live_booking(session: Session, slot_id: str) -> bool:
    query = select(SlotBooking.id).where(
        col(SlotBooking.slot_id) == slot_id, col(SlotBooking.status) == "booked"
    )
    return session.exec(query).first() is not None


def _add_day_hours(session: Session, learner_id: str, day: str, hours: int, cap: int) -> bool:
    """Adds hours to the learner's day unless that passes the cap, in one atomic UPDATE."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.exec(
        dialect.insert(LearnerDayLoad)
        .values(learner_id=learner_id, day=day, hours=0, cap=cap)
        .on_conflict_do_nothing()
    )
    added = session.exec(
        update(LearnerDayLoad)
        .where(
            col(LearnerDayLoad.learner_id) == learner_id,
            col(LearnerDayLoad.day) == day,
            col(LearnerDayLoad.hours) + hours <= cap,
        )
        .values(hours=col(LearnerDayLoad.hours) + hours, cap=cap)
        .execution_options(synchronize_session=False)
    )
    return added.rowcount == 1


def _give_back_hours(session: Session, booking: SlotBooking) -> None:
    days = Counter(china_day(h) for h in hour_starts(booking.start, booking.end))
    for day, count in sorted(days.items()):
        session.exec(
            update(LearnerDayLoad)
            .where(
                col(LearnerDayLoad.learner_id) == booking.learner_id,
                col(LearnerDayLoad.day) == day,
            )
            .values(hours=col(LearnerDayLoad.hours) - count)
            .execution_options(synchronize_session=False)
        )


def _cancel_slot(session: Session, slot_id: str) -> None:
    session.exec(
        update(TrainingSlot)
        .where(col(TrainingSlot.id) == slot_id)
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    release_holds(session, [f"slot:{slot_id}"])


def _booking(session: Session, booking_id: str) -> SlotBooking:
    booking = session.get(SlotBooking, booking_id)
    if booking is None:
        raise _refuse("预约不存在", "unknown_booking")
    return booking


def _transition(session: Session, booking_id: str, **values: object) -> bool:
    """Moves a booked booking on; False if another call moved it first (nothing written)."""
    moved = session.exec(
        update(SlotBooking)
        .where(col(SlotBooking.id) == booking_id, col(SlotBooking.status) == "booked")
        .values(**values, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 1:
        return True
    session.rollback()
    return False


def _refuse(message: str, code: str) -> ApplicationError:
    return business_rejection(message, {"code": code})
