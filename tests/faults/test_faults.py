"""Faults on the real processes (tests/faults/stack.py); each ends with the books balanced.

The scenarios share one set of processes and run in this order; each leaves every process
running, and each learner's journey closed so that the next can enrol again.
"""

import asyncio
import signal
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
