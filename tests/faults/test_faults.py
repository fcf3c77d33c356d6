"""Faults on the real processes (tests/faults/stack.py); each ends with the books balanced.

The scenarios share one set of processes and run in this order; each leaves every process
running, and each learner's journey closed so that the next can enrol again.
"""

import asyncio
import re
import signal
from collections.abc import Awaitable
from typing import Any

import pytest

from models.demo import DEMO_PASSWORD
from scripts.demo_journey import Demo
from tests.faults.stack import Stack, eventually

# Real processes on free ports (tests/faults/stack.py); part of `make test` and CI.
pytestmark = pytest.mark.faults


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
    assert await attempts(stack, demo.wf_id, "bank.release") == [2]  # the retry was told
    await stack.assert_books_balance()
    s = await withdraw(demo)
    await stack.assert_books_balance()
    assert s["money"]["deposited_fen"] == s["money"]["released_fen"] + s["money"]["refunded_fen"]


async def attempts(stack: Stack, wf_id: str, activity: str) -> list[int]:
    """The attempt that completed each call of `activity` in the journey's history."""
    history = await (await stack.temporal()).get_workflow_handle(wf_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id] == activity
    ]


async def test_temporal_restarted_on_its_file_while_journeys_run(stack: Stack) -> None:
    """One journey has just been paid for (its release, invoice and filing under way) when the
    Temporal server stops; the other's learner pays meanwhile, and the bank's callback fails
    (reads answer 503) until the server is back. Restarted on its database
    file, the server has both journeys; the callback lands on a retry and both go to the end."""
    bank = stack.url("bank")
    first, second = stack.demo("learner1"), stack.demo("learner2")
    await asyncio.gather(to_payment(first), to_payment(second))
    await first.pay(None, "缴费", "pay")
    r = await second.call(
        "POST",
        second.journey_url("/payment"),
        "create a payment",
        who=second.learner,
        json={"channel": "unionpay"},
    )
    order_id = r.json()["order_id"]
    await asyncio.to_thread(stack.stop, "temporal")
    r = await stack.http.get(first.journey_url(), headers=await first.login(first.learner))
    assert r.status_code == 503, r.text
    assert (await stack.http.post(f"{bank}/_simulate/orders/{order_id}/pay")).status_code == 200

    async def callback_failed() -> bool:
        sent = (await stack.http.get(f"{bank}/_callbacks")).json()
        mine = [c for c in sent if c["payload"].get("order_id") == order_id]
        assert not any(c["delivered"] for c in mine)
        # Its first try failed: a 503, or no answer before the bank's time-out (the API's
        # Temporal client keeps retrying for a few seconds before it answers 503).
        return any(c["attempts"] >= 2 for c in mine)

    await eventually(callback_failed, "the payment callback failing while the server is down")
    await asyncio.to_thread(stack.start, "temporal")
    for d in (first, second):
        s = await d.until(lambda s: s["stage"] == "theory", "the journey past payment")
        assert s["invoice_no"] and s["money"]["released_fen"] == 30000
    for s in await asyncio.gather(withdraw(first), withdraw(second)):
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

    async def retrying(subsystem: str, wf_id: str = "") -> None:
        """Waits until the journey (or `wf_id`) has tried a call to `subsystem` and failed."""

        async def failed_once() -> bool:
            if not (wf_id or demo.wf_id):
                return False
            desc = await temporal.get_workflow_handle(wf_id or demo.wf_id).describe()
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
    with stack.down("shared"):  # 12328 (and enforcement, SMS): a complaint waits to be filed
        r = await demo.call(
            "POST",
            f"{stack.url('api')}/api/learner/complaints",
            "complain",
            who=demo.learner,
            json={"journey_id": demo.wf_id, "category": "service", "content": "教练多次迟到"},
        )
        complaint = r.json()
        await retrying("complaints12328", complaint["workflow_id"])

    async def delivered() -> bool:
        url = f"{stack.url('api')}/api/learner/complaints/{complaint['id']}"
        r = await demo.call("GET", url, "read the complaint", who=demo.learner)
        return bool(r.json()["case_no"])

    await eventually(delivered, "the complaint filed with 12328")
    await outage("bank", withdraw(demo))
    await stack.assert_books_balance()


ROLE_OF_PORT = {"learner": "learner2", "school": "school1", "gov": "rizhao", "ops": "ops"}


async def test_database_unavailable_to_the_api_for_a_while(stack: Stack) -> None:
    """PostgreSQL stopped under the API: every GET of the OpenAPI, sign-in and an action answer
    at once with a clear 503 (never a 500, never a hang), the action leaves nothing behind,
    and with the database back the same requests are served and the journey goes on."""
    if stack.postgres is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed; CI runs this test")
    demo = stack.demo("learner2")
    await to_payment(demo)
    who = {port: await demo.login(user) for port, user in ROLE_OF_PORT.items()}
    reads = await readable_paths(stack, demo.wf_id)
    await asyncio.to_thread(stack.postgres.stop)
    try:
        answers = {path: await answer(stack, path, who) for path in reads}
        # Each needs the database, if only to know who is asking.
        assert {p: s for p, s in answers.items() if s != 503} == {}
        r = await stack.http.post(
            demo.journey_url("/payment"), json={"channel": "unionpay"}, headers=who["learner"]
        )
        assert r.status_code == 503 and r.json()["code"] == "unavailable", r.text
        r = await stack.http.post(
            f"{stack.url('api')}/api/auth/token",
            data={"username": "learner1", "password": DEMO_PASSWORD},
        )
        assert r.status_code == 503, r.text
    finally:
        await asyncio.to_thread(stack.postgres.start)
    again = {path: await answer(stack, path, who) for path in reads}
    assert not [p for p, status in again.items() if status >= 500], again
    assert (await demo.state())["orders"] == []  # the refused payment left no order
    await demo.payment()
    s = await withdraw(demo)
    assert s["money"]["deposited_fen"] == s["money"]["released_fen"] + s["money"]["refunded_fen"]
    await stack.assert_books_balance()


async def readable_paths(stack: Stack, wf_id: str) -> list[str]:
    """Every GET of the API's OpenAPI, its path parameters filled with a real journey's."""
    spec = (await stack.http.get(f"{stack.url('api')}/openapi.json")).json()
    fill = {"wf_id": wf_id, "school_id": "S371100001"}
    paths = []
    for path, operations in spec["paths"].items():
        if "get" in operations:
            paths.append(re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "x"), path))
    return paths


async def answer(stack: Stack, path: str, who: dict[str, dict[str, str]]) -> int:
    """The status a GET gets, as the port's own role; a time-out fails (a hang)."""
    port = path.split("/")[2] if path.startswith("/api/") else ""
    headers = who.get(port, who["learner"])
    r = await stack.http.get(f"{stack.url('api')}{path}", headers=headers, timeout=15)
    return r.status_code
