"""Issue 8, double clicks: the same Update sent twice at once (each under its own id, as two
browser clicks are) does its work once and both callers get the first one's answer; a
conflicting one sent at the same moment is refused.

"At once" is made deterministic with a gate: the first Update is held inside its handler (in
an activity, holding the journey's lock) until the others have passed their validators."""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage

from tests.factories import SERVICES, current_view, final_state, until
from tests.workflows.conftest import Harness
from tests.workflows.drive import (
    SIGNATURE,
    book,
    next_hour,
    pass_health,
    pass_stage_report,
    pay,
    publish,
    send_record,
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
    BookSlotRequest,
    CancelBookingRequest,
    CancelExam,
    CoachChangeRequest,
    CreatePayment,
    DisputeAnswer,
    DisputeRuling,
    JourneyState,
    NoShowReport,
    RateStage,
    RecordDecision,
    SignContract,
    StaffDecision,
    StageReportAction,
    UpdateOutcome,
    Withdraw,
)

FIELD_RATE = 12000
Call = tuple[Any, Any]  # (the Update, its argument)


async def at_once(
    handle: WorkflowHandle, calls: Sequence[Call], gate: asyncio.Event
) -> list[UpdateOutcome | BaseException]:
    """Sends each Update under its own id, the next only once the last has been accepted (its
    validator passed), while `gate` holds the first handler; then opens the gate. Returns each
    one's answer or refusal."""
    updates = [
        await handle.start_update(
            update, arg, id=uuid.uuid4().hex, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        for update, arg in calls
    ]
    gate.set()
    return await asyncio.gather(*(u.result() for u in updates), return_exceptions=True)


async def while_locked(h: Harness, handle: WorkflowHandle, calls: Sequence[Call]) -> list[Any]:
    """During training: a top-up order held at the bank keeps the journey's lock while `calls`
    pass their validators and wait for it. Returns their answers, not the top-up's."""
    gate = h.fakes.gate("bank.create_order")
    topup = (LearnerJourney.create_payment, CreatePayment("alipay", 5000))
    return (await at_once(handle, [topup, *calls], gate))[1:]


def refused(outcome: object, words: str) -> bool:
    return isinstance(outcome, WorkflowUpdateFailedError) and words in str(outcome.cause)


def calls(h: Harness, kind: str) -> list[str]:
    return [what for k, what in h.fakes.calls if k == kind]


def steps(state: JourneyState, step: str, outcome: str) -> list[str]:
    return [s.detail for s in state.steps if (s.step, s.outcome) == (step, outcome)]


def one_answer(first: object, second: object) -> UpdateOutcome:
    """Both clicks were answered with what the one that did the work did, the other (whichever
    it was) as a repeat of it; each with where the journey stood when it was answered."""
    assert isinstance(first, UpdateOutcome) and isinstance(second, UpdateOutcome), (first, second)
    done, repeat = sorted((first, second), key=lambda outcome: outcome.repeat)
    assert not done.repeat and repeat.repeat
    assert _what(repeat) == _what(done)
    return done


def _what(outcome: UpdateOutcome) -> UpdateOutcome:
    return replace(outcome, stage="", status="", waiting_on="", version=0, repeat=False)


async def state_now(handle: WorkflowHandle) -> JourneyState:
    return (await current_view(handle)).state


# ---- part 1: payment, health check, contract ----------------------------------------------------


async def test_two_payment_clicks_create_one_order(harness: Harness) -> None:
    handle = await to_payment(harness)
    click = (LearnerJourney.create_payment, CreatePayment("alipay"))
    first, second = await at_once(handle, [click, click], harness.fakes.gate("bank.create_order"))
    order = one_answer(first, second)
    assert order.pay_url != "" and order.item_status == "pending"
    assert [o.order_id for o in (await state_now(handle)).orders] == [order.order_id]
    assert calls(harness, "order") == [order.order_id]
    await harness.keep_history(handle, "double_click_payment")


async def test_another_channel_while_an_order_is_being_created_is_refused(
    harness: Harness,
) -> None:
    handle = await to_payment(harness)
    alipay = (LearnerJourney.create_payment, CreatePayment("alipay"))
    wechat = (LearnerJourney.create_payment, CreatePayment("wechat"))
    first, second = await at_once(handle, [alipay, wechat], harness.fakes.gate("bank.create_order"))
    assert isinstance(first, UpdateOutcome) and refused(second, "已有待支付订单")
    assert len(calls(harness, "order")) == 1


async def test_paying_again_while_the_paid_tuition_is_booked_is_refused(harness: Harness) -> None:
    """Paid, and the journey is still at the payment stage releasing the enrolment fees: a
    second click must not open another (empty) order."""
    handle = await to_payment(harness)
    release = harness.fakes.gate("bank.release")
    await pay(harness, handle)
    await until(handle, lambda v: v.state.money.deposited_fen > 0)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(LearnerJourney.create_payment, CreatePayment("alipay"))
    assert "学费已缴清" in str(err.value.cause)
    release.set()
    assert len(calls(harness, "order")) == 1


def health_check(centre_id: str, slot: str) -> Call:
    return LearnerJourney.book_health_check, BookHealthCheck(centre_id, slot, 6000)


async def test_two_health_check_clicks_book_one_appointment(harness: Harness) -> None:
    handle = await to_health_check(harness)
    click = health_check("H371100001", "2026-11-02T08:00")
    first, second = await at_once(handle, [click, click], harness.fakes.gate("health.book_and_pay"))
    booked = one_answer(first, second)
    assert booked.booking_id != ""
    assert calls(harness, "health") == [booked.booking_id]


async def test_a_health_booking_tried_again_after_its_answer_was_lost_keeps_its_key(
    harness: Harness,
) -> None:
    """The centre booked and charged the fee, but its answer never came; the learner is told to
    try again, and the next try is the same booking, not a second one (issue 12, faults)."""
    handle = await to_health_check(harness)
    harness.fakes.health_answers_lost = 3  # every quick try of the first request
    update, arg = health_check("H371100001", "2026-11-02T08:00")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(update, arg)
    booked = await handle.execute_update(update, arg)
    assert set(calls(harness, "health")) == {booked.booking_id}


async def test_another_centre_while_a_check_is_being_booked_is_refused(harness: Harness) -> None:
    handle = await to_health_check(harness)
    here = health_check("H371100001", "2026-11-02T08:00")
    there = health_check("H371100002", "2026-11-02T09:00")
    first, second = await at_once(handle, [here, there], harness.fakes.gate("health.book_and_pay"))
    assert isinstance(first, UpdateOutcome) and refused(second, "已预约体检")
    assert len(calls(harness, "health")) == 1


async def to_contract(h: Harness) -> WorkflowHandle:
    handle = await to_health_check(h)
    await pass_health(h, handle)
    await until(handle, lambda v: v.state.stage == "signing")
    await handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1"))
    await until(handle, lambda v: v.state.contract.preview_sha256 != "")
    return handle


async def test_two_signature_posts_sign_the_contract_once(harness: Harness) -> None:
    handle = await to_contract(harness)
    sign = (LearnerJourney.sign_contract, SignContract(SIGNATURE))
    gate = harness.fakes.gate("documents.render_contract")
    first, second = await at_once(handle, [sign, sign], gate)
    assert one_answer(first, second).action == "contract_signed"
    state = await state_now(handle)
    assert state.contract.signed_sha256 != ""
    assert calls(harness, "contract") == ["preview", "signed"]
    assert len(steps(state, "contract", "signed")) == 1


async def test_another_signature_while_the_contract_is_being_signed_is_refused(
    harness: Harness,
) -> None:
    handle = await to_contract(harness)
    mine = (LearnerJourney.sign_contract, SignContract(SIGNATURE))
    other = (LearnerJourney.sign_contract, SignContract(SIGNATURE + "AAAA"))
    gate = harness.fakes.gate("documents.render_contract")
    first, second = await at_once(handle, [mine, other], gate)
    assert isinstance(first, UpdateOutcome) and refused(second, "合同已签署")
    assert calls(harness, "contract") == ["preview", "signed"]


async def test_two_signing_approvals_give_one_answer(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await pass_health(harness, handle)
    await until(handle, lambda v: v.state.stage == "signing")
    approve = StaffDecision("U-school1")
    first, second = await asyncio.gather(
        handle.execute_update(LearnerJourney.approve_signing, approve),
        handle.execute_update(LearnerJourney.approve_signing, approve),
    )
    assert one_answer(first, second).action == "signing_approved"
    state = await state_now(handle)
    assert state.signing_approved_by == "U-school1"
    assert len(steps(state, "signing", "approved")) == 1


# ---- training: bookings, records, disputes, exams -----------------------------------------------


async def test_two_booking_clicks_book_the_slot_once(harness: Harness) -> None:
    handle = await to_field(harness)
    slot = publish(harness, "S371100001", "field", await next_hour(harness, days=3), 2)
    click = (LearnerJourney.book_slot, BookSlotRequest(slot))
    first, second = await while_locked(harness, handle, [click, click])
    booked = one_answer(first, second)
    state = await state_now(handle)
    assert [b.booking_id for b in state.bookings] == [booked.booking_id]
    assert len(steps(state, "field", "booked")) == 1


async def test_a_booking_waiting_while_the_learner_withdraws_is_refused(harness: Harness) -> None:
    """The booking passed its validator, then waited for the lock; meanwhile the learner
    withdrew. Under the lock it is checked again: no session is booked for a leaving learner."""
    handle = await to_field(harness)
    slot = publish(harness, "S371100001", "field", await next_hour(harness, days=3), 2)
    gate = harness.fakes.gate("bank.create_order")
    topup = await handle.start_update(
        LearnerJourney.create_payment,
        CreatePayment("alipay", 5000),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    booking = await handle.start_update(
        LearnerJourney.book_slot, BookSlotRequest(slot), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    gate.set()
    await topup.result()
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await booking.result()
    assert "旅程已结束" in str(err.value.cause)
    state = await final_state(handle)
    assert state.bookings == [] and state.money.held_fen == 0
    await harness.keep_history(handle, "double_click_refused_after_withdrawal")


async def test_two_cancel_clicks_charge_the_late_fee_once(harness: Harness) -> None:
    handle = await to_field(harness)
    soon = (await harness.env.get_current_time()).replace(
        minute=0, second=0, microsecond=0
    ) + timedelta(hours=3)
    booking = await book(harness, handle, soon)  # within the cut-off: a late cancellation
    click = (LearnerJourney.cancel_booking, CancelBookingRequest(booking))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).amount_fen == FIELD_RATE  # half of two hours
    state = await state_now(handle)
    assert state.due.fees_fen == FIELD_RATE
    assert len(steps(state, "field", "cancelled_by_learner")) == 1
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)


async def test_two_no_show_reports_charge_the_fee_once(harness: Harness) -> None:
    handle = await to_field(harness)
    booking = await book(harness, handle, await next_hour(harness, days=1))
    await harness.sleep(timedelta(days=2))  # the session's time passes; nobody came
    click = (LearnerJourney.report_no_show, NoShowReport(booking, "U-school1"))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).amount_fen == 2 * FIELD_RATE
    state = await state_now(handle)
    assert state.due.fees_fen == 2 * FIELD_RATE
    assert len(steps(state, "field", "no_show")) == 1
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)


