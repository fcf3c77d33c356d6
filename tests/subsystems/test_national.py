"""National driving-training platform: registration, enrolment rule, withdrawal, training
records and graduation."""

import sqlite3
from pathlib import Path

import httpx
import pytest

from subsystems import national
from tests.subsystems.helpers import SECRET, id_number


def learner(request_id: str = "req-1", school_id: str = "school-1", serial: int = 1) -> dict:
    return {
        "request_id": request_id,
        "school_id": school_id,
        "name": "张三",
        "id_number": id_number(serial),
        "phone": "13800000001",
        "vehicle_class": "C1",
    }


async def test_register_is_idempotent_on_request_id(national_client: httpx.AsyncClient):
    r = await national_client.post("/learners", json=learner())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "registered"
    assert len(body["learner_no"]) == 16 and body["learner_no"].startswith("L")
    assert body["learner_no"][1:].isdigit()

    again = await national_client.post("/learners", json=learner())
    assert (again.status_code, again.json()) == (200, body)

    changed = await national_client.post("/learners", json={**learner(), "phone": "13900000000"})
    assert changed.status_code == 409
    assert changed.json()["detail"]["code"] == "idempotency_conflict"

    record = (await national_client.get(f"/learners/{body['learner_no']}")).json()
    assert record["id_number"] == id_number(1) and record["phone"] == "13800000001"


async def test_same_person_same_school_new_request_gets_existing_number(
    national_client: httpx.AsyncClient,
):
    first = (await national_client.post("/learners", json=learner())).json()
    r = await national_client.post("/learners", json=learner(request_id="req-2"))
    assert r.status_code == 200
    assert r.json() == first
    other = await national_client.post("/learners", json=learner(request_id="req-3", serial=2))
    assert other.status_code == 201 and other.json()["learner_no"] != first["learner_no"]


async def test_already_enrolled_elsewhere_until_withdrawn(national_client: httpx.AsyncClient):
    first = (await national_client.post("/learners", json=learner())).json()
    r = await national_client.post("/learners", json=learner("req-2", school_id="school-2"))
    assert r.status_code == 409
    assert r.json() == {
        "detail": {"code": "already_enrolled", "reason": "该身份证号已在其他驾校报名"}
    }

    no = first["learner_no"]
    w = await national_client.post(f"/learners/{no}/withdraw", json={"request_id": "w-1"})
    assert (w.status_code, w.json()["status"]) == (200, "withdrawn")
    w = await national_client.post(f"/learners/{no}/withdraw", json={"request_id": "w-1"})
    assert (w.status_code, w.json()["status"]) == (200, "withdrawn")
    assert (await national_client.get(f"/learners/{no}")).json()["status"] == "withdrawn"

    r = await national_client.post("/learners", json=learner("req-3", school_id="school-2"))
    assert r.status_code == 201 and r.json()["learner_no"] != no


async def test_unknown_learner_and_invalid_input(national_client: httpx.AsyncClient):
    assert (await national_client.get("/learners/L999")).status_code == 404
    r = await national_client.post("/learners/L999/withdraw", json={"request_id": "w"})
    assert r.status_code == 404
    bad_id = {**learner(), "id_number": id_number(1)[:-1] + "0"}
    if bad_id["id_number"] == id_number(1):
        bad_id["id_number"] = id_number(1)[:-1] + "1"
    assert (await national_client.post("/learners", json=bad_id)).status_code == 422
    bad_class = {**learner(), "vehicle_class": "Z9"}
    assert (await national_client.post("/learners", json=bad_class)).status_code == 422


async def registered(client: httpx.AsyncClient, serial: int = 1, school_id: str = "s-1") -> str:
    r = await client.post(
        "/learners", json=learner(f"req-{serial}-{school_id}", school_id=school_id, serial=serial)
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["learner_no"])


def record(no: str, record_no: str, subject: str, minutes: int, request_id: str = "") -> dict:
    return {
        "request_id": request_id or f"tr-{record_no}",
        "learner_no": no,
        "record_no": record_no,
        "subject": subject,
        "valid_minutes": minutes,
    }


