"""Timing platform: filing, training records from terminals, and the terminals' faults."""

import time
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
from fastapi import FastAPI

from subsystems import timing
from subsystems.common import SimOptions
from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import SECRET, Receiver

START = "2030-03-04T09:00:00+08:00"


async def file_all(client: httpx.AsyncClient) -> dict[str, str]:
    """Files learners L1 (C1) and L2 (C2), coach c-1 and vehicles v-1, v-2; returns terminals."""
    for no, cls in (("L1", "C1"), ("L2", "C2")):
        r = await client.post(
            "/learners",
            json={
                "request_id": f"f-{no}",
                "learner_no": no,
                "school_id": "s-1",
                "name": "王五",
                "vehicle_class": cls,
            },
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        "/coaches", json={"request_id": "f-c1", "coach_id": "c-1", "school_id": "s-1", "name": "刘"}
    )
    assert r.status_code == 201, r.text
    terminals = {}
    for vid, plate in (("v-1", "鲁L1234学"), ("v-2", "鲁L5678学")):
        r = await client.post(
            "/vehicles",
            json={"request_id": f"f-{vid}", "vehicle_id": vid, "plate": plate, "school_id": "s-1"},
        )
        assert r.status_code == 201, r.text
        terminals[vid] = r.json()["terminal_no"]
    return terminals


def session(session_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "learner_no": "L1",
        "journey_ref": "j-1",
        "coach_id": "c-1",
        "vehicle_id": "v-1",
        "subject": "field",
        "mode": "practical",
        "start": START,
        "minutes": 60,
        "callback_url": HOOK,
        **changes,
    }


async def simulate(client: httpx.AsyncClient, session_id: str, **changes: Any) -> dict[str, Any]:
    r = await client.post("/_simulate/sessions", json=session(session_id, **changes))
    assert r.status_code == 201, r.text
    return r.json()


def photo_offsets(record: dict[str, Any]) -> list[int]:
    start = datetime.fromisoformat(record["start"])
    return [
        int((datetime.fromisoformat(p["at"]) - start) / timedelta(minutes=1))
        for p in record["photo_checks"]
    ]


async def test_filing_is_idempotent(timing_client: httpx.AsyncClient):
    terminals = await file_all(timing_client)
    for terminal_no in terminals.values():
        assert len(terminal_no) == 16 and terminal_no.isdigit() and terminal_no[0] == "1"
    assert terminals["v-1"] != terminals["v-2"]

    body = {"request_id": "f-v-1", "vehicle_id": "v-1", "plate": "鲁L1234学", "school_id": "s-1"}
    again = await timing_client.post("/vehicles", json=body)
    assert again.status_code == 200 and again.json()["terminal_no"] == terminals["v-1"]
    conflict = await timing_client.post("/vehicles", json={**body, "plate": "鲁L0000学"})
    assert conflict.json()["detail"]["code"] == "idempotency_conflict"
    # A re-filing (new request id) updates the vehicle; its terminal stays in the car.
    refile = await timing_client.post(
        "/vehicles", json={**body, "request_id": "f-v-1b", "plate": "鲁L0000学"}
    )
    assert refile.status_code == 200
    assert refile.json() == {
        "vehicle_id": "v-1",
        "plate": "鲁L0000学",
        "terminal_no": terminals["v-1"],
        "status": "filed",
    }

    bad = {"request_id": "x", "learner_no": "L9", "school_id": "s", "name": "n"}
    r = await timing_client.post("/learners", json={**bad, "vehicle_class": "Z9"})
    assert r.status_code == 422
    r = await timing_client.post("/learners", json={**bad, "vehicle_class": " c1 "})
    assert r.status_code == 201 and r.json() == {"learner_no": "L9", "status": "filed"}