async def trained_record(h: Harness, handle: WorkflowHandle) -> str:
    start = await next_hour(h, days=h.next_practical_day())
    booking = await book(h, handle, start)
    return await send_record(h, handle, "field", "practical", start, 120, session_id=booking)


async def test_two_confirm_clicks_pay_the_school_once(harness: Harness) -> None:
    handle = await to_field(harness)
    record_no = await trained_record(harness, handle)
    click = (LearnerJourney.confirm_record, RecordDecision(record_no))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).item_status == "confirmed"
    state = await state_now(handle)
    assert state.subjects["field"].confirmed_minutes == 120
    assert state.due.practical_fen == 2 * FIELD_RATE
    assert state.money.released_fen == SERVICES + 40000 + 2 * FIELD_RATE
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)
    await harness.keep_history(handle, "double_click_confirm_record")


async def test_confirm_and_dispute_at_once_accept_the_first(harness: Harness) -> None:
    handle = await to_field(harness)
    record_no = await trained_record(harness, handle)
    confirm = (LearnerJourney.confirm_record, RecordDecision(record_no))
    dispute = (LearnerJourney.confirm_record, RecordDecision(record_no, "教练未到场"))
    first, second = await while_locked(harness, handle, [confirm, dispute])
    assert isinstance(first, UpdateOutcome) and refused(second, "已确认")
    view = await handle.query(LearnerJourney.view)
    assert view.state.records[-1].status == "confirmed"


