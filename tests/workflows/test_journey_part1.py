"""Stages 1–5 on the time-skipping server: every branch, and the ledger after each."""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.factories import C1_TUITION, SERVICES, final_state, journey_input, policy, until
from tests.workflows.conftest import Harness
from tests.workflows.drive import pass_health, pay, to_health_check, to_payment
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookHealthCheck,
    CreatePayment,
    HealthResult,
    StaffDecision,
    Withdraw,
)


async def test_happy_path_reaches_theory_with_tuition_in_escrow(harness: Harness) -> None:
    handle = await to_payment(harness)
    await pay(harness, handle, times=3)
    view = await until(handle, lambda v: v.state.stage == "theory")
    s = view.state
    assert s.learner_no == "3711000000000001"
    assert s.contract.signed_sha256 == "signed-sha"
    assert s.tuition_fen == C1_TUITION
    assert s.money.deposited_fen == C1_TUITION and s.invoice_sha256 == "invoice-sha"
    assert [st.outcome for st in s.steps if st.step == "payment"] == [
        "order_created",
        "paid",
        "invoiced",
    ]
    harness.assert_ledger_matches_bank(handle.id, held=C1_TUITION - SERVICES)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
    await handle.result()
    await harness.keep_history(handle, "part1_paid_then_withdrawn")


async def test_national_platform_refusal_ends_the_journey(harness: Harness) -> None:
    harness.fakes.reject_registration = "该身份证号已在其他驾校报名"
    handle = await harness.start(journey_input())
    result = await handle.result()
    assert (result.status, result.stage) == ("rejected", "closed")
    assert result.end_reason == "该身份证号已在其他驾校报名"


async def test_failed_health_check_ends_the_journey_with_its_reason(harness: Harness) -> None:
    handle = await to_health_check(harness)
    booked = await handle.execute_update(
        LearnerJourney.book_health_check, BookHealthCheck("H371100001", "2026-11-02T08:00", 6000)
    )
    await handle.signal(
        LearnerJourney.health_result,
        HealthResult(booked.booking_id, False, await harness.env.get_current_time(), "色盲"),
    )
    result = await handle.result()
    assert (result.status, result.end_reason) == ("failed", "体检不合格：色盲")
    assert ("withdraw", "3711000000000001") in harness.fakes.calls


