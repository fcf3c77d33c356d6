"""Health-check centres: slots, booking, fee payment, cancellation, result callbacks."""

from datetime import datetime

import httpx
from fastapi import FastAPI

from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import Receiver, id_number

DAY = "2030-03-04"
SLOT = f"{DAY}T09:30:00+08:00"


def booking(booking_id: str = "b-1", slot: str = SLOT, fee: int = 6000) -> dict:
    return {
        "booking_id": booking_id,
        "centre_id": "centre-1",
        "learner_ref": f"journey-{booking_id}",
        "name": "李四",
        "id_number": id_number(3),
        "slot": slot,
        "fee_fen": fee,
        "callback_url": HOOK,
    }


async def book_and_pay(client: httpx.AsyncClient, booking_id: str = "b-1") -> None:
    assert (await client.post("/bookings", json=booking(booking_id))).status_code == 201
    r = await client.post(
        f"/bookings/{booking_id}/pay", json={"payment_id": f"p-{booking_id}", "amount_fen": 6000}
    )
    assert r.status_code == 200, r.text


async def test_slots_and_slot_full(health_client: httpx.AsyncClient):
    slots = (await health_client.get("/centres/centre-1/slots", params={"date": DAY})).json()
    assert [s["slot"][11:16] for s in slots] == [
        "08:00",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    assert all(s["remaining"] == 5 for s in slots)

    for i in range(5):
        assert (await health_client.post("/bookings", json=booking(f"b-{i}"))).status_code == 201
    full = await health_client.post("/bookings", json=booking("b-5"))
    assert full.status_code == 409 and full.json()["detail"]["code"] == "slot_full"
    # A naive time is China time: the same slot.
    naive = await health_client.post("/bookings", json=booking("b-5", slot=f"{DAY}T09:30:00"))
    assert naive.status_code == 409

    slots = (await health_client.get("/centres/centre-1/slots", params={"date": DAY})).json()
    assert {s["slot"][11:16]: s["remaining"] for s in slots}["09:30"] == 0
    other = await health_client.get("/centres/centre-2/slots", params={"date": DAY})
    assert all(s["remaining"] == 5 for s in other.json())

    assert (await health_client.post("/bookings/b-0/cancel")).json()["status"] == "cancelled"
    assert (await health_client.post("/bookings", json=booking("b-5"))).status_code == 201

    bad = await health_client.post("/bookings", json=booking("b-6", slot=f"{DAY}T12:00:00+08:00"))
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid_slot"


async def test_booking_idempotency(health_client: httpx.AsyncClient):
    first = await health_client.post("/bookings", json=booking())
    assert first.status_code == 201
    assert first.json()["status"] == "booked" and first.json()["fee_fen"] == 6000
    again = await health_client.post("/bookings", json=booking())
    assert (again.status_code, again.json()) == (200, first.json())
    conflict = await health_client.post("/bookings", json=booking(fee=7000))
    assert conflict.status_code == 409


async def test_pay_checks_amount_and_is_idempotent(health_client: httpx.AsyncClient):
    await health_client.post("/bookings", json=booking())
    wrong = await health_client.post("/bookings/b-1/pay", json={"payment_id": "p", "amount_fen": 1})
    assert wrong.status_code == 422
    assert wrong.json()["detail"]["code"] == "amount_mismatch"
    assert wrong.json()["detail"]["expected_fen"] == 6000

    ok = await health_client.post("/bookings/b-1/pay", json={"payment_id": "p", "amount_fen": 6000})
    assert (ok.status_code, ok.json()["status"]) == (200, "paid")
    again = await health_client.post(
        "/bookings/b-1/pay", json={"payment_id": "p", "amount_fen": 6000}
    )
    assert (again.status_code, again.json()) == (200, ok.json())
    second = await health_client.post(
        "/bookings/b-1/pay", json={"payment_id": "p2", "amount_fen": 6000}
    )
    assert second.status_code == 409 and second.json()["detail"]["code"] == "already_paid"
    assert (
        await health_client.post(
            "/bookings/missing/pay", json={"payment_id": "p3", "amount_fen": 6000}
        )
    ).status_code == 404


async def test_result_callback_and_cancel_rules(
    health_app: FastAPI, health_client: httpx.AsyncClient, receiver: Receiver
):
    await health_client.post("/bookings", json=booking())
    unpaid = await health_client.post("/_simulate/bookings/b-1/result", json={"passed": True})
    assert unpaid.status_code == 409 and unpaid.json()["detail"]["code"] == "not_paid"
    await health_client.post("/bookings/b-1/pay", json={"payment_id": "p", "amount_fen": 6000})

    no_reason = await health_client.post("/_simulate/bookings/b-1/result", json={"passed": False})
    assert no_reason.status_code == 422
    # A full outage does not stop the doctor: simulate endpoints ignore faults.
    await health_client.put("/_faults", json={"error_rate": 1})
    r = await health_client.post(
        "/_simulate/bookings/b-1/result",
        json={"passed": False, "items": {"colour_vision": "红绿色盲"}, "reason": "色盲"},
    )
    assert r.status_code == 200 and r.json()["status"] == "examined"
    await health_client.put("/_faults", json={"error_rate": 0})
    await health_app.state.callbacks.drain()

    (payload,) = receiver.payloads("health.result")
    assert payload == {
        "event": "health.result",
        "booking_id": "b-1",
        "learner_ref": "journey-b-1",
        "passed": False,
        "items": {"colour_vision": "红绿色盲"},
        "reason": "色盲",
        "examined_at": payload["examined_at"],
    }
    assert datetime.fromisoformat(payload["examined_at"]).utcoffset().total_seconds() == 0

    assert (await health_client.post("/bookings/b-1/cancel")).status_code == 409
    twice = await health_client.post("/_simulate/bookings/b-1/result", json={"passed": True})
    assert twice.status_code == 409
    record = (await health_client.get("/bookings/b-1")).json()
    assert record["passed"] is False and record["items"] == {"colour_vision": "红绿色盲"}


async def test_cancel_paid_booking_refunds_fee(health_client: httpx.AsyncClient):
    await book_and_pay(health_client)
    r = await health_client.post("/bookings/b-1/cancel")
    assert r.json() == {"booking_id": "b-1", "status": "cancelled", "refunded_fen": 6000}
    assert (await health_client.post("/bookings/b-1/cancel")).json()["refunded_fen"] == 6000
    r = await health_client.post("/_simulate/bookings/b-1/result", json={"passed": True})
    assert r.status_code == 409


async def test_auto_result(
    health_app: FastAPI, health_client: httpx.AsyncClient, receiver: Receiver
):
    r = await health_client.put("/_settings", json={"auto_result_seconds": 0.05})
    assert r.json() == {"auto_result_seconds": 0.05}
    await book_and_pay(health_client)
    await health_app.state.callbacks.drain()
    record = (await health_client.get("/bookings/b-1")).json()
    assert record["status"] == "examined" and record["passed"] is True
    (payload,) = receiver.payloads("health.result")
    assert payload["passed"] is True and payload["learner_ref"] == "journey-b-1"
