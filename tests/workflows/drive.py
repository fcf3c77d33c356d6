"""Drivers that walk a journey through its stages on the time-skipping server, as the learner,
the school, the regulator and the subsystems would."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.slots import NewSlot, publish_slot
from tests.factories import current_view, journey_input, until
from tests.workflows.conftest import Harness
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    EXAM_SUBJECT,
    BookExam,
    BookHealthCheck,
    BookSlotRequest,
    CreatePayment,
    ExamResult,
    HealthResult,
    JourneyInput,
    JourneyState,
    PaymentCallback,
    RateStage,
    RecordDecision,
    SignContract,
    StaffDecision,
    StageReportAction,
    Subject,
    TrainingRecord,
)
from workflows.training import CHINA

SIGNATURE = "iVBORw0KGgo="  # the workflow only passes it on to the renderer


async def to_health_check(
    h: Harness, inp: JourneyInput | None = None, handle: WorkflowHandle | None = None
) -> WorkflowHandle:
    """Starts a journey (or takes one already started) and waits for the health check."""
    handle = handle or await h.start(inp or journey_input())
    await until(handle, lambda v: v.state.stage == "health_check")
    return handle


async def pass_health(h: Harness, handle: WorkflowHandle, age: timedelta = timedelta()) -> None:
    """Books a check and delivers a passing result examined `age` ago (server time)."""
    booked = await handle.execute_update(
        LearnerJourney.book_health_check, BookHealthCheck("H371100001", "2026-11-02T08:00", 6000)
    )
    examined = await h.env.get_current_time() - age
    await handle.signal(
        LearnerJourney.health_result, HealthResult(booked.booking_id, True, examined)
    )


async def to_payment(
    h: Harness, inp: JourneyInput | None = None, handle: WorkflowHandle | None = None
) -> WorkflowHandle:
    handle = await to_health_check(h, inp, handle)
    await pass_health(h, handle)
    await until(handle, lambda v: v.state.stage == "signing")
    await handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1"))
    await until(handle, lambda v: v.state.contract.preview_sha256 != "")
    await handle.execute_update(LearnerJourney.sign_contract, SignContract(SIGNATURE))
    await until(handle, lambda v: v.state.stage == "payment")
    return handle


async def paid_callback(h: Harness, order_id: str, txn: str = "", **paid: Any) -> PaymentCallback:
    """The bank's callback for an order the fake bank took: paid as ordered, unless `paid`
    says otherwise (amount_fen, account_id, channel)."""
    order = h.fakes.orders[order_id]
    now = await h.env.get_current_time()
    callback = PaymentCallback(
        order_id, order.amount_fen, txn or f"TXN-{order_id}", now, order.account_id, order.channel
    )
    return replace(callback, **paid)


async def pay(h: Harness, handle: WorkflowHandle, times: int = 1) -> str:
    order = await handle.execute_update(LearnerJourney.create_payment, CreatePayment("alipay"))
    h.fakes.bank_paid(order.order_id, handle.id)
    for _ in range(times):  # the bank may deliver its callback more than once
        await handle.signal(LearnerJourney.payment_callback, await paid_callback(h, order.order_id))
    return order.order_id


async def to_training(h: Harness, inp: JourneyInput | None = None) -> WorkflowHandle:
    handle = await to_payment(h, inp)
    await pay(h, handle)
    await until(handle, lambda v: v.state.stage == "theory")
    return handle


async def send_record(
    h: Harness,
    handle: WorkflowHandle,
    subject: str,
    mode: str,
    start: datetime,
    minutes: int,
    session_id: str = "",
    invalid_minutes: int = 0,
    reason: str = "",
) -> str:
    n = len((await current_view(handle)).state.records) + 1
    record_no = f"REC-{subject}-{n:04d}-{handle.id[-6:]}"
    await handle.signal(
        LearnerJourney.training_record,
        TrainingRecord(
            record_no,
            session_id or f"SES-{record_no}",
            subject,
            mode,
            start,
            start + timedelta(minutes=minutes + invalid_minutes),
            minutes,
            invalid_minutes,
            reason,
        ),
    )
    await until(handle, lambda v: any(r.record_no == record_no for r in v.state.records))
    return record_no


async def train_theory_like(
    h: Harness, handle: WorkflowHandle, subject: str, confirm: bool = True
) -> None:
    """Classroom hours first, then remote ones, four 学时 a day (the policy's cap); then the
    learner confirms the stage (unless not `confirm`)."""
    view = await current_view(handle)
    p = view.state.subjects[subject]
    classroom, remote = p.classroom_min_minutes, p.required_minutes - p.classroom_min_minutes
    for mode, total in (("classroom", classroom), ("remote", remote)):
        while total > 0:
            minutes = min(total, 240)
            start = await next_hour(h, days=h.next_theory_day(), hour=19)
            await send_record(h, handle, subject, mode, start, minutes)
            total -= minutes
    if confirm:
        await handle.execute_update(
            LearnerJourney.confirm_theory, RateStage(subject, 5, 4, "讲解清楚")
        )


async def pass_stage_report(handle: WorkflowHandle, subject: str) -> None:
    for actor, role in (
        ("U-school1", "school_staff"),
        ("U-learner1", "learner"),
        ("U-rizhao", "regulator"),
    ):
        await handle.execute_update(
            LearnerJourney.stage_report, StageReportAction(subject, actor, role=role)
        )
    await until(handle, lambda v: v.state.subjects[subject].exam.eligible)


async def sit_exam(
    h: Harness, handle: WorkflowHandle, subject: str, exam_date: date, passed: bool = True
) -> JourneyState:
    booked = await handle.execute_update(
        LearnerJourney.book_exam, BookExam(subject, exam_date.isoformat())
    )
    booking = booked.booking_id
    permit = exam_date.isoformat() if subject == Subject.theory and passed else None
    await handle.signal(
        LearnerJourney.exam_result,
        ExamResult(
            booking,
            EXAM_SUBJECT[Subject(subject)],
            exam_date.isoformat(),
            passed,
            [95 if passed else 70],
            permit,
        ),
    )
    view = await until(handle, lambda v: v.state.subjects[subject].exam.booking_id == "")
    return view.state


async def today(h: Harness) -> date:
    return (await h.env.get_current_time()).astimezone(CHINA).date()


def publish(
    h: Harness,
    school_id: str,
    subject: str,
    start: datetime,
    hours: int = 4,
    rate_kind: str = "normal",
    coach: str = "K1",
    vehicle: str = "V1",
    kind: str = "car",
) -> str:
    with Session(h.engine) as session:
        slot = publish_slot(
            session,
            school_id,
            NewSlot(
                subject=subject,
                kind=kind,
                coach_id=f"{school_id}-{coach}",
                vehicle_id=f"{school_id}-{vehicle}",
                ground_id=f"{school_id}-G1" if subject == "field" and kind == "car" else None,
                start=start,
                hours=hours,
                rate_kind=rate_kind,
            ),
            now=start - timedelta(days=1),
        )
        return slot.id


async def next_hour(h: Harness, days: int = 1, hour: int = 8) -> datetime:
    """A whole hour `days` ahead of server time, at `hour` China time."""
    d = await today(h) + timedelta(days=days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=CHINA)


async def train_practical(
    h: Harness,
    handle: WorkflowHandle,
    subject: str,
    school_id: str = "S371100001",
    hours: int | None = None,
) -> None:
    """Publishes, books, trains and confirms four-hour sessions until `hours` are done."""
    await until(handle, lambda v: v.state.stage == subject)
    view = await current_view(handle)
    p = view.state.subjects[subject]
    todo = hours if hours is not None else (p.required_minutes - p.confirmed_minutes) // 60
    while todo > 0:
        length = min(todo, 4)
        start = await next_hour(h, days=h.next_practical_day())
        await practical_session(h, handle, subject, school_id, start, length)
        todo -= length


async def to_field(h: Harness, inp: JourneyInput | None = None) -> WorkflowHandle:
    handle = await to_training(h, inp)
    await finish_subject(h, handle, "theory")
    await until(handle, lambda v: v.state.stage == "field")
    return handle


async def book(h: Harness, handle: WorkflowHandle, start: datetime, hours: int = 2) -> str:
    slot = publish(h, "S371100001", "field", start, hours)
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(slot))
    return booked.booking_id


async def practical_session(
    h: Harness,
    handle: WorkflowHandle,
    subject: str,
    school_id: str,
    start: datetime,
    hours: int,
    confirm: bool = True,
    rate_kind: str = "normal",
    **record: object,
) -> str:
    await until(handle, lambda v: v.state.stage == subject)
    slot_id = publish(h, school_id, subject, start, hours, rate_kind)
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(slot_id))
    booking = booked.booking_id
    record_no = await send_record(
        h,
        handle,
        subject,
        "practical",
        start,
        hours * 60 - int(record.get("invalid_minutes", 0)),
        session_id=booking,
        **record,
    )  # type: ignore[arg-type]
    if confirm:
        await handle.execute_update(LearnerJourney.confirm_record, RecordDecision(record_no))
    return record_no


async def finish_subject(
    h: Harness, handle: WorkflowHandle, subject: str, school_id: str = "S371100001"
) -> None:
    """Trains, reports and passes one subject; the exam is booked a month out (past every
    waiting period after the permit), theory's the next day."""
    await until(handle, lambda v: v.state.stage == subject)
    if subject in ("theory", "safety"):
        await train_theory_like(h, handle, subject)
    else:
        await train_practical(h, handle, subject, school_id)
    await pass_stage_report(handle, subject)
    days = 1 if subject == "theory" else 31
    await sit_exam(h, handle, subject, await today(h) + timedelta(days=days))


async def refusal(handle: WorkflowHandle, update: object, arg: object) -> str:
    """The reason the journey refused an Update (the test fails if it was accepted)."""
    try:
        await handle.execute_update(update, arg)  # type: ignore[call-overload]
    except WorkflowUpdateFailedError as err:
        return str(err.cause)
    raise AssertionError("the update was accepted")
