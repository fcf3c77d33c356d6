"""Faults, callbacks and idempotency machinery shared by every simulator."""

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from subsystems.common import Store, idempotent, reject
from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import Receiver


async def paid_order(client: httpx.AsyncClient, order_id: str = "o-1", amount: int = 500) -> None:
    r = await client.post(
        "/orders",
        json={
            "order_id": order_id,
            "account_id": "school-1",
            "payer_ref": "learner-1",
            "amount_fen": amount,
            "channel": "wechat",
            "callback_url": HOOK,
            "description": "体检费",
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/_simulate/orders/{order_id}/pay")
    assert r.status_code == 200, r.text


async def test_error_rate_one_fails_business_endpoints_only(bank_client: httpx.AsyncClient):
    await paid_order(bank_client)
    r = await bank_client.put("/_faults", json={"error_rate": 1})
    assert r.status_code == 200 and r.json()["error_rate"] == 1

    r = await bank_client.get("/orders/o-1")
    assert r.status_code == 503
    assert r.json() == {"detail": "simulated outage"}
    r = await bank_client.post(
        "/releases",
        json={
            "release_id": "r-1",
            "account_id": "school-1",
            "payer_ref": "learner-1",
            "amount_fen": 100,
        },
    )
    assert r.status_code == 503
    # Admin and "people" endpoints keep working during an outage.
    assert (await bank_client.get("/_health")).status_code == 200
    assert (await bank_client.get("/_faults")).status_code == 200
    assert (await bank_client.get("/pay/o-1")).status_code == 200

    await bank_client.put("/_faults", json={"error_rate": 0})
    # The refused release moved nothing and left no idempotency record: it now runs fresh.
    r = await bank_client.post(
        "/releases",
        json={
            "release_id": "r-1",
            "account_id": "school-1",
            "payer_ref": "learner-1",
            "amount_fen": 100,
        },
    )
    assert r.status_code == 201


async def test_fault_settings_are_validated_and_partially_updated(
    national_client: httpx.AsyncClient,
):
    for bad in (
        {"error_rate": 1.5},
        {"latency_ms": -1},
        {"duplicate_callbacks": -1},
        {"error_rate": None},
        {"no_such_fault": 1},
    ):
        r = await national_client.put("/_faults", json=bad)
        assert r.status_code == 422, bad
    await national_client.put("/_faults", json={"latency_ms": 5})
    await national_client.put("/_faults", json={"duplicate_callbacks": 2})
    faults = (await national_client.get("/_faults")).json()
    assert faults["latency_ms"] == 5
    assert faults["duplicate_callbacks"] == 2
    assert faults["error_rate"] == 0


async def test_seed_makes_fault_draws_repeatable(national_client: httpx.AsyncClient):
    async def statuses() -> list[int]:
        return [(await national_client.get("/learners/L0")).status_code for _ in range(30)]

    await national_client.put("/_faults", json={"error_rate": 0.5, "seed": 7})
    first = await statuses()
    await national_client.put("/_faults", json={"seed": 7})
    assert await statuses() == first
    assert set(first) == {404, 503}


async def test_latency_and_timeout(national_client: httpx.AsyncClient):
    await national_client.put("/_faults", json={"latency_ms": 150})
    started = time.perf_counter()
    assert (await national_client.get("/learners/L0")).status_code == 404
    assert time.perf_counter() - started >= 0.15

    await national_client.put(
        "/_faults", json={"latency_ms": 0, "timeout_rate": 1, "timeout_seconds": 2}
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(national_client.get("/learners/L0"), timeout=0.2)


async def test_callbacks_are_signed_and_duplicated(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    await bank_client.put("/_faults", json={"duplicate_callbacks": 2, "callback_delay_ms": 10})
    await paid_order(bank_client)
    await bank_app.state.callbacks.drain()

    # Receiver only records deliveries whose HMAC verified.
    assert len(receiver.received) == 3
    assert len({r["callback_id"] for r in receiver.received}) == 1
    records = (await bank_client.get("/_callbacks")).json()
    assert [r["copy"] for r in records] == [0, 1, 2]
    assert all(r["delivered"] and r["attempts"] == 1 for r in records)


async def test_callbacks_retry_until_accepted(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    receiver.fail_first = 2
    await paid_order(bank_client)
    await bank_app.state.callbacks.drain()
    assert len(receiver.received) == 1
    (record,) = (await bank_client.get("/_callbacks")).json()
    assert record["delivered"] and record["attempts"] == 3
    # Each attempt is signed afresh with a new nonce: the platform, which refuses a nonce it
    # has seen, takes a retry after a lost answer.
    assert len(set(receiver.nonces)) == 3


async def test_callback_with_wrong_secret_is_refused_and_given_up(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    receiver.secret = "not-the-simulator-secret"
    await paid_order(bank_client)
    await bank_app.state.callbacks.drain()
    assert receiver.received == []
    (record,) = (await bank_client.get("/_callbacks")).json()
    assert not record["delivered"]
    assert record["attempts"] == 5 and record["last_status"] == 401


async def test_the_last_callback_about_a_reference_is_resent_on_request(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    """Ops re-request a callback that seems lost: the same event again, signed afresh."""
    await paid_order(bank_client, "o-1")
    await paid_order(bank_client, "o-2")
    await bank_app.state.callbacks.drain()
    r = await bank_client.post(
        "/_callbacks/resend", json={"ref": "o-1", "journey_ref": "learner-1"}
    )
    assert r.status_code == 200, r.text
    await bank_app.state.callbacks.drain()
    first, _, again = receiver.received
    assert again["payload"] == first["payload"] and again["payload"]["order_id"] == "o-1"
    assert r.json() == {
        "callback_id": again["callback_id"],
        "resent_of": first["callback_id"],
        "event": "payment.succeeded",
    }
    assert again["callback_id"] != first["callback_id"]
    for wrong in ({"ref": "o-3"}, {"ref": "o-1", "journey_ref": "learner-2"}):
        r = await bank_client.post("/_callbacks/resend", json=wrong)
        assert r.status_code == 404 and r.json()["detail"]["code"] == "not_found"
    assert len(receiver.received) == 3


def test_idempotent_runs_once_and_does_not_store_rejections(tmp_path):
    store = Store(str(tmp_path / "x.db"), "CREATE TABLE IF NOT EXISTS t (v INTEGER);")
    calls = []

    def action(conn):
        calls.append(1)
        conn.execute("INSERT INTO t VALUES (1)")
        return 201, {"ok": True}

    first = idempotent(store, "s", "k", {"a": 1}, action)
    again = idempotent(store, "s", "k", {"a": 1}, action)
    assert (first.status_code, first.replayed) == (201, False)
    assert (again.status_code, again.body, again.replayed) == (200, {"ok": True}, True)
    assert len(calls) == 1

    def refuse(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        raise reject(422, "nope", "不行")

    with pytest.raises(HTTPException) as rejected:
        idempotent(store, "s", "k2", {"a": 1}, refuse)
    assert rejected.value.status_code == 422
    # The rejected action's write was rolled back.
    assert [r[0] for r in store.all("SELECT v FROM t")] == [1]
    store.close()
