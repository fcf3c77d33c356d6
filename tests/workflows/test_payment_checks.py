"""A payment counts only as the journey ordered it: its order id, amount, escrow account and
channel (issue 12). One that differs is recorded and refused: not booked as paid, nothing held
or released from it. What the bank itself took for the order then decides: taken otherwise
than ordered, it goes straight back to the learner from where it was paid; taken as ordered
(the callback alone was wrong), it is booked; nothing taken, nothing moves. No fen is stuck and
the ledger still equals the bank's books."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.bank import BankActivities
from activities.http import SubsystemClient
from core.config import DEMO_WEBHOOK_SECRETS
from subsystems.runner import Simulators, run_simulators
from tests.factories import C1_TUITION, SERVICES, policy, until
from tests.workflows.conftest import HISTORIES, Harness, keep_history, running_harness
from tests.workflows.drive import paid_callback, pay, to_payment
from tests.workflows.test_money_properties import Bank, ledger_books
from workflows.journey import LearnerJourney
from workflows.journey_state import CreatePayment, JourneyView, PaymentCallback, Withdraw

# Recorded by this code, replayed by test_replay.py; current/ is left as it was recorded.
PAYMENT_CHECK = HISTORIES.parent / "payment_check"


def payment_steps(view: JourneyView) -> list[tuple[str, str]]:
    return [(s.outcome, s.detail) for s in view.state.steps if s.step == "payment"]


async def refusal_settled(handle: WorkflowHandle) -> JourneyView:
    """The view once a refused payment's money has been handed back (or found absent)."""
    settled = ("returned", "nothing_held")
    return await until(handle, lambda v: any(o in settled for o, _ in payment_steps(v)))


async def new_order(h: Harness, handle: WorkflowHandle, channel: str = "alipay") -> str:
    order = await handle.execute_update(LearnerJourney.create_payment, CreatePayment(channel))
    return str(order.order_id)


async def paid_anew_and_withdrawn(h: Harness, handle: WorkflowHandle, history: str) -> None:
    """After a refusal the learner pays a new order as asked; then leaves, refunded in full."""
    await pay(h, handle)
    await booked_then_withdrawn(h, handle, history)


async def paid_as_ordered_and_withdrawn(
    h: Harness, handle: WorkflowHandle, order_id: str, history: str | None
) -> None:
    """The genuine callback for the journey's own order books it as usual; then it leaves."""
    h.fakes.bank_paid(order_id, handle.id)
    await handle.signal(LearnerJourney.payment_callback, await paid_callback(h, order_id))
    await booked_then_withdrawn(h, handle, history)


async def booked_then_withdrawn(h: Harness, handle: WorkflowHandle, history: str | None) -> None:
    """Tuition booked once (training begins); withdrawn, nothing is left held at the bank;
    the history kept under `history` (None: not one of payment_check/'s)."""
    view = await until(handle, lambda v: v.state.stage == "theory")
    assert view.state.money.deposited_fen == C1_TUITION
    h.assert_ledger_matches_bank(handle.id, held=C1_TUITION - SERVICES)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
    result = await handle.result()
    assert result.money.held_fen == 0
    h.assert_ledger_matches_bank(handle.id, held=0)
    if history:
        await keep_history(handle, history, PAYMENT_CHECK)


@pytest.mark.parametrize(
    ("paid", "history"),
    [
        ({"amount_fen": 1}, "amount_differs_refused_and_returned"),
        ({"channel": "wechat"}, "channel_differs_refused_and_returned"),
        ({"account_id": "ESC-S371100002"}, "account_differs_refused_and_returned"),
    ],
    ids=["amount", "channel", "account"],
)
async def test_a_payment_unlike_its_order_is_refused_and_its_money_returned(
    harness: Harness, paid: dict[str, Any], history: str
) -> None:
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    callback = await paid_callback(harness, order_id, **paid)
    harness.fakes.bank_paid(order_id, handle.id, **paid)  # the bank took it so
    await handle.signal(LearnerJourney.payment_callback, callback)
    view = await refusal_settled(handle)
    refused = [d for outcome, d in payment_steps(view) if outcome == "refused"]
    assert len(refused) == 1 and order_id in refused[0]
    assert str(next(iter(paid.values()))) in refused[0]  # what differed, for school and ops
    assert ("returned", order_id) in payment_steps(view)
    money = view.state.money
    assert (money.deposited_fen, money.held_fen, money.returned_fen) == (0, 0, callback.amount_fen)
    assert (view.state.stage, view.state.waiting_on) == ("payment", "learner")
    # Handed back from the account it was paid into, once.
    (back,) = [i for i in harness.fakes.instructions if ":refund:refused-" in i.key]
    assert (back.account_id, back.amount_fen) == (callback.account_id, callback.amount_fen)
    harness.assert_ledger_matches_bank(handle.id, held=0)
    # The same callback again (the channel repeats itself) moves nothing more.
    await handle.signal(LearnerJourney.payment_callback, callback)
    await paid_anew_and_withdrawn(harness, handle, history)
    assert len([i for i in harness.fakes.instructions if ":refund:refused-" in i.key]) == 1


async def test_a_payment_for_an_order_the_journey_never_made_moves_nothing(
    harness: Harness,
) -> None:
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    stranger = replace(await paid_callback(harness, order_id), order_id="journey-other:pay-1")
    await handle.signal(LearnerJourney.payment_callback, stranger)
    view = await refusal_settled(handle)
    assert ("nothing_held", stranger.order_id) in payment_steps(view)
    assert view.state.foreign_orders == [stranger.order_id]
    assert view.state.orders[0].status == "pending"  # its own order is still to be paid
    assert view.state.money.deposited_fen == 0
    assert harness.ledger(handle.id)["deposit"] == 0
    await paid_as_ordered_and_withdrawn(
        harness, handle, order_id, "unknown_order_refused_then_paid"
    )


