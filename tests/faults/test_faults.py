"""Faults on the real processes (tests/faults/stack.py); each ends with the books balanced.

The scenarios share one set of processes and run in this order; each leaves every process
running, and each learner's journey closed so that the next can enrol again.
"""

import asyncio
import signal
from collections.abc import Awaitable
from typing import Any

from scripts.demo_journey import Demo
from tests.faults.stack import Stack, eventually


async def to_payment(demo: Demo) -> None:
    await demo.enrol()
    await demo.health_check()
    await demo.signing()
    await demo.contract()
    await demo.until(lambda s: s["stage"] == "payment", "the payment stage")


async def withdraw(demo: Demo) -> dict[str, Any]:
    await demo.call(
        "POST",
        demo.journey_url("/withdraw"),
        "withdraw",
        who=demo.learner,
        json={"reason": "搬家"},
    )
    return await demo.until(lambda s: s["stage"] == "closed", "the withdrawal to close")


async def test_worker_killed_between_a_bank_instruction_and_its_receipt(stack: Stack) -> None:
    """The bank executes the enrolment's release and holds its answer; the worker is killed
    then, the answer goes nowhere, and a new worker's retry (same key) is told the same
    transaction: the school is paid once."""
    bank = stack.url("bank")
    demo = stack.demo("learner1")
    await to_payment(demo)
    r = await stack.http.put(f"{bank}/_hold")
    assert r.status_code == 200, r.text
    await demo.pay(None, "缴费", "pay")

    async def executed() -> bool:
        return bool((await stack.http.get(f"{bank}/_hold")).json()["executed"])

    await eventually(executed, "the bank executing the release it holds the answer of")
    stack.stop("worker", signal.SIGKILL)
    held = (await stack.http.post(f"{bank}/_hold/release")).json()["executed"]
    assert held == [f"{demo.wf_id}:release:enrolment-0"]
    await asyncio.to_thread(stack.start, "worker")
    s = await demo.until(lambda s: s["stage"] == "theory", "the journey past payment")
    assert s["money"]["released_fen"] == 30000  # the services fee, once
    await stack.assert_books_balance()
    s = await withdraw(demo)
    await stack.assert_books_balance()
    assert s["money"]["deposited_fen"] == s["money"]["released_fen"] + s["money"]["refunded_fen"]


async def test_temporal_restarted_on_its_file_while_journeys_run(stack: Stack) -> None:
    """Two journeys have just been paid for (releases, invoices and filings under way) when
    the Temporal server stops; meanwhile the API answers reads with a clear 503. Restarted on
    its database file, the server has both journeys, and they go on to the end."""
    demos = [stack.demo("learner1"), stack.demo("learner2")]
    await asyncio.gather(*(to_payment(d) for d in demos))
    await asyncio.gather(*(d.pay(None, "缴费", "pay") for d in demos))
    await asyncio.to_thread(stack.stop, "temporal")
    me = await demos[0].login(demos[0].learner)
    r = await stack.http.get(demos[0].journey_url(), headers=me)
    assert r.status_code == 503, r.text
    await asyncio.to_thread(stack.start, "temporal")
    for d in demos:
        s = await d.until(lambda s: s["stage"] == "theory", "the journey past payment")
        assert s["invoice_no"] and s["money"]["released_fen"] == 30000
    for s in await asyncio.gather(*(withdraw(d) for d in demos)):
        assert (
            s["money"]["deposited_fen"] == s["money"]["released_fen"] + s["money"]["refunded_fen"]
        )
    await stack.assert_books_balance()


async def test_each_subsystem_down_for_a_while_then_back(stack: Stack) -> None:
    """One journey meets each subsystem down (its process stopped, connections refused) where
    it needs it: background work retries until the subsystem is back and the journey goes on;
    a learner's own request that needs it is refused clearly and succeeds when asked again."""
    temporal = await stack.temporal()
    demo = stack.demo("learner1")

    async def retrying(subsystem: str) -> None:
        """Waits until the journey has tried one of `subsystem`'s activities and failed."""

        async def failed_once() -> bool:
            if not demo.wf_id:
                return False
            desc = await temporal.get_workflow_handle(demo.wf_id).describe()
            pending = desc.raw_description.pending_activities
            return any(
                a.activity_type.name.startswith(f"{subsystem}.") and a.attempt >= 2 for a in pending
            )

        await eventually(failed_once, f"a call to {subsystem} retried while it is down")

    async def outage(subsystem: str, step: Awaitable[Any]) -> Any:
        """`step` runs while `subsystem` is down; it is back once the journey's call failed."""
        with stack.down(subsystem):
            task = asyncio.ensure_future(step)
            await retrying(subsystem)
        return await task

    await outage("national", demo.enrol())
    with stack.down("health"):
        s = await demo.state()
        r = await stack.http.post(
            demo.journey_url("/health-check"),
            json={"centre_id": "H371100001", "slot": "2026-12-01T08:30"},
            headers=await demo.login(demo.learner),
        )
        assert r.status_code == 409 and "外部系统暂时不可用" in r.json()["detail"], r.text
        assert (await demo.state())["health"] == s["health"]  # nothing booked, nothing paid
    await demo.health_check()
    await demo.signing()
    await demo.contract()
    await outage("timing", demo.payment())
    await outage("exam", demo.train("theory"))
    s = await demo.state()
    assert s["subjects"]["theory"]["exam"]["passed"], s["subjects"]["theory"]["exam"]
    await outage("bank", withdraw(demo))
    await stack.assert_books_balance()
