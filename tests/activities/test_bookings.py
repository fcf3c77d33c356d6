"""Booking practical sessions, on SQLite and PostgreSQL: the rules hold under concurrency."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from temporalio.exceptions import ApplicationError

from activities.bookings import (
    BookedSlot,
    BookingActivities,
    BookSlot,
    CancelBooking,
    CancelledBooking,
    CompleteBooking,
    NoShow,
    open_slots,
)
from activities.slots import NewSlot, SlotRefused, add_coach_leave, cancel_open_slot, publish_slot
from models.demo_slots import load_demo_slots
from models.registry import FeeSchedule
from models.training import CHINA, LearnerDayLoad, ResourceHold, SlotBooking, TrainingSlot

SCHOOL = "S371100001"
NOW = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # Monday 08:00 China time


def publish(
    engine: Engine,
    after_hours: int,
    hours: int = 1,
    subject: str = "field",
    n: int = 1,
    rate_kind: str = "normal",
    school: str = SCHOOL,
) -> TrainingSlot:
    """A slot starting `after_hours` after NOW with coach, vehicle (and ground) number `n`."""
    new = NewSlot(
        subject=subject,
        kind="car",
        coach_id=f"{school}-K{n}",
        vehicle_id=f"{school}-V{n}",
        ground_id=f"{school}-G1" if subject == "field" else None,
        start=NOW + timedelta(hours=after_hours),
        hours=hours,
        rate_kind=rate_kind,
    )
    with Session(engine) as session:
        return publish_slot(session, school, new, NOW)


def req(slot: TrainingSlot, learner: str = "U-learner1", **change: object) -> BookSlot:
    p = BookSlot(
        booking_id=f"B-{slot.id}-{learner}",
        slot_id=slot.id,
        journey_id=f"journey-{learner}",
        learner_id=learner,
        school_id=slot.school_id,
        subject=slot.subject,
        now=NOW,
        horizon_days=14,
        daily_cap_hours=4,
        available_fen=1_000_000,
    )
    for name, value in change.items():
        setattr(p, name, value)
    return p


def cancel(
    booking_id: str, start: datetime, by: str = "learner", hours_before: float = 48, pct: int = 50
) -> CancelBooking:
    return CancelBooking(
        booking_id=booking_id,
        by=by,
        reason="有事",
        now=start - timedelta(hours=hours_before),
        cutoff_hours=24,
        late_fee_pct=pct,
    )


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(ApplicationError) as info:
        call()
    assert info.value.type == "BusinessRejection"
    assert info.value.non_retryable
    return info.value.details[0]["code"]


def count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)  # type: ignore[arg-type]
        return session.exec(query).one()


def learner_holds(engine: Engine, learner: str = "U-learner1") -> int:
    return count(engine, ResourceHold, col(ResourceHold.resource) == f"learner:{learner}")


def day_hours(engine: Engine, learner: str = "U-learner1") -> int:
    with Session(engine) as session:
        rows = session.exec(
            select(LearnerDayLoad).where(col(LearnerDayLoad.learner_id) == learner)
        ).all()
        return sum(r.hours for r in rows)


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Runs the calls on threads released together; returns each result or its refusal code."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except ApplicationError as exc:
            return exc.details[0]["code"]

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


# --- booking --------------------------------------------------------------------------------


def test_book_copies_the_slot_rate_and_keeps_it_after_a_fee_change(demo_engine: Engine) -> None:
    slot = publish(demo_engine, 26, hours=2, rate_kind="peak")
    booked = BookingActivities(demo_engine).book(req(slot))
    assert booked == BookedSlot(
        booking_id=f"B-{slot.id}-U-learner1",
        slot_id=slot.id,
        subject="field",
        kind="car",
        start=NOW + timedelta(hours=26),
        end=NOW + timedelta(hours=28),
        hours=2,
        rate_fen=14000,  # the demo school's C1 field peak rate
        rate_kind="peak",
        coach_id=f"{SCHOOL}-K1",
        vehicle_id=f"{SCHOOL}-V1",
        ground_id=f"{SCHOOL}-G1",
        coach_name="王建国",  # named for the timing platform's filing
        vehicle_plate="鲁L00009学",
    )
    with Session(demo_engine) as session:
        fees = session.get(FeeSchedule, (SCHOOL, "C1"))
        assert fees is not None
        fees.field_rates_fen = [20000, 22000, 24000]
        session.add(fees)
        session.commit()
        row = session.get(SlotBooking, booked.booking_id)
        assert row is not None and row.rate_fen == 14000
    assert BookingActivities(demo_engine).book(req(slot)).rate_fen == 14000
    assert (learner_holds(demo_engine), day_hours(demo_engine)) == (2, 2)


def test_booking_again_with_the_same_id_returns_the_first_booking(demo_engine: Engine) -> None:
    slot = publish(demo_engine, 30)
    bookings = BookingActivities(demo_engine)
    first = bookings.book(req(slot))
    # Replayed after the slot started and with no money left: still the same booking.
    again = bookings.book(req(slot, now=NOW + timedelta(days=3), available_fen=0))
    assert again == first
    assert count(demo_engine, SlotBooking) == 1
    assert day_hours(demo_engine) == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown_slot", "slot_unavailable"),
        ("cancelled_slot", "slot_unavailable"),
        ("other_school", "slot_unavailable"),
        ("wrong_subject", "wrong_subject"),
        ("started", "outside_horizon"),
        ("beyond_horizon", "outside_horizon"),
        ("taken", "slot_taken"),
        ("learner_busy", "learner_busy"),
        ("daily_cap", "daily_cap"),
        ("insufficient_balance", "insufficient_balance"),
    ],
)
def test_booking_refusals_write_nothing(demo_engine: Engine, case: str, code: str) -> None:
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 30, hours=2)
    p = req(slot)
    if case == "unknown_slot":
        p.slot_id = "TS-nope"
    elif case == "cancelled_slot":
        with Session(demo_engine) as session:
            cancel_open_slot(session, slot.id, SCHOOL)
    elif case == "other_school":
        p.school_id = "S371100002"
    elif case == "wrong_subject":
        p.subject = "road"
    elif case == "started":
        p.now = slot.start + timedelta(minutes=1)
    elif case == "beyond_horizon":
        p.horizon_days = 1
    elif case == "taken":
        bookings.book(req(slot, learner="U-learner2"))
    elif case == "learner_busy":
        bookings.book(req(publish(demo_engine, 31, subject="road", n=2)))
    elif case == "daily_cap":
        bookings.book(req(publish(demo_engine, 33, n=2)))
        p.daily_cap_hours = 2
    elif case == "insufficient_balance":
        p.available_fen = 2 * 12000 - 1
    holds_before, hours_before = learner_holds(demo_engine), day_hours(demo_engine)
    assert code_of(lambda: bookings.book(p)) == code
    assert count(demo_engine, SlotBooking, col(SlotBooking.id) == p.booking_id) == 0
    assert (learner_holds(demo_engine), day_hours(demo_engine)) == (holds_before, hours_before)


def test_ten_learners_racing_for_one_slot_get_exactly_one_booking(demo_engine: Engine) -> None:
    slot = publish(demo_engine, 30, hours=2)
    bookings = BookingActivities(demo_engine)
    learners = [f"U-racer{i}" for i in range(10)]
    results = race([lambda u=u: bookings.book(req(slot, learner=u)) for u in learners])
    won = [r for r in results if isinstance(r, BookedSlot)]
    assert len(won) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["slot_taken"] * 9
    assert count(demo_engine, SlotBooking) == 1
    assert count(demo_engine, ResourceHold, col(ResourceHold.resource).like("learner:%")) == 2
    assert sum(day_hours(demo_engine, u) for u in learners) == 2


def test_one_learner_racing_for_two_overlapping_slots_gets_one(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    for round_ in range(3):
        field = publish(demo_engine, 30 + 24 * round_, hours=2)
        road = publish(demo_engine, 31 + 24 * round_, hours=2, subject="road", n=2)
        results = race([lambda s=s: bookings.book(req(s)) for s in (field, road)])
        assert sorted(map(type, results), key=str) == sorted([BookedSlot, str], key=str)
        assert "learner_busy" in results
    assert count(demo_engine, SlotBooking) == 3
    assert (learner_holds(demo_engine), day_hours(demo_engine)) == (6, 6)


def test_the_daily_cap_holds_when_one_learner_books_six_hours_at_once(
    demo_engine: Engine,
) -> None:
    bookings = BookingActivities(demo_engine)
    slots = [publish(demo_engine, h) for h in range(1, 7)]  # 09:00–15:00 China time, one day
    results = race([lambda s=s: bookings.book(req(s)) for s in slots])
    assert sum(isinstance(r, BookedSlot) for r in results) == 4
    assert [r for r in results if isinstance(r, str)] == ["daily_cap"] * 2
    assert (day_hours(demo_engine), learner_holds(demo_engine)) == (4, 4)


def test_slots_on_another_china_day_count_against_that_day(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    bookings.book(req(publish(demo_engine, 1, hours=4)))  # Monday 09:00–13:00
    bookings.book(req(publish(demo_engine, 24, hours=4)))  # Tuesday 08:00–12:00
    assert day_hours(demo_engine) == 8


def test_open_slots_lists_only_what_a_learner_may_book(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    late, early, booked, cancelled = (publish(demo_engine, h) for h in (50, 30, 40, 45))
    publish(demo_engine, 35, subject="road", n=2)
    far = publish(demo_engine, 24 * 20)
    bookings.book(req(booked))
    with Session(demo_engine) as session:
        cancel_open_slot(session, cancelled.id, SCHOOL)
        listed = open_slots(session, SCHOOL, "field", NOW, 14)
        assert [s.id for s in listed] == [early.id, late.id]
        assert far.id not in [s.id for s in open_slots(session, SCHOOL, "field", NOW, 30)][:2]
        assert open_slots(session, SCHOOL, "field", early.start, 14)[0].id == late.id


# --- publishing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "hours", "subject", "n"),
    [
        (31, 1, "road", 1),  # the same coach and vehicle, an hour inside
        (29, 2, "field", 2),  # the same ground
        (30, 1, "field", 1),  # exactly the same
    ],
)
def test_publishing_an_overlapping_slot_is_refused_and_writes_nothing(
    demo_engine: Engine, after: int, hours: int, subject: str, n: int
) -> None:
    publish(demo_engine, 30, hours=2)
    holds = count(demo_engine, ResourceHold)
    with pytest.raises(SlotRefused) as info:
        publish(demo_engine, after, hours=hours, subject=subject, n=n)
    assert info.value.kind == "conflict"
    assert count(demo_engine, TrainingSlot) == 1
    assert count(demo_engine, ResourceHold) == holds


def test_publishing_the_same_coach_hour_concurrently_succeeds_once(demo_engine: Engine) -> None:
    def attempt(i: int) -> object:
        try:
            return publish(demo_engine, 30 + (i % 2), hours=2, subject="road")
        except SlotRefused as exc:
            return exc.kind

    barrier = threading.Barrier(6)

    def run(i: int) -> object:
        barrier.wait()
        return attempt(i)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, range(6)))
    assert sum(isinstance(r, TrainingSlot) for r in results) == 1
    assert count(demo_engine, TrainingSlot) == 1
    assert count(demo_engine, ResourceHold) == 4  # coach and vehicle, two hours


def test_a_cancelled_open_slot_frees_its_coach(demo_engine: Engine) -> None:
    slot = publish(demo_engine, 30, hours=2)
    with Session(demo_engine) as session:
        assert cancel_open_slot(session, slot.id, SCHOOL).status == "cancelled"
        assert cancel_open_slot(session, slot.id, SCHOOL).status == "cancelled"
        with pytest.raises(SlotRefused) as info:
            cancel_open_slot(session, slot.id, "S371100002")
        assert info.value.kind == "not_found"
    assert publish(demo_engine, 30, hours=2).status == "open"


def test_a_booked_slot_cannot_be_withdrawn_without_its_learner(demo_engine: Engine) -> None:
    slot = publish(demo_engine, 30)
    BookingActivities(demo_engine).book(req(slot))
    with Session(demo_engine) as session:
        with pytest.raises(SlotRefused) as info:
            cancel_open_slot(session, slot.id, SCHOOL)
        assert info.value.kind == "conflict"
        assert session.get(TrainingSlot, slot.id).status == "open"  # type: ignore[union-attr]


# --- cancelling, completing, no-shows -------------------------------------------------------


def test_an_early_cancellation_is_free_and_frees_the_slot(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 50, hours=2)
    booked = bookings.book(req(slot))
    result = bookings.cancel(cancel(booked.booking_id, slot.start, hours_before=48))
    assert result == CancelledBooking(booked.booking_id, late=False, fee_fen=0)
    assert (learner_holds(demo_engine), day_hours(demo_engine)) == (0, 0)
    with Session(demo_engine) as session:
        assert [s.id for s in open_slots(session, SCHOOL, "field", NOW, 14)] == [slot.id]
    assert isinstance(bookings.book(req(slot, learner="U-learner2")), BookedSlot)


def test_a_late_cancellation_costs_the_fee_rounded_down(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        fees = session.get(FeeSchedule, (SCHOOL, "C1"))
        assert fees is not None
        fees.field_rates_fen = [12345, 14000, 16000]
        session.add(fees)
        session.commit()
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 30, hours=2)
    booked = bookings.book(req(slot))
    p = cancel(booked.booking_id, slot.start, hours_before=23, pct=33)
    assert bookings.cancel(p) == CancelledBooking(booked.booking_id, True, 2 * 12345 * 33 // 100)
    # Asked again later, with other terms: the first answer stands.
    p.now, p.late_fee_pct = p.now - timedelta(days=1), 0
    assert bookings.cancel(p).fee_fen == 8147
    assert (learner_holds(demo_engine), day_hours(demo_engine)) == (0, 0)


def test_a_school_cancellation_is_never_late_and_withdraws_the_slot(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 30, hours=2)
    booked = bookings.book(req(slot))
    p = cancel(booked.booking_id, slot.start, by="school", hours_before=1)
    assert bookings.cancel(p) == CancelledBooking(booked.booking_id, False, 0)
    with Session(demo_engine) as session:
        row = session.get(SlotBooking, booked.booking_id)
        assert row is not None and (row.cancelled_by, row.status) == ("school", "cancelled")
        assert session.get(TrainingSlot, slot.id).status == "cancelled"  # type: ignore[union-attr]
    assert count(demo_engine, ResourceHold) == 0
    assert publish(demo_engine, 30, hours=2).status == "open"  # coach, car and ground are free


@pytest.mark.parametrize("state", ["started", "completed", "no_show"])
def test_cancelling_too_late_is_refused(demo_engine: Engine, state: str) -> None:
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 30)
    booked = bookings.book(req(slot))
    hours_before = 48.0
    if state == "started":
        hours_before = -0.5
    elif state == "completed":
        bookings.complete(CompleteBooking(booked.booking_id, "R1"))
    else:
        bookings.no_show(NoShow(booked.booking_id, 100, slot.end))
    p = cancel(booked.booking_id, slot.start, hours_before=hours_before)
    assert code_of(lambda: bookings.cancel(p)) == "too_late_to_cancel"
    assert learner_holds(demo_engine) == 1


def test_complete_is_idempotent(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    booked = bookings.book(req(publish(demo_engine, 30)))
    bookings.complete(CompleteBooking(booked.booking_id, "R1"))
    bookings.complete(CompleteBooking(booked.booking_id, "R1"))
    with Session(demo_engine) as session:
        row = session.get(SlotBooking, booked.booking_id)
        assert row is not None and (row.status, row.record_no) == ("completed", "R1")
    assert code_of(lambda: bookings.no_show(NoShow(booked.booking_id, 100, NOW))) == "not_booked"


def test_a_no_show_is_marked_only_after_the_slot_ended(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    slot = publish(demo_engine, 30, hours=2)
    booked = bookings.book(req(slot))
    early = NoShow(booked.booking_id, 100, slot.end - timedelta(minutes=1))
    assert code_of(lambda: bookings.no_show(early)) == "not_ended"
    assert bookings.no_show(NoShow(booked.booking_id, 100, slot.end)) == 24000
    assert bookings.no_show(NoShow(booked.booking_id, 50, slot.end)) == 24000
    unknown = CompleteBooking("B-nope", "R1")
    assert code_of(lambda: bookings.complete(unknown)) == "unknown_booking"


# --- coaches' leave -------------------------------------------------------------------------


def test_leave_withdraws_open_slots_and_blocks_new_ones(demo_engine: Engine) -> None:
    bookings = BookingActivities(demo_engine)
    inside, outside = publish(demo_engine, 30, hours=2), publish(demo_engine, 80)
    with Session(demo_engine) as session:
        leave, withdrawn = add_coach_leave(
            session,
            SCHOOL,
            f"{SCHOOL}-K1",
            NOW + timedelta(hours=24),
            NOW + timedelta(hours=48),
            "病假",
            NOW,
        )
    assert withdrawn == [inside.id]
    assert code_of(lambda: bookings.book(req(inside))) == "slot_unavailable"
    assert isinstance(bookings.book(req(outside)), BookedSlot)
    with pytest.raises(SlotRefused, match="请假") as info:
        publish(demo_engine, 40, subject="road")
    assert info.value.kind == "conflict"
    # The car and the ground were freed with the slot: another coach may use them.
    assert publish(demo_engine, 30, hours=2, n=2).status == "open"
    assert leave.reason == "病假"


def test_leave_over_a_booked_slot_is_refused_and_writes_nothing(demo_engine: Engine) -> None:
    booked_slot, open_slot = publish(demo_engine, 30), publish(demo_engine, 32)
    BookingActivities(demo_engine).book(req(booked_slot))
    holds = count(demo_engine, ResourceHold)
    with Session(demo_engine) as session:
        with pytest.raises(SlotRefused) as info:
            add_coach_leave(
                session,
                SCHOOL,
                f"{SCHOOL}-K1",
                NOW + timedelta(hours=24),
                NOW + timedelta(days=3),
                "事假",
                NOW,
            )
        assert info.value.kind == "conflict"
        assert session.get(TrainingSlot, open_slot.id).status == "open"  # type: ignore[union-attr]
    assert count(demo_engine, ResourceHold) == holds


# --- demo timetable -------------------------------------------------------------------------


def test_demo_slots_load_once_and_are_bookable(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        # Monday 08:00 China time: the rest of today (9 hours) and six more days, two coaches
        # at each of the three Rizhao schools.
        assert load_demo_slots(session, NOW) == 3 * 2 * (9 + 6 * 10)
        assert load_demo_slots(session, NOW) == 0
        slots = open_slots(session, SCHOOL, "field", NOW, 14)
    assert len(slots) == 69  # one field pair per hour
    kinds = {
        (s.start.astimezone(CHINA).weekday() >= 5, s.start.astimezone(CHINA).hour, s.rate_kind)
        for s in slots
    }
    assert (False, 17, "peak") in kinds and (False, 9, "normal") in kinds
    assert all(kind == "holiday" for weekend, _, kind in kinds if weekend)
    booked = BookingActivities(demo_engine).book(req(slots[0]))
    assert booked.rate_fen == 12000