async def test_training_records_sum_per_subject(national_client: httpx.AsyncClient):
    no = await registered(national_client)
    r = await national_client.get(f"/learners/{no}/hours")
    assert r.json() == {
        "learner_no": no,
        "minutes": {"theory": 0, "field": 0, "road": 0, "safety": 0},
    }
    for record_no, subject, minutes in (
        ("R1", "field", 60),
        ("R2", "field", 45),
        ("R3", "theory", 50),
    ):
        r = await national_client.post(
            "/training-records", json=record(no, record_no, subject, minutes)
        )
        assert r.status_code == 201
        assert r.json() == {"record_no": record_no, "learner_no": no, "status": "accepted"}

    # Replays, by request id or by record number, count once.
    again = await national_client.post("/training-records", json=record(no, "R1", "field", 60))
    assert again.status_code == 200
    relay = await national_client.post(
        "/training-records", json=record(no, "R1", "field", 60, request_id="tr-other")
    )
    assert relay.status_code == 200
    conflict = await national_client.post("/training-records", json=record(no, "R1", "field", 59))
    assert conflict.json()["detail"]["code"] == "idempotency_conflict"
    clash = await national_client.post(
        "/training-records", json=record(no, "R1", "road", 60, request_id="tr-clash")
    )
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "record_conflict"

    hours = (await national_client.get(f"/learners/{no}/hours")).json()["minutes"]
    assert hours == {"theory": 50, "field": 105, "road": 0, "safety": 0}

    unknown = await national_client.post("/training-records", json=record("L404", "R9", "road", 1))
    assert unknown.status_code == 404
    assert (await national_client.get("/learners/L404/hours")).status_code == 404
    bad = await national_client.post("/training-records", json=record(no, "R9", "flying", 1))
    assert bad.status_code == 422


async def test_graduation_ends_the_enrolment(national_client: httpx.AsyncClient):
    no = await registered(national_client)
    body = {
        "request_id": "g-1",
        "learner_no": no,
        "certificate_no": "JY2030000001",
        "graduated_at": "2030-06-01T10:00:00+08:00",
    }
    r = await national_client.post("/graduations", json=body)
    assert r.status_code == 201
    assert r.json() == {"learner_no": no, "certificate_no": "JY2030000001", "status": "graduated"}
    again = await national_client.post("/graduations", json=body)
    assert (again.status_code, again.json()) == (200, r.json())
    conflict = await national_client.post("/graduations", json={**body, "certificate_no": "X"})
    assert conflict.json()["detail"]["code"] == "idempotency_conflict"
    other = await national_client.post(
        "/graduations", json={**body, "request_id": "g-2", "certificate_no": "X"}
    )
    assert other.status_code == 409 and other.json()["detail"]["code"] == "already_graduated"
    same = await national_client.post("/graduations", json={**body, "request_id": "g-3"})
    assert same.status_code == 200

    stored = (await national_client.get(f"/learners/{no}")).json()
    assert stored["status"] == "graduated" and stored["certificate_no"] == "JY2030000001"
    w = await national_client.post(f"/learners/{no}/withdraw", json={"request_id": "w"})
    assert w.status_code == 409 and w.json()["detail"]["code"] == "already_graduated"

    # A graduate may enrol again, at another school, for another class.
    again_no = await registered(national_client, school_id="s-2")
    assert again_no != no

    withdrawn = await registered(national_client, serial=2)
    await national_client.post(f"/learners/{withdrawn}/withdraw", json={"request_id": "w2"})
    r = await national_client.post(
        "/graduations", json={**body, "request_id": "g-4", "learner_no": withdrawn}
    )
    assert r.status_code == 409 and r.json()["detail"]["code"] == "not_enrolled"
    missing = await national_client.post(
        "/graduations", json={**body, "request_id": "g-5", "learner_no": "L404"}
    )
    assert missing.status_code == 404


async def test_database_from_before_graduation_is_upgraded(tmp_path: Path):
    # The learners table as the first version of the simulator created it.
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE learners (
                learner_no TEXT PRIMARY KEY, request_id TEXT NOT NULL, school_id TEXT NOT NULL,
                name TEXT NOT NULL, id_number TEXT NOT NULL, phone TEXT NOT NULL,
                vehicle_class TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('registered', 'withdrawn')),
                registered_at TEXT NOT NULL, withdrawn_at TEXT
            );
            CREATE UNIQUE INDEX learners_one_active
                ON learners (id_number) WHERE status = 'registered';
            INSERT INTO learners VALUES ('L000000000000001', 'r', 's-1', '张三',
                '371102199001010011', '13800000001', 'C1', 'registered', '2030-01-01', NULL);
            """
        )
    conn.close()
    app = national.create_app(str(path), SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as c:
        r = await c.post(
            "/graduations",
            json={
                "request_id": "g",
                "learner_no": "L000000000000001",
                "certificate_no": "C1",
                "graduated_at": "2030-06-01T10:00:00",
            },
        )
        assert r.status_code == 201, r.text
        stored = (await c.get("/learners/L000000000000001")).json()
        assert stored["status"] == "graduated" and stored["name"] == "张三"
    await app.state.sim.aclose()
    # Upgrading twice is harmless, and the active-enrolment rule survived the rebuild.
    app = national.create_app(str(path), SECRET)
    store = app.state.sim.store
    with pytest.raises(sqlite3.IntegrityError), store.tx() as conn:
        for n in (2, 3):
            conn.execute(
                "INSERT INTO learners (learner_no, request_id, school_id, name, id_number,"
                " phone, vehicle_class, status, registered_at)"
                " VALUES (?, 'r', 's', 'n', 'X', 'p', 'C1', 'registered', 't')",
                (f"L{n}",),
            )
    await app.state.sim.aclose()