async def disputed_record(h: Harness, handle: WorkflowHandle) -> str:
    record_no = await trained_record(h, handle)
    await handle.execute_update(LearnerJourney.confirm_record, RecordDecision(record_no, "未上车"))
    return record_no


async def test_two_concessions_void_the_record_once(harness: Harness) -> None:
    handle = await to_field(harness)
    record_no = await disputed_record(harness, handle)
    click = (LearnerJourney.answer_dispute, DisputeAnswer(record_no, "U-school1", True, "确认缺课"))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).item_status == "voided"
    state = await state_now(handle)
    assert state.subjects["field"].counted_minutes == 0
    assert len(steps(state, "field", "record_voided")) == 1


async def test_two_rulings_pay_the_school_once(harness: Harness) -> None:
    handle = await to_field(harness)
    record_no = await disputed_record(harness, handle)
    await handle.execute_update(
        LearnerJourney.answer_dispute, DisputeAnswer(record_no, "U-school1", False, "有视频")
    )
    ruling = DisputeRuling(record_no, "U-rizhao", uphold_record=True, reason="视频属实")
    click = (LearnerJourney.rule_dispute, ruling)
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).item_status == "confirmed"
    state = await state_now(handle)
    assert state.due.practical_fen == 2 * FIELD_RATE
    assert state.subjects["field"].confirmed_minutes == 120
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)


