"""Property: whatever learners, schools and the bank do, in any order, no fen is lost or moved
twice. For any sequence of sessions, confirmations, disputes and answers, cancellations on
both sides, top-ups paid or not (or paid otherwise than ordered, refused and handed back),
duplicate callbacks, passing days, then a withdrawal, a transfer or nothing: per learner
deposited = held + released + refunded, the platform's ledger equals the bank simulator's own
books, and an ended journey holds nothing."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.bank import BankActivities
from activities.http import SubsystemClient
from core.config import DEMO_WEBHOOK_SECRETS
from models.ledger import LedgerEntry
from subsystems.runner import Simulators, run_simulators
from tests import servers
from tests.factories import journey_input, until
from tests.workflows.conftest import Harness, running_harness
from tests.workflows.drive import (
    finish_subject,
    next_hour,
    practical_session,
    publish,
    to_payment,
)
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookSlotRequest,
    CancelBookingRequest,
    CreatePayment,
    DisputeAnswer,
    PaymentCallback,
    RecordDecision,
    SchoolCancelled,
    Transfer,
    Withdraw,
)

SCHOOL = "S371100001"
EXAMPLE_SECONDS = 240  # one generated journey takes a few seconds; a loaded machine, more
ACTIONS = st.one_of(
    st.tuples(st.just("session"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("dispute")),
    st.tuples(st.just("answer"), st.booleans()),
    st.tuples(st.just("school_cancel")),
    st.tuples(st.just("learner_cancel")),
    st.tuples(st.just("topup"), st.integers(1, 50_000), st.booleans(), st.integers(1, 3)),
    # A top-up the channel settles for another amount: refused and handed back.
    st.tuples(st.just("topup_otherwise"), st.integers(1, 50_000), st.integers(1, 50_000)),
    st.tuples(st.just("sleep"), st.integers(1, 5)),
)


@pytest.fixture
async def bank_sim() -> AsyncIterator[Simulators]:
    async with run_simulators(None, DEMO_WEBHOOK_SECRETS) as sims:
        yield sims


class Bank:
    """The bank simulator's side of payments, and its own books."""

    def __init__(self, sims: Simulators) -> None:
        self.url = sims.urls["bank"]

    async def pay(
        self, h: Harness, handle: WorkflowHandle, order_id: str, times: int, **otherwise: int
    ) -> None:
        """The learner pays (as ordered, or `otherwise`: amount_fen, channel) and the channel
        calls back `times` times with what the bank took."""
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{self.url}/_simulate/orders/{order_id}/pay", params=otherwise)
            assert r.status_code == 200, r.text
            order = (await http.get(f"{self.url}/orders/{order_id}")).json()
        callback = PaymentCallback(
            order_id,
            order["paid_amount_fen"],
            order["bank_txn_id"],
            await h.env.get_current_time(),
            order["account_id"],
            order["paid_channel"],
        )
        for _ in range(times):  # the channel may call back more than once
            await handle.signal(LearnerJourney.payment_callback, callback)

    async def books(self) -> dict[str, list[int]]:
        async with httpx.AsyncClient() as http:
            rows = (await http.get(f"{self.url}/reconciliation")).json()
        return {r["payer_ref"]: [r["deposited"], r["released"], r["refunded"]] for r in rows}


def ledger_books(h: Harness) -> dict[str, list[int]]:
    effect = {"deposit": (1, 0, 0), "release": (0, 1, 0), "refund": (0, 0, 1)}
    effect["clawback"] = (0, -1, 1)
    books: dict[str, list[int]] = {}
    with Session(h.engine) as session:
        for e in session.exec(select(LedgerEntry)):
            row = books.setdefault(e.journey_id, [0, 0, 0])
            for i, sign in enumerate(effect[e.kind.value]):
                row[i] += sign * e.amount_fen
    return books


