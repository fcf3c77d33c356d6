"""12328: a case number per complaint, delivered to the four parties, handling steps delivered
to the parties they concern, signed handling callbacks, idempotent calls, switchable faults."""

import httpx

from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import Receiver

PARTIES = ["transport_authority", "school", "association", "platform_operator"]


def case(ref: str = "CP-1", **changes: object) -> dict[str, object]:
    return {
        "complaint_ref": ref,
        "school_id": "S371100001",
        "coach_id": "S371100001-K1",
        "city_code": "371100",
        "category": "fees",
        "content": "驾校额外收取考试费",
        "callback_url": HOOK,
        **changes,
    }


async def test_a_case_is_numbered_and_delivered_to_the_four_parties(
    complaints_client: httpx.AsyncClient, complaints_app, receiver: Receiver
):
    r = await complaints_client.post("/cases", json=case())
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["case_no"] == "12328-371100-00000001"
    assert [d["recipient"] for d in filed["deliveries"]] == PARTIES
    again = await complaints_client.post("/cases", json=case())
    assert (again.status_code, again.json()) == (200, filed)
    other = await complaints_client.post("/cases", json=case(content="另一件事"))
    assert other.json()["detail"]["code"] == "idempotency_conflict"

    await complaints_app.state.callbacks.drain()
    (accepted,) = receiver.payloads("complaint.handling")
    assert accepted["kind"] == "accepted" and accepted["complaint_ref"] == "CP-1"
    assert accepted["case_no"] == filed["case_no"]


async def test_handling_steps_reach_the_parties_they_concern(
    complaints_client: httpx.AsyncClient,
):
    case_no = (await complaints_client.post("/cases", json=case())).json()["case_no"]
    updates = f"/cases/{case_no}/updates"
    reminder = await complaints_client.post(updates, json={"update_id": "u-1", "kind": "reminder"})
    assert [d["recipient"] for d in reminder.json()["deliveries"]] == ["school"]
    escalated = await complaints_client.post(
        updates, json={"update_id": "u-2", "kind": "escalated"}
    )
    assert [d["recipient"] for d in escalated.json()["deliveries"]] == [
        "transport_authority",
        "platform_operator",
    ]
    answer = {"update_id": "u-3", "kind": "answered", "text": "已退还考试费"}
    assert (await complaints_client.post(updates, json=answer)).status_code == 201
    assert (await complaints_client.post(updates, json=answer)).status_code == 200  # replayed
    unknown = await complaints_client.post("/cases/nope/updates", json={**answer, "update_id": "x"})
    assert unknown.status_code == 404
    bad = await complaints_client.post(updates, json={"update_id": "u-4", "kind": "deleted"})
    assert bad.status_code == 422

    got = (await complaints_client.get(f"/cases/{case_no}")).json()
    assert got["status"] == "answered"
    assert [u["kind"] for u in got["updates"]] == ["reminder", "escalated", "answered"]
    assert len(got["deliveries"]) == 4 + 1 + 2 + 4


async def test_officer_notes_are_signed_callbacks(
    complaints_client: httpx.AsyncClient, complaints_app, receiver: Receiver
):
    case_no = (await complaints_client.post("/cases", json=case())).json()["case_no"]
    r = await complaints_client.post(
        f"/_simulate/cases/{case_no}/events", json={"kind": "supervising", "note": "已督办"}
    )
    assert r.status_code == 201
    await complaints_app.state.callbacks.drain()
    kinds = [p["kind"] for p in receiver.payloads("complaint.handling")]
    assert kinds == ["accepted", "supervising"]
    assert len({p["event_id"] for p in receiver.payloads()}) == 2


async def test_an_outage_files_nothing_and_a_retry_after_it_does(
    complaints_client: httpx.AsyncClient,
):
    await complaints_client.put("/_faults", json={"error_rate": 1})
    assert (await complaints_client.post("/cases", json=case())).status_code == 503
    await complaints_client.put("/_faults", json={"error_rate": 0})
    r = await complaints_client.post("/cases", json=case())
    assert r.status_code == 201 and r.json()["case_no"].endswith("00000001")