async def test_two_theory_confirmations_confirm_once(harness: Harness) -> None:
    handle = await to_training(harness)
    await train_theory_like(harness, handle, "theory", confirm=False)
    click = (LearnerJourney.confirm_theory, RateStage("theory", 5, 4, "讲解清楚"))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).action == "stage_confirmed"
    assert len(steps(await state_now(handle), "theory", "confirmed")) == 1


async def eligible_for_theory_exam(h: Harness) -> WorkflowHandle:
    handle = await to_training(h)
    await train_theory_like(h, handle, "theory")
    await pass_stage_report(handle, "theory")
    return handle


async def test_two_exam_booking_clicks_use_one_booking(harness: Harness) -> None:
    handle = await eligible_for_theory_exam(harness)
    exam_date = (await today(harness) + timedelta(days=3)).isoformat()
    click = (LearnerJourney.book_exam, BookExam("theory", exam_date))
    first, second = await while_locked(harness, handle, [click, click])
    booked = one_answer(first, second)
    exam = (await state_now(handle)).subjects["theory"].exam
    assert (exam.bookings, exam.booking_id) == (1, booked.booking_id)
    assert calls(harness, "exam") == [exam.booking_id]


async def test_two_exam_cancel_clicks_give_one_answer(harness: Harness) -> None:
    handle = await eligible_for_theory_exam(harness)
    exam_date = (await today(harness) + timedelta(days=3)).isoformat()
    await handle.execute_update(LearnerJourney.book_exam, BookExam("theory", exam_date))
    click = (LearnerJourney.cancel_exam, CancelExam("theory"))
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).action == "exam_cancelled"
    assert (await state_now(handle)).subjects["theory"].exam.bookings == 0
    assert len(calls(harness, "exam_cancel")) == 1


# ---- actions that change the state at once: a repeat is answered, not refused --------------


async def test_two_stage_report_submissions_give_one_answer(harness: Harness) -> None:
    handle = await to_training(harness)
    await train_theory_like(harness, handle, "theory")
    submit = StageReportAction("theory", "U-school1", role="school_staff")
    first, second = await asyncio.gather(
        handle.execute_update(LearnerJourney.stage_report, submit),
        handle.execute_update(LearnerJourney.stage_report, submit),
    )
    assert one_answer(first, second).item_status == "submitted"
    assert (await state_now(handle)).subjects["theory"].report.submitted_by == "U-school1"


async def test_two_coach_change_requests_and_decisions_give_one_answer(harness: Harness) -> None:
    handle = await to_training(harness)
    change = CoachChangeRequest("S371100001-K2", "李春梅", "沟通不畅")
    first, second = await asyncio.gather(
        handle.execute_update(LearnerJourney.request_coach_change, change),
        handle.execute_update(LearnerJourney.request_coach_change, change),
    )
    assert one_answer(first, second).item_status == "requested"
    approve = StageReportAction("", "U-school1", role="school_staff")
    first, second = await asyncio.gather(
        handle.execute_update(LearnerJourney.decide_coach_change, approve),
        handle.execute_update(LearnerJourney.decide_coach_change, approve),
    )
    assert one_answer(first, second).item_status == "approved"
    state = await state_now(handle)
    assert state.coach_id == "S371100001-K2"
    assert len(steps(state, "coach_change", "requested")) == 1
    assert len(steps(state, "coach_change", "approved")) == 1
    reject = StageReportAction("", "U-school1", approve=False, reason="不同意", role="school_staff")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LearnerJourney.decide_coach_change, reject)


async def test_two_withdrawals_give_one_answer(harness: Harness) -> None:
    handle = await to_training(harness)
    click = (LearnerJourney.withdraw, Withdraw("搬家"))
    # The held lock keeps the journey from closing before the second click arrives.
    first, second = await while_locked(harness, handle, [click, click])
    assert one_answer(first, second).action == "withdrawal_requested"
    assert (await handle.result()).status == "withdrawn"


async def test_two_different_practical_ratings_at_once_keep_the_first(harness: Harness) -> None:
    handle = await to_field(harness)
    good = (LearnerJourney.rate_practical_stage, RateStage("field", 5, 5, "很好"))
    bad = (LearnerJourney.rate_practical_stage, RateStage("field", 1, 1, "很差"))
    first, second = await while_locked(harness, handle, [good, bad])
    assert not isinstance(first, BaseException) and first.action == "stage_rated"
    assert refused(second, "已评价")
    rating = (await state_now(handle)).subjects["field"].rating
    assert rating is not None and (rating.school_stars, rating.comment) == (5, "很好")
