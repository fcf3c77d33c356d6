"""Enforcement system: a decision gets a case number, is kept, and is sent signed to the
platform (again if it fails, twice with the duplicate fault); outages hit only the read API."""

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from scripts.demo_history import DEMO_DECISIONS, seed_penalties
from subsystems import enforcement
from subsystems.runner import serve_apps
from tests.subsystems.helpers import Receiver

DECISION = {
    "school_id": "S371100002",
    "coach_id": "S371100002-K1",
    "city_code": "371100",
    "kind": "fine",
    "reason": "未按规定使用计时培训系统",
    "amount_fen": 500000,
    "decided_at": "2026-11-20T10:00:00",
}


async def test_a_decision_is_kept_and_sent_signed(
    enforcement_client: httpx.AsyncClient, enforcement_app: FastAPI, receiver: Receiver
):
    receiver.fail_first = 1  # the platform is down for the first delivery
    r = await enforcement_client.post("/_simulate/penalties", json=DECISION)
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    assert case_no == "ZF3711000000001"
    await enforcement_app.state.callbacks.drain()
    (sent,) = receiver.payloads("penalty.decided")
    assert (sent["case_no"], sent["kind"], sent["amount_fen"]) == (case_no, "fine", 500000)
    assert sent["decided_at"] == "2026-11-20T10:00:00+08:00"
    assert (await enforcement_client.get(f"/penalties/{case_no}")).json()["school_id"] == (
        "S371100002"
    )
    bad = {**DECISION, "kind": "ban"}
    assert (await enforcement_client.post("/_simulate/penalties", json=bad)).status_code == 422


async def test_the_read_api_pages_and_suffers_the_faults(
    enforcement_client: httpx.AsyncClient, enforcement_app: FastAPI, receiver: Receiver
):
    await enforcement_client.put("/_faults", json={"duplicate_callbacks": 1})
    for _ in range(3):
        await enforcement_client.post("/_simulate/penalties", json=DECISION)
    await enforcement_app.state.callbacks.drain()
    assert len(receiver.payloads("penalty.decided")) == 6  # each decision sent twice
    page = (await enforcement_client.get("/penalties", params={"limit": 2})).json()
    assert ([p["seq"] for p in page["items"]], page["more"]) == ([1, 2], True)
    rest = (await enforcement_client.get("/penalties", params={"after": 2})).json()
    assert ([p["seq"] for p in rest["items"]], rest["more"]) == ([3], False)
    await enforcement_client.put("/_faults", json={"error_rate": 1.0})
    assert (await enforcement_client.get("/penalties")).status_code == 503
    # An officer's decision is not a call of the platform's: no fault applies.
    assert (await enforcement_client.post("/_simulate/penalties", json=DECISION)).status_code == 201


async def test_make_runs_demo_penalties_are_decided_once(tmp_path: Path):
    app = enforcement.create_app(str(tmp_path / "enforcement.db"), "secret")
    async with serve_apps({"enforcement": app}) as urls:
        url = urls["enforcement"]
        assert await asyncio.to_thread(seed_penalties, url) == len(DEMO_DECISIONS)
        assert await asyncio.to_thread(seed_penalties, url) == 0  # a second make run
        async with httpx.AsyncClient(base_url=url) as http:
            items = (await http.get("/penalties")).json()["items"]
    assert [p["school_id"] for p in items] == [d["school_id"] for d in DEMO_DECISIONS]
