"""12123 exam system: eligibility gate, bookings, results with retakes, permit, graduates feed."""

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from subsystems import exam12123
from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import Receiver


def eligibility(learner_no: str = "L1", subject: int = 1, request_id: str = "e-1") -> dict:
    return {
        "request_id": request_id,
        "learner_no": learner_no,
        "journey_ref": f"j-{learner_no}",
        "subject": subject,
        "vehicle_class": "C1",
        "school_id": "s-1",
        "stage_report_id": f"sr-{learner_no}-{subject}",
    }


def booking(booking_id: str = "b-1", learner_no: str = "L1", subject: int = 1, **changes) -> dict:
    return {
        "booking_id": booking_id,
        "learner_no": learner_no,
        "subject": subject,
        "exam_date": "2030-03-04",
        "venue": "日照市考试中心",
        "callback_url": HOOK,
        **changes,
    }


async def eligible_booking(
    client: httpx.AsyncClient, booking_id: str, learner_no: str, subject: int, **changes: Any
) -> None:
    r = await client.post(
        "/eligibility", json=eligibility(learner_no, subject, f"e-{learner_no}-{subject}")
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post("/bookings", json=booking(booking_id, learner_no, subject, **changes))
    assert r.status_code == 201, r.text


async def result(client: httpx.AsyncClient, booking_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/_simulate/bookings/{booking_id}/result", json=body)


async def test_eligibility_gate_and_booking_rules(exam_client: httpx.AsyncClient):
    refused = await exam_client.post("/bookings", json=booking())
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "not_eligible"

    granted = await exam_client.post("/eligibility", json=eligibility())
    assert granted.status_code == 201
    assert granted.json() == {"learner_no": "L1", "subject": 1, "status": "eligible"}
    again = await exam_client.post("/eligibility", json=eligibility())
    assert (again.status_code, again.json()) == (200, granted.json())
    conflict = await exam_client.post("/eligibility", json={**eligibility(), "school_id": "s-2"})
    assert conflict.json()["detail"]["code"] == "idempotency_conflict"
    bad = await exam_client.post("/eligibility", json={**eligibility(), "subject": 5})
    assert bad.status_code == 422

    r = await exam_client.post("/bookings", json=booking())
    assert r.status_code == 201
    assert r.json() == {
        "booking_id": "b-1",
        "status": "booked",
        "exam_date": "2030-03-04",
        "venue": "日照市考试中心",
    }
    replay = await exam_client.post("/bookings", json=booking())
    assert (replay.status_code, replay.json()) == (200, r.json())
    changed = await exam_client.post("/bookings", json=booking(exam_date="2030-03-05"))
    assert changed.json()["detail"]["code"] == "idempotency_conflict"

    second = await exam_client.post("/bookings", json=booking("b-2"))
    assert second.status_code == 409
    assert second.json()["detail"] | {"reason": None} == {
        "code": "already_booked",
        "reason": None,
        "booking_id": "b-1",
    }
    # Eligibility is per subject.
    other = await exam_client.post("/bookings", json=booking("b-3", subject=2))
    assert other.json()["detail"]["code"] == "not_eligible"

    cancelled = await exam_client.post("/bookings/b-1/cancel")
    assert cancelled.json() == {"booking_id": "b-1", "status": "cancelled"}
    assert (await exam_client.post("/bookings/b-1/cancel")).status_code == 200
    assert (await exam_client.post("/bookings", json=booking("b-2"))).status_code == 201
    assert (await exam_client.post("/bookings/missing/cancel")).status_code == 404
    stored = (await exam_client.get("/bookings/b-2")).json()
    assert stored["journey_ref"] == "j-L1" and stored["status"] == "booked"


@pytest.mark.parametrize(
    ("subject", "score", "passed"),
    [
        *[(1, 90, True), (1, 89, False), (4, 90, True), (4, 89, False)],
        *[(2, 80, True), (2, 79, False), (3, 80, True), (3, 79, False)],
    ],
)
async def test_derived_pass_marks(
    exam_client: httpx.AsyncClient, subject: int, score: int, passed: bool
):
    await eligible_booking(exam_client, "b-1", "L1", subject)
    r = await result(exam_client, "b-1", score=score)
    assert r.status_code == 200, r.text
    assert r.json()["passed"] is passed
    assert r.json()["attempts"] == [{"score": score, "passed": passed}]


async def test_result_callback_permit_and_retake(
    exam_app: FastAPI, exam_client: httpx.AsyncClient, receiver: Receiver
):
    # Subject 1 failed, then passed in the same-day retake: the permit is issued that day.
    await eligible_booking(exam_client, "b-1", "L1", 1, exam_date="2028-02-29")
    r = await result(exam_client, "b-1", score=85, retake_score=96)
    assert r.status_code == 200, r.text
    # An examiner's explicit verdict beats the mark (an instant-fail item in the road test).
    await eligible_booking(exam_client, "b-2", "L2", 3)
    assert (await result(exam_client, "b-2", score=95, passed=False)).json()["passed"] is False
    # Both attempts failed.
    await eligible_booking(exam_client, "b-3", "L3", 2)
    r = await result(exam_client, "b-3", score=60, retake_score=79)
    assert r.json()["passed"] is False
    # A subject 1 fail, and a subject 2 pass, issue no permit.
    await eligible_booking(exam_client, "b-4", "L4", 1)
    await result(exam_client, "b-4", score=50)
    await eligible_booking(exam_client, "b-5", "L5", 2)
    await result(exam_client, "b-5", score=100)

    await exam_app.state.callbacks.drain()
    by_booking = {p["booking_id"]: p for p in receiver.payloads("exam.result")}
    assert by_booking["b-1"] == {
        "event": "exam.result",
        "booking_id": "b-1",
        "learner_no": "L1",
        "journey_ref": "j-L1",
        "subject": 1,
        "exam_date": "2028-02-29",
        "attempts": [{"score": 85, "passed": False}, {"score": 96, "passed": True}],
        "passed": True,
        "permit_issued_at": "2028-02-29",
        "permit_valid_until": "2031-02-28",
    }
    assert by_booking["b-2"]["attempts"] == [{"score": 95, "passed": False}]
    assert by_booking["b-3"]["attempts"] == [
        {"score": 60, "passed": False},
        {"score": 79, "passed": False},
    ]
    assert by_booking["b-3"]["passed"] is False
    for key in ("b-2", "b-3", "b-4", "b-5"):
        assert by_booking[key]["permit_issued_at"] is None
    assert by_booking["b-5"]["passed"] is True

    stored = (await exam_client.get("/bookings/b-1")).json()
    assert stored["permit_issued_at"] == "2028-02-29" and stored["status"] == "examined"


async def test_result_rules(exam_client: httpx.AsyncClient):
    await eligible_booking(exam_client, "b-1", "L1", 2)
    # No retake after a pass; nothing is stored.
    r = await result(exam_client, "b-1", score=90, retake_score=95)
    assert r.status_code == 422 and r.json()["detail"]["code"] == "retake_not_allowed"
    assert (await exam_client.get("/bookings/b-1")).json()["status"] == "booked"
    assert (await result(exam_client, "b-1", score=101)).status_code == 422

    # Examiners are people: an outage of the system does not stop them.
    await exam_client.put("/_faults", json={"error_rate": 1})
    assert (await result(exam_client, "b-1", score=70)).status_code == 200
    await exam_client.put("/_faults", json={"error_rate": 0})
    twice = await result(exam_client, "b-1", score=90)
    assert twice.status_code == 409 and twice.json()["detail"]["code"] == "result_exists"
    cancel = await exam_client.post("/bookings/b-1/cancel")
    assert cancel.status_code == 409 and cancel.json()["detail"]["code"] == "result_exists"

    # A failed subject may be booked again; a passed one may not.
    assert (await exam_client.post("/bookings", json=booking("b-2", subject=2))).status_code == 201
    await exam_client.post("/bookings/b-2/cancel")
    gone = await result(exam_client, "b-2", score=90)
    assert gone.status_code == 409 and gone.json()["detail"]["code"] == "booking_cancelled"
    assert (await exam_client.post("/bookings", json=booking("b-3", subject=2))).status_code == 201
    assert (await result(exam_client, "b-3", score=88)).json()["passed"] is True
    done = await exam_client.post("/bookings", json=booking("b-4", subject=2))
    assert done.status_code == 409 and done.json()["detail"]["code"] == "already_passed"
    assert (await result(exam_client, "missing", score=90)).status_code == 404


async def test_auto_pass(exam_app: FastAPI, exam_client: httpx.AsyncClient, receiver: Receiver):
    r = await exam_client.put("/_settings", json={"auto_pass_seconds": 0.05})
    assert r.json() == {"auto_pass_seconds": 0.05}
    assert (await exam_client.put("/_settings", json={"auto_pass_seconds": -1})).status_code == 422
    await eligible_booking(exam_client, "b-1", "L1", 1)
    await exam_app.state.callbacks.drain()
    (payload,) = receiver.payloads("exam.result")
    assert payload["passed"] is True and payload["attempts"] == [{"score": 100, "passed": True}]
    assert payload["permit_issued_at"] == "2030-03-04"
    assert payload["permit_valid_until"] == "2033-03-04"

    # A booking cancelled before the timer fires gets no result.
    await eligible_booking(exam_client, "b-2", "L2", 2)
    await exam_client.post("/bookings/b-2/cancel")
    await exam_app.state.callbacks.drain()
    assert len(receiver.payloads("exam.result")) == 1
    await exam_client.put("/_settings", json={"auto_pass_seconds": None})
    assert (await exam_client.get("/_settings")).json() == {"auto_pass_seconds": None}


async def test_graduates_feed(exam_client: httpx.AsyncClient):
    assert (await exam_client.get("/graduates/L1/record")).json() == []
    for kind, at, points in (
        ("accident", "2031-05-01T10:00:00+08:00", 0),
        ("violation", "2031-01-02T08:00:00", 6),
    ):
        r = await exam_client.post(
            "/_simulate/violations",
            json={"learner_no": "L1", "kind": kind, "occurred_at": at, "points": points},
        )
        assert r.status_code == 201, r.text
    bad = {"learner_no": "L1", "kind": "parking", "occurred_at": "2031-01-01T00:00:00", "points": 1}
    assert (await exam_client.post("/_simulate/violations", json=bad)).status_code == 422

    record = (await exam_client.get("/graduates/L1/record")).json()
    assert [(r["kind"], r["occurred_at"], r["points"]) for r in record] == [
        ("violation", "2031-01-02T08:00:00+08:00", 6),
        ("accident", "2031-05-01T10:00:00+08:00", 0),
    ]
    assert (await exam_client.get("/graduates/L2/record")).json() == []


async def test_passing_subject_4_issues_the_licence_for_the_school_that_trained(
    exam_client: httpx.AsyncClient,
):
    await eligible_booking(exam_client, "b-4", "L1", 4, exam_date="2030-06-01")
    assert (await result(exam_client, "b-4", score=95)).status_code == 200
    await exam_client.post(
        "/_simulate/violations",
        json={
            "learner_no": "L1",
            "kind": "violation",
            "occurred_at": "2031-01-02T08:00:00",
            "points": 3,
        },
    )
    page = (await exam_client.get("/schools/s-1/driving-records")).json()
    assert [(r["learner_no"], r["licensed_at"], r["severity"]) for r in page["items"]] == [
        ("L1", "2030-06-01", "3")
    ]
    assert (await exam_client.get("/schools/s-2/driving-records")).json()["items"] == []


async def test_a_schools_driving_records_come_in_pages_in_record_order(
    exam_client: httpx.AsyncClient,
):
    for learner, school in (("L1", "s-1"), ("L2", "s-2")):
        r = await exam_client.post(
            "/_simulate/licences",
            json={"learner_no": learner, "school_id": school, "licensed_at": "2029-01-01"},
        )
        assert r.status_code == 201, r.text
    for learner, kind, severity in (
        ("L1", "accident", "injury"),
        ("L2", "violation", None),
        ("L1", "accident", None),
        ("L1", "violation", None),
    ):
        body = {
            "learner_no": learner,
            "kind": kind,
            "occurred_at": "2030-01-01T08:00:00",
            "points": 2,
            "severity": severity,
        }
        assert (await exam_client.post("/_simulate/violations", json=body)).status_code == 201
    url = "/schools/s-1/driving-records"
    first = (await exam_client.get(url, params={"limit": 2})).json()
    assert [(r["record_no"], r["kind"], r["severity"]) for r in first["items"]] == [
        ("12123-0000000001", "accident", "injury"),
        ("12123-0000000003", "accident", "minor"),
    ]
    assert (first["next_after"], first["more"]) == (3, True)
    rest = (await exam_client.get(url, params={"after": 3, "limit": 2})).json()
    assert ([r["record_no"] for r in rest["items"]], rest["more"]) == (["12123-0000000004"], False)
    assert (await exam_client.get(url, params={"limit": 0})).status_code == 422


async def test_a_violations_table_made_before_severity_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE violations (violation_id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " learner_no TEXT NOT NULL, kind TEXT NOT NULL, occurred_at TEXT NOT NULL,"
            " points INTEGER NOT NULL, recorded_at TEXT NOT NULL)"
        )
    exam12123.create_app(str(path), "secret")
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(violations)")}
    assert "severity" in columns