async def test_a_refused_callback_with_no_money_behind_it_moves_nothing(
    harness: Harness,
) -> None:
    """A callback unlike its order while the bank took nothing for it: refused, nothing
    moves, and the order stays open: paid afterwards, as ordered, it is booked."""
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    garbled = await paid_callback(harness, order_id, amount_fen=C1_TUITION * 2)
    await handle.signal(LearnerJourney.payment_callback, garbled)
    view = await refusal_settled(handle)
    assert ("nothing_held", order_id) in payment_steps(view)
    assert (view.state.orders[0].status, view.state.money.returned_fen) == ("pending", 0)
    assert harness.ledger(handle.id) == {"deposit": 0, "release": 0, "refund": 0, "clawback": 0}
    await paid_as_ordered_and_withdrawn(
        harness, handle, order_id, "refused_with_nothing_held_then_paid"
    )


async def test_a_bank_refusing_to_say_what_it_took_leaves_the_order_open(
    harness: Harness,
) -> None:
    """The bank refuses the lookup of a refused payment (a business answer, not an outage):
    the journey records it and moves nothing, rather than failing on it."""
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    harness.fakes.refuse_payment_lookup = "订单号不存在于本行"
    garbled = await paid_callback(harness, order_id, amount_fen=C1_TUITION * 2)
    await handle.signal(LearnerJourney.payment_callback, garbled)
    view = await refusal_settled(handle)
    assert ("nothing_held", order_id) in payment_steps(view)
    assert view.state.orders[0].status == "pending"
    harness.fakes.refuse_payment_lookup = ""
    await paid_as_ordered_and_withdrawn(harness, handle, order_id, None)


async def test_a_wrong_callback_for_a_payment_taken_as_ordered_books_the_bank_s_record(
    harness: Harness,
) -> None:
    """The learner paid as ordered but the callback says otherwise: the callback is refused,
    and the payment is booked as the bank itself took it (nothing refunded, nothing lost)."""
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    harness.fakes.bank_paid(order_id, handle.id)
    wrong = await paid_callback(harness, order_id, channel="wechat")
    await handle.signal(LearnerJourney.payment_callback, wrong)
    view = await until(handle, lambda v: v.state.stage == "theory")
    assert [o for o, _ in payment_steps(view)][:3] == ["order_created", "refused", "paid"]
    assert (view.state.orders[0].status, view.state.money.returned_fen) == ("paid", 0)
    await booked_then_withdrawn(harness, handle, "wrong_callback_booked_as_the_bank_took_it")


async def test_an_order_found_paid_otherwise_at_expiry_is_refused_and_returned(
    harness: Harness,
) -> None:
    """No callback came; at expiry the bank says the order was paid, but not as ordered."""
    handle = await to_payment(harness)
    order_id = await new_order(harness, handle)
    harness.fakes.paid_before_cancel.add(order_id)
    harness.fakes.bank_paid(order_id, handle.id, amount_fen=5000)
    await harness.sleep(policy().timers.payment_expiry + 5)
    view = await refusal_settled(handle)
    assert view.state.money.returned_fen == 5000
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await paid_anew_and_withdrawn(harness, handle, "found_paid_otherwise_at_expiry")


@pytest.fixture
async def bank_sim() -> AsyncIterator[Simulators]:
    async with run_simulators(None, DEMO_WEBHOOK_SECRETS) as sims:
        yield sims


@pytest.mark.parametrize(
    "paid", [{"amount_fen": 12345}, {"channel": "unionpay"}], ids=["amount", "channel"]
)
async def test_the_bank_simulator_agrees_no_fen_is_stuck(
    ts_env: WorkflowEnvironment, tmp_path: Path, bank_sim: Simulators, paid: dict[str, Any]
) -> None:
    """Against the bank simulator: the channel takes another amount (or channel) than
    ordered; the journey refuses it, the bank hands it back, and the platform's ledger equals
    the bank's own reconciliation, per learner, before and after the learner pays again."""
    url = bank_sim.urls["bank"]
    adapter = BankActivities(SubsystemClient("bank", url, 5), "http://127.0.0.1:9")
    bank = Bank(bank_sim)
    async with running_harness(ts_env, tmp_path, bank=adapter) as h:
        handle = await to_payment(h)
        order_id = await new_order(h, handle)
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{url}/_simulate/orders/{order_id}/pay", params=paid)
            assert r.status_code == 200, r.text
            order = (await http.get(f"{url}/orders/{order_id}")).json()
        callback = PaymentCallback(
            order_id,
            order["paid_amount_fen"],
            order["bank_txn_id"],
            await h.env.get_current_time(),
            order["account_id"],
            order["paid_channel"],
        )
        await handle.signal(LearnerJourney.payment_callback, callback)
        view = await until(handle, lambda v: v.state.money.returned_fen > 0)
        amount = callback.amount_fen
        assert ledger_books(h)[handle.id] == [amount, 0, amount]
        assert (await bank.books())[handle.id] == [amount, 0, amount]
        assert view.state.money.held_fen == 0
        paid_again = await handle.execute_update(
            LearnerJourney.create_payment, CreatePayment("alipay")
        )
        await bank.pay(h, handle, paid_again.order_id, 2)
        await until(handle, lambda v: v.state.stage == "theory")
        await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
        result = await handle.result()
        assert result.money.held_fen == 0
        assert (await bank.books())[handle.id] == ledger_books(h)[handle.id]