async def test_record_numbers_course_codes_and_callback(
    timing_app: FastAPI, timing_client: httpx.AsyncClient, receiver: Receiver
):
    terminals = await file_all(timing_client)
    first = await simulate(timing_client, "s-1")
    assert first["record_no"] == terminals["v-1"] + "300304" + "0001"
    assert len(first["record_no"]) == 26
    # practical (1), C1 (21), part 2 (2), item 01, reserved 0000
    assert first["course_code"] == "1212010000"
    assert first["start"] == START and first["end"] == "2030-03-04T10:00:00+08:00"
    assert (first["total_minutes"], first["valid_minutes"], first["invalid_minutes"]) == (60, 60, 0)
    assert first["status"] == "valid" and first["invalid_reason"] is None
    assert first["gps_ok"] is True

    offsets = photo_offsets(first)
    assert offsets[0] == 0 and offsets[-1] == 60
    gaps = [b - a for a, b in pairwise(offsets)]
    assert all(9 <= g <= 15 for g in gaps[:-1]) and 1 <= gaps[-1] <= 15
    assert all(p["matched"] and 0 <= p["confidence"] <= 100 for p in first["photo_checks"])

    # The daily sequence counts per terminal and per China-time day.
    assert (await simulate(timing_client, "s-2"))["record_no"][-10:] == "3003040002"
    next_day = await simulate(timing_client, "s-3", start="2030-03-04T16:30:00Z")
    assert next_day["record_no"] == terminals["v-1"] + "3003050001"
    assert next_day["start"] == "2030-03-05T00:30:00+08:00"
    naive = await simulate(timing_client, "s-4", start="2030-03-05T08:00:00")
    assert naive["record_no"][-10:] == "3003050002"
    other_car = await simulate(timing_client, "s-5", vehicle_id="v-2", subject="road", item=3)
    assert other_car["record_no"] == terminals["v-2"] + "3003040001"
    assert other_car["course_code"] == "1213030000"

    classroom = await simulate(
        timing_client, "s-6", learner_no="L2", vehicle_id=None, subject="theory", mode="classroom"
    )
    assert classroom["course_code"] == "2221010000" and classroom["vehicle_id"] is None
    assert classroom["record_no"][0] == "2" and classroom["record_no"][-4:] == "0001"
    remote = await simulate(
        timing_client, "s-7", vehicle_id=None, subject="safety", mode="remote", item=12
    )
    assert remote["course_code"] == "4214120000" and remote["record_no"][0] == "4"
    simulator = await simulate(timing_client, "s-8", vehicle_id=None, mode="simulator")
    assert simulator["course_code"] == "3212010000"

    await timing_app.state.callbacks.drain()
    payloads = receiver.payloads("training.record")
    assert len(payloads) == 8
    assert payloads[0] == {"event": "training.record", **first}

    listed = (await timing_client.get("/records", params={"journey_ref": "j-1"})).json()
    assert len(listed) == 8 and listed[0] == first
    assert (await timing_client.get("/records", params={"journey_ref": "nope"})).json() == []
    assert (await timing_client.get(f"/records/{first['record_no']}")).json() == first
    assert (await timing_client.get("/records/missing")).status_code == 404


async def test_valid_and_invalid_minutes(timing_client: httpx.AsyncClient):
    await file_all(timing_client)
    face = await simulate(
        timing_client, "s-1", minutes=45, invalid_minutes=10, invalid_reason="人脸比对失败"
    )
    assert (face["valid_minutes"], face["invalid_minutes"], face["status"]) == (
        35,
        10,
        "partly_valid",
    )
    assert face["invalid_reason"] == "人脸比对失败" and face["gps_ok"] is True
    # The failed check is at minute 35; it and every later photo failed.
    offsets = photo_offsets(face)
    assert 35 in offsets
    for at, photo in zip(offsets, face["photo_checks"], strict=True):
        assert photo["matched"] is (at < 35)
        assert (photo["confidence"] >= 60) is photo["matched"]

    area = await simulate(
        timing_client, "s-2", minutes=30, invalid_minutes=30, invalid_reason="超出教学区域"
    )
    assert (area["valid_minutes"], area["status"], area["gps_ok"]) == (0, "invalid", False)
    assert all(p["matched"] for p in area["photo_checks"])

    for bad in (
        {"invalid_minutes": 61, "invalid_reason": "x"},
        {"invalid_minutes": 5},
        {"minutes": 0},
        {"vehicle_id": None},  # practical without a car
        {"subject": "theory"},  # theory is not taught in the car
        {"mode": "classroom"},  # nor field work in a classroom
        {"subject": "swimming"},
    ):
        r = await timing_client.post("/_simulate/sessions", json=session("bad", **bad))
        assert r.status_code == 422, bad

    for field, value in (("learner_no", "L404"), ("coach_id", "c-404"), ("vehicle_id", "v-404")):
        r = await timing_client.post("/_simulate/sessions", json=session("nf", **{field: value}))
        assert r.status_code == 409 and r.json()["detail"]["code"] == "not_filed"


async def test_session_idempotency(
    timing_app: FastAPI, timing_client: httpx.AsyncClient, receiver: Receiver
):
    await file_all(timing_client)
    first = await simulate(timing_client, "s-1")
    again = await timing_client.post("/_simulate/sessions", json=session("s-1"))
    assert (again.status_code, again.json()) == (200, first)
    changed = await timing_client.post("/_simulate/sessions", json=session("s-1", minutes=59))
    assert changed.status_code == 409
    assert changed.json()["detail"]["code"] == "idempotency_conflict"
    await timing_app.state.callbacks.drain()
    assert len(receiver.payloads("training.record")) == 1


