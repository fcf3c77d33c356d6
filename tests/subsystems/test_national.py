"""National driving-training platform: registration, enrolment rule, withdrawal."""

import httpx

from tests.subsystems.helpers import id_number


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