async def test_health_result_for_another_booking_is_ignored(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await handle.execute_update(
        LearnerJourney.book_health_check, BookHealthCheck("H371100001", "2026-11-02T08:00", 6000)
    )
    await handle.signal(
        LearnerJourney.health_result,
        HealthResult("forged-booking", False, await harness.env.get_current_time(), "x"),
    )
    view = await handle.query(LearnerJourney.view)
    assert view.state.stage == "health_check" and view.state.health.passed is None


async def test_second_booking_while_waiting_for_result(harness: Harness) -> None:
    """The same booking again is answered with the first; another one is refused."""
    handle = await to_health_check(harness)
    booking = BookHealthCheck("H371100001", "2026-11-02T08:00", 6000)
    first = await handle.execute_update(LearnerJourney.book_health_check, booking)
    again = await handle.execute_update(LearnerJourney.book_health_check, booking)
    assert (again.booking_id, again.repeat, first.repeat) == (first.booking_id, True, False)
    assert [c for c in harness.fakes.calls if c[0] == "health"] == [("health", first.booking_id)]
    elsewhere = BookHealthCheck("H371100002", "2026-11-02T08:00", 6000)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(LearnerJourney.book_health_check, elsewhere)
    assert "已预约体检" in str(err.value.cause)


async def test_update_at_the_wrong_stage_is_refused_without_history(harness: Harness) -> None:
    handle = await to_health_check(harness)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1"))
    assert "当前阶段不能办理" in str(err.value.cause)


async def test_signing_rejected_by_the_school(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await pass_health(harness, handle)
    await until(handle, lambda v: v.state.stage == "signing")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LearnerJourney.reject_signing, StaffDecision("U-school1", " "))
    await handle.execute_update(
        LearnerJourney.reject_signing, StaffDecision("U-school1", "本人未到场")
    )
    result = await handle.result()
    assert (result.status, result.end_reason) == ("rejected", "面签未通过：本人未到场")


async def test_signing_not_done_in_time_lapses_after_a_reminder(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await pass_health(harness, handle)
    await until(handle, lambda v: v.state.stage == "signing")
    await harness.sleep(timedelta(days=policy().timers.signing_expiry // 86400 + 1))
    state = await final_state(handle)
    assert state.status == "rejected" and "面签超时" in state.end_reason
    assert ("signing", "reminder") in [(s.step, s.outcome) for s in state.steps]
    await harness.keep_history(handle, "part1_signing_lapsed")


async def test_expired_health_result_forces_a_new_check(harness: Harness) -> None:
    handle = await to_health_check(harness)
    validity = policy().timers.health_validity
    await pass_health(harness, handle, age=timedelta(seconds=validity + 60))
    await until(handle, lambda v: v.state.stage == "signing")
    await handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1"))
    view = await until(handle, lambda v: v.state.stage == "health_check")
    assert ("health_check", "expired") in [(s.step, s.outcome) for s in view.state.steps]
    await pass_health(harness, handle)
    await until(handle, lambda v: v.state.stage == "contract")
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("体检太麻烦"))
    await handle.result()
    await harness.keep_history(handle, "part1_health_expired")


async def test_unpaid_order_expires_and_can_be_reissued(harness: Harness) -> None:
    handle = await to_payment(harness)
    first = await handle.execute_update(LearnerJourney.create_payment, CreatePayment("wechat"))
    # One open order at a time: the same request again is answered with it, another refused.
    again = await handle.execute_update(LearnerJourney.create_payment, CreatePayment("wechat"))
    assert (again.order_id, again.pay_url, again.repeat) == (first.order_id, first.pay_url, True)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LearnerJourney.create_payment, CreatePayment("alipay"))
    await harness.sleep(policy().timers.payment_expiry + 5)
    view = await until(handle, lambda v: v.state.orders[0].status == "expired")
    assert view.state.waiting_on == "learner"
    order_id = await pay(harness, handle)
    assert order_id.endswith(":pay-2")
    await until(handle, lambda v: v.state.stage == "theory")
    harness.assert_ledger_matches_bank(handle.id, held=C1_TUITION - SERVICES)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("不学了"))
    await handle.result()
    await harness.keep_history(handle, "part1_order_expired_and_reissued")


async def test_order_paid_just_before_expiry_is_booked_not_cancelled(harness: Harness) -> None:
    handle = await to_payment(harness)
    order = await handle.execute_update(LearnerJourney.create_payment, CreatePayment("unionpay"))
    order_id = order.order_id
    harness.fakes.paid_before_cancel.add(order_id)
    harness.fakes.bank_paid(order_id, handle.id)
    await harness.sleep(policy().timers.payment_expiry + 5)  # the callback never came
    view = await until(handle, lambda v: v.state.stage == "theory")
    assert view.state.money.deposited_fen == C1_TUITION
    harness.assert_ledger_matches_bank(handle.id, held=C1_TUITION - SERVICES)


async def test_withdrawal_before_payment_refunds_nothing(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("家中有事"))
    result = await handle.result()
    assert (result.status, result.stage) == ("withdrawn", "closed")
    assert harness.ledger(handle.id) == {"deposit": 0, "release": 0, "refund": 0, "clawback": 0}


async def test_withdrawal_after_payment_refunds_everything_through_bank_errors(
    harness: Harness,
) -> None:
    handle = await to_payment(harness)
    await pay(harness, handle)
    await until(handle, lambda v: v.state.stage == "theory")
    harness.fakes.bank_failures_left = 2  # the refund instruction is retried, not repeated
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("工作调动"))
    result = await handle.result()
    assert result.status == "withdrawn"
    assert (result.money.refunded_fen, result.money.held_fen) == (C1_TUITION - SERVICES, 0)
    harness.assert_ledger_matches_bank(handle.id, held=0)


async def test_withdrawal_with_an_open_order_cancels_it(harness: Harness) -> None:
    handle = await to_payment(harness)
    await handle.execute_update(LearnerJourney.create_payment, CreatePayment("alipay"))
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("不学了"))
    state = await final_state(handle)
    assert state.orders[0].status == "expired"
    assert ("cancel", state.orders[0].order_id) in harness.fakes.calls


async def test_withdrawing_twice_is_refused(harness: Harness) -> None:
    handle = await to_health_check(harness)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("a"))
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LearnerJourney.withdraw, Withdraw("b"))