async def run_sessions(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    await file_all(client)
    return [await simulate(client, f"s-{i}", minutes=50) for i in range(count)]


async def test_invalid_rate_is_seeded(timing_client: httpx.AsyncClient, options: SimOptions):
    r = await timing_client.put("/_settings", json={"invalid_rate": 0.5, "seed": 7})
    assert r.json() == {
        "late_records_ms": 0,
        "duplicate_records": 0,
        "invalid_rate": 0.5,
        "seed": 7,
    }
    records = await run_sessions(timing_client, 30)
    voided = [r for r in records if r["invalid_minutes"]]
    assert 5 <= len(voided) <= 25
    for r in voided:
        assert r["invalid_reason"] in ("人脸比对失败", "超出教学区域")
        assert 1 <= r["invalid_minutes"] <= 50
        assert r["valid_minutes"] + r["invalid_minutes"] == 50
        assert r["status"] == ("invalid" if r["valid_minutes"] == 0 else "partly_valid")
        assert r["gps_ok"] is (r["invalid_reason"] != "超出教学区域")
    assert all(r["status"] == "valid" for r in records if not r["invalid_minutes"])

    # The same seed gives the same records in a fresh simulator; another seed does not.
    same = await fresh_records(options, {"invalid_rate": 0.5, "seed": 7})
    assert [r["invalid_minutes"] for r in same] == [r["invalid_minutes"] for r in records]
    assert [r["photo_checks"] for r in same] == [r["photo_checks"] for r in records]
    other = await fresh_records(options, {"invalid_rate": 0.5, "seed": 8})
    assert [r["invalid_minutes"] for r in other] != [r["invalid_minutes"] for r in records]


async def fresh_records(options: SimOptions, settings: dict[str, Any]) -> list[dict[str, Any]]:
    app = timing.create_app(":memory:", SECRET, options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.put("/_settings", json=settings)
        records = await run_sessions(c, 30)
    await app.state.sim.aclose()
    return records


async def test_invalid_rate_bounds_and_caller_minutes(timing_client: httpx.AsyncClient):
    await file_all(timing_client)
    await timing_client.put("/_settings", json={"invalid_rate": 1})
    voided = await simulate(timing_client, "s-1")
    assert voided["invalid_minutes"] >= 1 and voided["status"] != "valid"
    # The caller's own verdict stands.
    own = await simulate(timing_client, "s-2", invalid_minutes=3, invalid_reason="超出教学区域")
    assert (own["invalid_minutes"], own["invalid_reason"]) == (3, "超出教学区域")
    await timing_client.put("/_settings", json={"invalid_rate": 0})
    assert (await simulate(timing_client, "s-3"))["status"] == "valid"

    for bad in ({"invalid_rate": 1.5}, {"duplicate_records": -1}, {"no_such": 1}):
        assert (await timing_client.put("/_settings", json=bad)).status_code == 422
    assert (await timing_client.get("/_settings")).json()["invalid_rate"] == 0


async def test_duplicate_and_late_records(
    timing_app: FastAPI, timing_client: httpx.AsyncClient, receiver: Receiver
):
    await file_all(timing_client)
    await timing_client.put("/_settings", json={"duplicate_records": 2})
    await timing_client.put("/_faults", json={"duplicate_callbacks": 1})
    record = await simulate(timing_client, "s-1")
    await timing_app.state.callbacks.drain()
    copies = receiver.received
    assert len(copies) == 4
    assert {c["callback_id"] for c in copies} == {copies[0]["callback_id"]}
    assert all(c["payload"]["record_no"] == record["record_no"] for c in copies)

    receiver.received.clear()
    await timing_client.put("/_faults", json={"duplicate_callbacks": 0})
    await timing_client.put("/_settings", json={"duplicate_records": 0, "late_records_ms": 200})
    began = time.monotonic()
    await simulate(timing_client, "s-2")
    assert receiver.received == []
    await timing_app.state.callbacks.drain()
    assert time.monotonic() - began >= 0.2
    assert len(receiver.payloads("training.record")) == 1


async def test_faults_spare_the_terminal(timing_client: httpx.AsyncClient):
    await file_all(timing_client)
    await timing_client.put("/_faults", json={"error_rate": 1})
    r = await timing_client.post(
        "/coaches", json={"request_id": "f-c2", "coach_id": "c-2", "school_id": "s", "name": "n"}
    )
    assert r.status_code == 503
    assert (await timing_client.get("/records")).status_code == 503
    # The lesson happened: the terminal uploads it whatever the platform's faults.
    assert (await timing_client.post("/_simulate/sessions", json=session("s-1"))).status_code == 201
