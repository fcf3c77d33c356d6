"""Issue 7: money and lifecycle defects, each reproduced on the time-skipping server."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from api.journeys import start_journey
from core.config import Settings
from models.journeys import JourneyRecord
from tests.factories import (
    C1_TUITION,
    SERVICES,
    current_view,
    final_state,
    journey_input,
    policy,
    until,
)
from tests.workflows.conftest import Harness
from tests.workflows.drive import (
    book,
    finish_subject,
    next_hour,
    paid_callback,
    pass_health,
    pass_stage_report,
    pay,
    practical_session,
    refusal,
    send_record,
    sit_exam,
    to_field,
    to_health_check,
    to_payment,
    to_training,
    today,
    train_theory_like,
)
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookExam,
    BookHealthCheck,
    CancelExam,
    CreatePayment,
    DisputeAnswer,
    DisputeRuling,
    ExamResult,
    HealthResult,
    RecordDecision,
    SchoolCancelled,
    StaffDecision,
    StageReportAction,
    TrainingRecord,
    Transfer,
    Withdraw,
)

FIELD_RATE = 12000


async def test_stage_report_acted_on_during_a_read_model_write_does_not_hang(
    slow_projection_harness: Harness,
) -> None:
    """Submit, confirm and approve all land while a 0.5 s projection is in flight."""
    h = slow_projection_harness
    handle = await to_training(h)
    await train_theory_like(h, handle, "theory")
    # The school acts as soon as the journey says it waits on it, while that write runs.
    await until(handle, lambda v: v.state.waiting_on == "school")
    for actor, role in (
        ("U-school1", "school_staff"),
        ("U-learner1", "learner"),
        ("U-rizhao", "regulator"),
    ):
        await handle.execute_update(
            LearnerJourney.stage_report, StageReportAction("theory", actor, role=role)
        )
    view = await until(handle, lambda v: v.state.subjects["theory"].exam.eligible, seconds=30)
    assert view.state.subjects["theory"].report.status == "approved"


@pytest.mark.parametrize("into_session", [timedelta(hours=1), timedelta(days=2)])
async def test_withdrawal_with_a_session_begun_settles_it_as_missed(
    harness: Harness, into_session: timedelta
) -> None:
    """A booking whose start has passed cannot be cancelled; the journey still ends cleanly."""
    handle = await to_field(harness)
    start = await next_hour(harness, days=harness.next_practical_day())
    await book(harness, handle, start)
    await harness.sleep(start - await harness.env.get_current_time() + into_session)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    state = await final_state(handle)
    assert (state.status, state.bookings[-1].status) == ("withdrawn", "no_show")
    assert state.bookings[-1].fee_fen == 2 * FIELD_RATE  # the policy's no-show fee: 100%
    assert state.money.held_fen == 0
    assert ("withdraw", state.learner_no) in harness.fakes.calls
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await harness.keep_history(handle, f"withdrawn_with_session_begun_{into_session.days}d")


async def test_withdrawal_after_graduation_is_refused(harness: Harness) -> None:
    handle = await to_training(harness)
    for subject in ("theory", "field", "road", "safety"):
        await finish_subject(harness, handle, subject)
    await until(handle, lambda v: v.state.stage == "followup")
    assert "已结业" in await refusal(handle, LearnerJourney.withdraw, Withdraw("不想要了"))
    assert (await handle.query(LearnerJourney.view)).state.status == "active"


async def test_bad_callback_data_is_recorded_and_the_journey_goes_on(harness: Harness) -> None:
    handle = await to_health_check(harness)
    booked = await handle.execute_update(
        LearnerJourney.book_health_check, BookHealthCheck("H371100001", "2026-11-02T08:00", 6000)
    )
    naive = datetime(2026, 11, 2, 9, 0)  # no time zone
    await handle.signal(LearnerJourney.health_result, HealthResult(booked.booking_id, True, naive))
    await handle.signal(LearnerJourney.exam_result, ExamResult("x", 9, "2026-11-02", True))
    await handle.signal(LearnerJourney.exam_result, ExamResult("x", 1, "yesterday", True))
    view = await until(handle, lambda v: sum(s.outcome == "bad_data" for s in v.state.steps) == 3)
    assert view.state.health.passed is None
    examined = await harness.env.get_current_time()  # the real result still counts
    await handle.signal(
        LearnerJourney.health_result, HealthResult(view.state.health.booking_id, True, examined)
    )
    await until(handle, lambda v: v.state.stage == "signing")


async def test_training_record_with_naive_times_is_refused(harness: Harness) -> None:
    handle = await to_training(harness)
    naive = datetime(2026, 11, 30, 19, 0)
    record = TrainingRecord(
        "REC-naive", "SES-1", "theory", "classroom", naive, naive + timedelta(hours=2), 120
    )
    await handle.signal(LearnerJourney.training_record, record)
    view = await until(handle, lambda v: any(s.outcome == "bad_data" for s in v.state.steps))
    assert view.state.records == [] and view.state.subjects["theory"].counted_minutes == 0


async def test_approve_and_reject_at_once_accept_exactly_one(harness: Harness) -> None:
    for _ in range(3):
        handle = await to_health_check(harness)
        await pass_health(harness, handle)
        await until(handle, lambda v: v.state.stage == "signing")
        outcomes = await asyncio.gather(
            handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1")),
            handle.execute_update(
                LearnerJourney.reject_signing, StaffDecision("U-school1", "证件不符")
            ),
            return_exceptions=True,
        )
        accepted = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(accepted) == 1, outcomes
        assert all(isinstance(o, WorkflowUpdateFailedError) for o in outcomes if o not in accepted)
        await handle.terminate("next try")


async def test_one_booked_session_completes_with_one_record_within_its_hours(
    harness: Harness,
) -> None:
    handle = await to_field(harness)
    start = await next_hour(harness, days=harness.next_practical_day())
    booking = await book(harness, handle, start, hours=2)
    # The terminal reports 3 hours for a 2-hour booking, then the same session again.
    first = await send_record(harness, handle, "field", "practical", start, 180, booking)
    second = await send_record(harness, handle, "field", "practical", start, 120, booking)
    records = {r.record_no: r for r in (await handle.query(LearnerJourney.view)).state.records}
    assert records[first].counted_minutes == 120
    assert records[second].counted_minutes == 0


async def test_enrolment_date_survives_continue_as_new(harness: Harness) -> None:
    inp = replace(journey_input(), history_limit=200)
    handle = await to_field(harness, inp)
    enrolled = (await until(handle, lambda v: True)).state.enrolled_at
    for _ in range(3):
        start = await next_hour(harness, days=harness.next_practical_day())
        await practical_session(harness, handle, "field", "S371100001", start, 1)
    state = (await until(handle, lambda v: v.state.runs >= 2)).state
    assert state.enrolled_at == enrolled
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    await handle.result()
    with Session(harness.engine) as session:
        row = session.get(JourneyRecord, handle.id)
        assert row is not None and row.started_at.replace(tzinfo=UTC) == enrolled
    await harness.keep_history(handle, "continue_as_new_then_withdrawn")


async def test_each_enrolment_has_its_own_keys_and_read_model_row(harness: Harness) -> None:
    """Enrol, pay, withdraw; enrol again, pay, withdraw: both refunds reach the bank."""
    settings = Settings(task_queue=harness.task_queue)
    inp = journey_input()
    ids = []
    for _ in range(2):
        wf_id = await start_journey(harness.env.client, settings, inp)
        # A double submit meets the running journey.
        assert await start_journey(harness.env.client, settings, inp) == wf_id
        handle = await to_payment(harness, handle=harness.follow(wf_id))
        await pay(harness, handle)
        await until(handle, lambda v: v.state.stage == "theory")
        await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
        result = await handle.result()
        assert result.money.refunded_fen == C1_TUITION - SERVICES
        harness.assert_ledger_matches_bank(wf_id, held=0)
        ids.append(wf_id)
    assert ids[0] != ids[1]
    with Session(harness.engine) as session:
        rows = [session.get(JourneyRecord, wf_id) for wf_id in ids]
    assert [(r.status, r.stage) for r in rows if r] == [("withdrawn", "closed")] * 2


async def _enrol_and_pay(h: Harness, handle: WorkflowHandle) -> None:
    await to_payment(h, handle=handle)
    await pay(h, handle)
    await until(handle, lambda v: v.state.stage == "theory")


async def test_transfer_there_and_back_gets_a_new_enrolment_each_time(harness: Harness) -> None:
    settings = Settings(task_queue=harness.task_queue)
    first = harness.follow(await start_journey(harness.env.client, settings, journey_input()))
    await _enrol_and_pay(harness, first)
    to_b = Transfer("离家更近", journey_input(school_id="S371100002"))
    await first.execute_update(LearnerJourney.transfer, to_b)
    at_b = harness.follow((await first.result()).transferred_to)
    await _enrol_and_pay(harness, at_b)
    await at_b.execute_update(LearnerJourney.transfer, Transfer("还是原来的好", journey_input()))
    back = (await at_b.result()).transferred_to
    assert back == f"{first.id}-2"
    await _enrol_and_pay(harness, harness.follow(back))
    for journey in (first.id, at_b.id):
        harness.assert_ledger_matches_bank(journey, held=0)


async def test_transfer_must_carry_the_same_person(harness: Harness) -> None:
    handle = await to_training(harness)
    someone_else = journey_input(school_id="S371100002")
    someone_else.applicant.id_number = "110105194912310029"
    why = await refusal(handle, LearnerJourney.transfer, Transfer("换人", someone_else))
    assert "同一学员" in why


async def test_withdrawal_while_the_run_waits_to_continue_as_new_is_kept(
    harness: Harness,
) -> None:
    """The run has decided to continue as new and waits for a slow Update; a withdrawal
    accepted meanwhile must end the journey, not vanish with the old run."""
    handle = await to_training(harness, replace(journey_input(), history_limit=10_000))
    length = len((await handle.fetch_history()).events)
    limit = length + 20
    # Same journey, same history so far, but a limit just ahead: start it again with it.
    await handle.terminate("restart with a short history limit")
    handle = await to_training(harness, replace(journey_input(), history_limit=limit))
    order_gate = harness.fakes.gate("bank.create_order")
    topup = asyncio.create_task(
        handle.execute_update(LearnerJourney.create_payment, CreatePayment("alipay", 5000))
    )
    ignored = HealthResult("no-such-booking", True, await harness.env.get_current_time())
    while len((await handle.fetch_history()).events) <= limit + 8:
        await handle.signal(LearnerJourney.health_result, ignored)  # history grows, nothing else
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    order_gate.set()
    await topup
    result = await asyncio.wait_for(handle.result(), timeout=30)
    # At least one continue-as-new; how many more the ending takes depends on how the server
    # batched the events (a loaded machine writes more, smaller tasks).
    assert result.status == "withdrawn" and result.runs >= 2
    assert result.money.held_fen == 0


async def test_unpaid_topup_expires_by_the_policy(harness: Harness) -> None:
    handle = await to_training(harness)
    topup = CreatePayment("wechat", 5000)
    order = await handle.execute_update(LearnerJourney.create_payment, topup)
    assert (order.item_status, order.amount_fen) == ("pending", 5000)
    await harness.sleep(timedelta(days=2))  # the policy's payment expiry is one day
    await until(handle, lambda v: v.state.orders[-1].status == "expired")
    assert ("cancel", order.order_id) in harness.fakes.calls
    again = await handle.execute_update(LearnerJourney.create_payment, topup)
    assert again.order_id != order.order_id and not again.repeat
    view = await current_view(handle)
    assert [o.status for o in view.state.orders] == ["paid", "expired", "pending"]
    await harness.keep_history(handle, "topup_expired")


async def test_topup_open_at_graduation_is_cancelled_and_paying_it_later_is_refunded(
    harness: Harness,
) -> None:
    handle = await to_training(harness)
    topup = await handle.execute_update(
        LearnerJourney.create_payment, CreatePayment("wechat", 5000)
    )
    for subject in ("theory", "field", "road", "safety"):
        await finish_subject(harness, handle, subject)
    view = await until(handle, lambda v: v.state.stage == "followup")
    assert view.state.orders[-1].status == "expired"
    assert "已结业" in await refusal(handle, LearnerJourney.withdraw, Withdraw("不想要了"))
    # The channel still takes the learner's money for it: it goes straight back.
    harness.fakes.bank_paid(topup.order_id, handle.id)
    paid = await paid_callback(harness, topup.order_id, "TXN-late")
    await handle.signal(LearnerJourney.payment_callback, paid)
    await harness.sleep(timedelta(days=31))  # the follow-up window closes
    result = await handle.result()
    assert (result.status, result.money.held_fen) == ("completed", 0)
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await harness.keep_history(handle, "topup_cancelled_at_graduation_paid_late")


async def test_unconfirmed_record_is_confirmed_after_the_window(harness: Harness) -> None:
    handle = await to_field(harness)
    start = await next_hour(harness, days=harness.next_practical_day())
    record = await practical_session(
        harness, handle, "field", "S371100001", start, 2, confirm=False
    )
    await harness.sleep(timedelta(days=5))  # past the session and the 3-day window
    view = await until(handle, lambda v: v.state.records[-1].status == "confirmed")
    entry = view.state.records[-1]
    assert (entry.record_no, entry.decided_by) == (record, "auto")
    assert view.state.money.released_fen == SERVICES + 40000 + 2 * FIELD_RATE
    harness.assert_ledger_matches_bank(handle.id, held=view.state.money.held_fen)


async def test_withdrawal_pays_validated_hours_the_learner_left_unconfirmed(
    harness: Harness,
) -> None:
    handle = await to_field(harness)
    start = await next_hour(harness, days=harness.next_practical_day())
    await practical_session(harness, handle, "field", "S371100001", start, 2, confirm=False)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    # What no record is waiting on goes back at once.
    earned = SERVICES + 40000 + 2 * FIELD_RATE
    view = await until(handle, lambda v: v.state.money.refunded_fen > 0)
    assert view.state.money.refunded_fen == C1_TUITION - earned
    await harness.sleep(timedelta(days=5))  # the record's confirmation window passes
    result = await handle.result()
    assert (result.money.released_fen, result.money.refunded_fen) == (earned, C1_TUITION - earned)
    harness.assert_ledger_matches_bank(handle.id, held=0)


async def test_disputes_end_by_the_school_the_regulator_or_the_deadline(harness: Harness) -> None:
    handle = await to_field(harness)
    records = []
    for _ in range(3):
        start = await next_hour(harness, days=harness.next_practical_day())
        records.append(
            await practical_session(harness, handle, "field", "S371100001", start, 2, confirm=False)
        )
    for record_no in records:
        await handle.execute_update(
            LearnerJourney.confirm_record, RecordDecision(record_no, "教练未到场")
        )
    contested, conceded, ignored = records
    answer = DisputeAnswer(contested, "U-school1", concede=False, answer="有车载视频为证")
    await handle.execute_update(LearnerJourney.answer_dispute, answer)
    await handle.execute_update(
        LearnerJourney.answer_dispute, DisputeAnswer(conceded, "U-school1", True, "确认缺课")
    )
    ruling = DisputeRuling(contested, "U-rizhao", uphold_record=True, reason="视频属实")
    assert "待处理" in await refusal(
        handle, LearnerJourney.rule_dispute, replace(ruling, record_no=conceded)
    )
    await handle.execute_update(LearnerJourney.rule_dispute, ruling)
    await harness.sleep(timedelta(days=4))  # the school never answers the third
    view = await until(handle, lambda v: v.state.records[-1].status == "voided")
    status = {r.record_no: (r.status, r.decided_by) for r in view.state.records}
    assert status[contested] == ("confirmed", "U-rizhao")
    assert status[conceded] == ("voided", "U-school1")
    assert status[ignored] == ("voided", "auto")
    field = view.state.subjects["field"]
    assert (field.confirmed_minutes, field.counted_minutes) == (120, 120)
    assert view.state.money.released_fen == SERVICES + 40000 + 2 * FIELD_RATE
    harness.assert_ledger_matches_bank(handle.id, held=view.state.money.held_fen)
    await harness.keep_history(handle, "disputes")


async def test_enrolment_without_progress_lapses(harness: Harness) -> None:
    handle = await to_health_check(harness)  # and then nothing: no check is ever booked
    await harness.sleep(timedelta(days=91))
    result = await handle.result()
    assert (result.status, result.end_reason) == ("rejected", "报名后长期未推进，报名已失效")
    assert ("withdraw", result.learner_no) in harness.fakes.calls


async def test_school_cancellation_credit_reaches_the_learner_with_no_later_release(
    harness: Harness,
) -> None:
    handle = await to_field(harness)
    booking = await book(harness, handle, await next_hour(harness, days=3))
    await handle.signal(LearnerJourney.school_cancelled, SchoolCancelled(booking, "教练生病"))
    await until(handle, lambda v: v.state.credit_fen > 0)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    result = await handle.result()
    credit = policy().training.school_cancel_credit_fen
    earned = SERVICES + 40000
    assert result.money.released_fen == earned - credit
    assert result.money.refunded_fen == C1_TUITION - earned + credit
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await harness.keep_history(handle, "school_cancellation_credit_clawed_back")


async def test_exam_dates_are_bounded_and_a_booking_can_be_cancelled(harness: Harness) -> None:
    handle = await to_training(harness)
    await train_theory_like(harness, handle, "theory")
    await pass_stage_report(handle, "theory")
    far = (await today(harness) + timedelta(days=61)).isoformat()
    assert "60 天以内" in await refusal(handle, LearnerJourney.book_exam, BookExam("theory", far))
    assert "没有待考" in await refusal(handle, LearnerJourney.cancel_exam, CancelExam("theory"))
    soon = (await today(harness) + timedelta(days=3)).isoformat()
    booking = (
        await handle.execute_update(LearnerJourney.book_exam, BookExam("theory", soon))
    ).booking_id
    cancelled = await handle.execute_update(LearnerJourney.cancel_exam, CancelExam("theory"))
    exam = (await current_view(handle)).state.subjects["theory"].exam
    assert (exam.booking_id, exam.bookings) == ("", 0)
    assert ("exam_cancel", booking) in harness.fakes.calls
    # Cancelled again (a second click): the same answer, nothing more cancelled.
    again = await handle.execute_update(LearnerJourney.cancel_exam, CancelExam("theory"))
    assert (again.action, again.repeat, cancelled.repeat) == ("exam_cancelled", True, False)
    assert (await current_view(handle)).state.subjects["theory"].exam == exam
    assert [c for c in harness.fakes.calls if c[0] == "exam_cancel"] == [("exam_cancel", booking)]
    await sit_exam(harness, handle, "theory", await today(harness) + timedelta(days=4))


async def test_a_tuition_order_paid_after_another_is_refunded_whole(harness: Harness) -> None:
    """The first order lapses, the learner pays a second, then the channel delivers the
    first after all: the learner paid twice, and the second tuition goes straight back."""
    handle = await to_payment(harness)
    first = await handle.execute_update(LearnerJourney.create_payment, CreatePayment("unionpay"))
    await harness.sleep(timedelta(days=2))  # the policy's payment expiry is one day
    await until(handle, lambda v: v.state.orders[-1].status == "expired")
    await pay(harness, handle)
    await until(handle, lambda v: v.state.stage == "theory")
    harness.fakes.bank_paid(first.order_id, handle.id)
    late = await paid_callback(harness, first.order_id, "TXN-late")
    await handle.signal(LearnerJourney.payment_callback, late)
    view = await until(handle, lambda v: v.state.money.refunded_fen > 0)
    money = view.state.money
    assert (money.deposited_fen, money.refunded_fen) == (2 * C1_TUITION, C1_TUITION)
    assert money.held_fen == C1_TUITION - SERVICES
    harness.assert_ledger_matches_bank(handle.id, held=C1_TUITION - SERVICES)