async def act(h: Harness, bank: Bank, handle: WorkflowHandle, action: tuple) -> None:
    """One thing a person or the bank does; a business refusal is a fine outcome."""
    kind = action[0]
    state = (await until(handle, lambda v: True)).state
    pending = [r.record_no for r in state.records if r.status == "pending" and r.subject == "field"]
    disputed = [r.record_no for r in state.records if r.status == "disputed"]
    try:
        if kind == "session":
            start = await next_hour(h, days=h.next_practical_day())
            await practical_session(h, handle, "field", SCHOOL, start, action[1], action[2])
        elif kind == "dispute" and pending:
            await handle.execute_update(
                LearnerJourney.confirm_record, RecordDecision(pending[-1], "时长不符")
            )
        elif kind == "answer" and disputed:
            answer = DisputeAnswer(disputed[-1], "U-school1", action[1], "已核实")
            await handle.execute_update(LearnerJourney.answer_dispute, answer)
        elif kind in ("school_cancel", "learner_cancel"):
            start = await next_hour(h, days=h.next_practical_day() + 2, hour=14)
            slot = publish(h, SCHOOL, "field", start, 2)
            booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(slot))
            booking = booked.booking_id
            if kind == "school_cancel":
                await handle.signal(
                    LearnerJourney.school_cancelled, SchoolCancelled(booking, "车辆故障")
                )
            else:
                await handle.execute_update(
                    LearnerJourney.cancel_booking, CancelBookingRequest(booking)
                )
        elif kind == "topup":
            created = await handle.execute_update(
                LearnerJourney.create_payment, CreatePayment("wechat", action[1])
            )
            if action[2]:
                await bank.pay(h, handle, created.order_id, action[3])
        elif kind == "topup_otherwise":
            created = await handle.execute_update(
                LearnerJourney.create_payment, CreatePayment("wechat", action[1])
            )
            await bank.pay(h, handle, created.order_id, 1, amount_fen=action[2])
        elif kind == "sleep":
            await h.sleep(action[1] * 86400)
    except WorkflowUpdateFailedError:
        pass


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    actions=st.lists(ACTIONS, max_size=7),
    ending=st.sampled_from(["withdraw", "transfer", "stay"]),
    tuition_callbacks=st.integers(1, 3),
)
@pytest.mark.timeout(1800)
async def test_no_fen_is_lost_whatever_happens(
    tmp_path_factory: pytest.TempPathFactory,
    bank_sim: Simulators,
    actions: list[tuple],
    ending: str,
    tuition_callbacks: int,
) -> None:
    # A server of its own per example (the function-scoped fixture would be shared by all of
    # them): nothing an example leaves behind — a journey, a lock on the clock — reaches the next.
    env = await servers.time_skipping_env()
    try:
        await asyncio.wait_for(
            one_example(env, tmp_path_factory, bank_sim, actions, ending, tuition_callbacks),
            EXAMPLE_SECONDS,  # a stalled example fails as itself, not as the test's time-out
        )
    finally:
        await env.shutdown()


async def one_example(
    env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    bank_sim: Simulators,
    actions: list[tuple],
    ending: str,
    tuition_callbacks: int,
) -> None:
    adapter = BankActivities(
        SubsystemClient("bank", bank_sim.urls["bank"], 5), "http://127.0.0.1:9"
    )
    bank = Bank(bank_sim)
    async with running_harness(env, tmp_path_factory.mktemp("ex"), bank=adapter) as h:
        handle = await to_payment(h)
        created = await handle.execute_update(
            LearnerJourney.create_payment, CreatePayment("alipay")
        )
        await bank.pay(h, handle, created.order_id, tuition_callbacks)
        await finish_subject(h, handle, "theory")
        await until(handle, lambda v: v.state.stage == "field")
        for action in actions:
            await act(h, bank, handle, action)
        if ending == "withdraw":
            await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
        elif ending == "transfer":
            new = journey_input(school_id="S371100002")
            await handle.execute_update(LearnerJourney.transfer, Transfer("离家近", new))
        await h.sleep(30 * 86400)  # every record, dispute and order deadline passes
        state = (await until(handle, lambda v: v.state.waiting_on != "platform")).state
        if ending != "stay":
            state = await handle.result()
        if state.transferred_to:
            # Stopped with the rest when the example ends: a journey left running with no
            # worker would hold the time-skipping server's clock for every later example.
            h.follow(state.transferred_to)
        ledger, books = ledger_books(h), await bank.books()
        m = state.money
        # Refused payments handed back are booked in the ledger as deposited and refunded.
        booked = [m.deposited_fen + m.returned_fen, m.released_fen, m.refunded_fen + m.returned_fen]
        assert ledger[handle.id] == booked
        assert books[handle.id] == ledger[handle.id]
        if ending != "stay":
            assert m.held_fen == 0
