"""Consultations and complaints through the three ports, with the complaint workflow running
under a worker against the 12328 simulator over HTTP: file, deliver, answer, rate, reopen once;
who may see what (someone else's reads exactly as one that does not exist); the sources a
complaint may come from; refusals that name the field."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.complaints import ComplaintRecordActivities, Complaints12328Activities
from activities.http import SubsystemClient
from activities.records import RecordActivities
from core.db import engine_for
from core.signing import sign
from models.complaints import Complaint, Consultation
from subsystems import complaints12328
from subsystems.runner import serve_apps
from tests.api.conftest import Api
from tests.api.test_closed_journeys import AT, SCHOOL, closed_journey
from tests.factories import journey_projection
from workflows.complaint import ComplaintWorkflow
from workflows.journey_state import RecordEntry

CONTRACT_NO = "HT20260901R1"


@pytest.fixture
async def worker(api: Api, dev_env: WorkflowEnvironment) -> AsyncIterator[None]:
    """The complaint workflow and its activities, 12328 served on a free port; complaints left
    open are ended afterwards."""
    app = complaints12328.create_app(":memory:", "secret")
    engine = engine_for(api.settings.database_url)
    async with serve_apps({"complaints": app}) as urls:
        client = SubsystemClient("complaints", urls["complaints"], 5.0)
        adapter = Complaints12328Activities(client, "http://127.0.0.1:9/api/webhooks/complaints")
        async with Worker(
            dev_env.client,
            task_queue=api.settings.task_queue,
            workflows=[ComplaintWorkflow],
            activities=[adapter.file, adapter.push, ComplaintRecordActivities(engine).write],
            activity_executor=ThreadPoolExecutor(4),
        ):
            yield
            with Session(engine) as session:
                ids = session.exec(select(Complaint.workflow_id)).all()
            for wf_id in ids:
                handle = dev_env.client.get_workflow_handle(wf_id)
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test done")
        await client.aclose()


def graduate(api: Api, learner_id: str, disputed: bool = True) -> str:
    """A closed journey of the learner's with a signed contract and a disputed record."""
    wf_id, view = closed_journey(api, learner_id)
    contract = replace(view.state.contract, contract_no=CONTRACT_NO, signed_sha256="ab" * 32)
    state = replace(view.state, contract=contract, version=10)
    record = RecordEntry(
        "REC-1", f"{wf_id}:booking-1", "field", "practical", "2026-11-02", AT, AT, 240, 240
    )
    record.n = 1
    if disputed:
        record.status, record.dispute_reason, record.disputed_at = "disputed", "未上车", AT
    closed = journey_projection(
        wf_id,
        learner_id,
        stage="closed",
        status="completed",
        waiting_on="nobody",
        version=10,
        records=[record],
        closed_view=replace(view, state=state),
    )
    RecordActivities(engine_for(api.settings.database_url)).project_journey(closed)
    return wf_id


async def learner_with_journey(api: Api, disputed: bool = True) -> tuple[dict[str, str], str]:
    username = api.add_learner()
    return await api.token(username), graduate(api, f"U-{username}", disputed)


def complaint(journey_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "journey_id": journey_id,
        "category": "fees",
        "content": "驾校额外收取考试费",
        **changes,
    }


async def until_status(api: Api, me: dict[str, str], complaint_id: str, status: str) -> dict:
    for _ in range(200):
        r = await api.http.get(f"/api/learner/complaints/{complaint_id}", headers=me)
        assert r.status_code == 200, r.text
        if r.json()["status"] == status:
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"complaint never {status}: {r.json()}")


async def filed_and_delivered(api: Api) -> tuple[dict[str, str], str]:
    me, wf_id = await learner_with_journey(api)
    r = await api.http.post("/api/learner/complaints", json=complaint(wf_id), headers=me)
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    await until_status(api, me, complaint_id, "delivered")
    return me, complaint_id


async def test_filed_delivered_answered_and_rated(api: Api, worker: None) -> None:
    me, wf_id = await learner_with_journey(api)
    r = await api.http.post("/api/learner/complaints", json=complaint(wf_id), headers=me)
    assert r.status_code == 201, r.text
    filed = r.json()
    assert (filed["status"], filed["school_id"], filed["coach_id"]) == (
        "filed",
        SCHOOL,
        f"{SCHOOL}-K1",
    )
    assert filed["deadline_at"] is not None and filed["deadline_status"] == "on_time"
    assert [
        c["id"] for c in (await api.http.get("/api/learner/complaints", headers=me)).json()
    ] == [filed["id"]]
    delivered = await until_status(api, me, filed["id"], "delivered")
    assert delivered["case_no"].startswith("12328-371100-")
    assert [e["party"] for e in delivered["events"] if e["kind"] == "delivered"] == [
        "transport_authority",
        "school",
        "association",
        "platform_operator",
    ]

    school1 = await api.token("school1")
    listed = (await api.http.get("/api/school/complaints?open_only=true", headers=school1)).json()
    assert filed["id"] in [c["id"] for c in listed]
    url = f"/api/school/complaints/{filed['id']}/answer"
    r = await api.http.post(url, json={"answer": "考试费为代收，已退还"}, headers=school1)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "answered"

    rated = await api.http.post(
        f"/api/learner/complaints/{filed['id']}/rating", json={"stars": 5}, headers=me
    )
    assert rated.status_code == 200, rated.text
    assert (rated.json()["status"], rated.json()["rating"]) == ("closed", 5)
    closed = await until_status(api, me, filed["id"], "closed")
    assert closed["answer"] == "考试费为代收，已退还" and closed["rating"] == 5
    assert [e["kind"] for e in closed["events"]][-2:] == ["answered", "rated"]
    again = await api.http.post(
        f"/api/learner/complaints/{filed['id']}/rating", json={"stars": 1}, headers=me
    )
    assert (again.status_code, again.json()["code"]) == (409, "complaint_closed")

    gov = (await api.http.get("/api/gov/complaints", headers=await api.token("rizhao"))).json()
    mine = next(c for c in gov if c["id"] == filed["id"])
    assert mine["deadline_status"] == "on_time"


async def test_reopened_once_and_the_second_reopening_refused(api: Api, worker: None) -> None:
    me, complaint_id = await filed_and_delivered(api)
    school1 = await api.token("school1")
    answer_url = f"/api/school/complaints/{complaint_id}/answer"
    reopen_url = f"/api/learner/complaints/{complaint_id}/reopen"
    early = await api.http.post(reopen_url, json={"reason": "不满意"}, headers=me)
    assert (early.status_code, early.json()["detail"]) == (409, "驾校尚未答复，不能重新打开")

    assert (await api.http.post(answer_url, json={"answer": "已处理"}, headers=school1)).is_success
    r = await api.http.post(reopen_url, json={"reason": "并未退费"}, headers=me)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reopened"]) == ("delivered", True)
    reopened = await until_status(api, me, complaint_id, "delivered")
    assert reopened["reopened"] and reopened["answer"] is None

    assert (await api.http.post(answer_url, json={"answer": "已退费"}, headers=school1)).is_success
    second = await api.http.post(reopen_url, json={"reason": "还是不满意"}, headers=me)
    assert (second.status_code, second.json()["detail"]) == (409, "每件投诉只能重新打开一次")


async def test_12328_handling_steps_reach_the_complaint_once(api: Api, worker: None) -> None:
    me, complaint_id = await filed_and_delivered(api)
    event = {
        "event": "complaint.handling",
        "event_id": "ev-note-1",
        "case_no": "12328-371100-00000001",
        "complaint_ref": complaint_id,
        "kind": "supervising",
        "note": "运管部门已督办",
        "at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(event).encode()
    for _ in range(2):  # a duplicate callback changes nothing
        r = await api.http.post(
            "/api/webhooks/complaints",
            content=body,
            headers=sign(body, api.settings.complaints_webhook_secret),
        )
        assert (r.status_code, r.json()) == (200, {"status": "accepted"})
    for _ in range(200):
        got = (await api.http.get(f"/api/learner/complaints/{complaint_id}", headers=me)).json()
        notes = [e["text"] for e in got["events"] if e["kind"] == "handling"]
        if notes:
            break
        await asyncio.sleep(0.05)
    assert notes == ["supervising: 运管部门已督办"]


async def test_only_those_who_may_see_a_complaint_do(api: Api, worker: None) -> None:
    me, complaint_id = await filed_and_delivered(api)
    unknown = "CP-000000000000000000000000"
    for who, url, status in [
        (None, f"/api/learner/complaints/{complaint_id}", 200),
        ("learner1", f"/api/learner/complaints/{complaint_id}", 404),
        ("school1", f"/api/school/complaints/{complaint_id}", 200),
        ("school2", f"/api/school/complaints/{complaint_id}", 404),
        ("rizhao", f"/api/gov/complaints/{complaint_id}", 200),
        ("shandong", f"/api/gov/complaints/{complaint_id}", 200),
        ("fuzhou", f"/api/gov/complaints/{complaint_id}", 404),
    ]:
        headers = me if who is None else await api.token(who)
        r = await api.http.get(url, headers=headers)
        assert r.status_code == status, (who, r.text)
        if status == 404:
            never = await api.http.get(url.replace(complaint_id, unknown), headers=headers)
            assert (never.status_code, never.json()) == (404, r.json())
    fuzhou = (await api.http.get("/api/gov/complaints", headers=await api.token("fuzhou"))).json()
    assert complaint_id not in [c["id"] for c in fuzhou]
    school2 = await api.token("school2")
    assert complaint_id not in [
        c["id"] for c in (await api.http.get("/api/school/complaints", headers=school2)).json()
    ]
    r = await api.http.post(
        f"/api/school/complaints/{complaint_id}/answer", json={"answer": "x"}, headers=school2
    )
    assert r.status_code == 404
    others = await api.token("learner1")
    for action, body in (("rating", {"stars": 1}), ("reopen", {"reason": "x"})):
        r = await api.http.post(
            f"/api/learner/complaints/{complaint_id}/{action}", json=body, headers=others
        )
        assert r.status_code == 404
    # Staff cannot use the learner's port, nor a learner the school's.
    r = await api.http.get("/api/learner/complaints", headers=await api.token("school1"))
    assert r.status_code == 403
    r = await api.http.get("/api/school/complaints", headers=me)
    assert r.status_code == 403


async def test_a_complaint_is_about_one_s_own_journey_its_records_and_contract(
    api: Api, worker: None
) -> None:
    me, wf_id = await learner_with_journey(api)
    _, others_journey = await learner_with_journey(api)
    url = "/api/learner/complaints"
    r = await api.http.post(url, json=complaint(others_journey), headers=me)
    assert (r.status_code, r.json()["detail"]) == (404, "报名记录不存在")

    def problem(r: Any) -> tuple[int, list[str], str]:
        (p,) = r.json()["detail"]
        return r.status_code, p["loc"], p["type"]

    cases = [
        (complaint(wf_id, source="training_record"), "missing"),
        (complaint(wf_id, source="training_record", source_ref="REC-9"), "no_disputed_record"),
        (complaint(wf_id, source="contract_dispute", source_ref="HT1"), "no_contract"),
        (complaint(wf_id, source_ref="REC-1"), "unexpected_ref"),
    ]
    for body, kind in cases:
        r = await api.http.post(url, json=body, headers=me)
        assert problem(r) == (422, ["body", "source_ref"], kind), body
    with Session(engine_for(api.settings.database_url)) as session:
        assert session.exec(select(Complaint).where(Complaint.journey_id == wf_id)).all() == []

    from_record = complaint(wf_id, source="training_record", source_ref="REC-1")
    r = await api.http.post(url, json=from_record, headers=me)
    assert r.status_code == 201, r.text
    assert (r.json()["source"], r.json()["source_ref"]) == ("training_record", "REC-1")
    mediation = complaint(wf_id, source="contract_dispute", source_ref=CONTRACT_NO)
    r = await api.http.post(url, json=mediation, headers=me)
    assert r.status_code == 201, r.text

    # A record that was never disputed is no ground for a complaint from a record.
    plain, undisputed = await learner_with_journey(api, disputed=False)
    r = await api.http.post(
        url, json=complaint(undisputed, source="training_record", source_ref="REC-1"), headers=plain
    )
    assert problem(r) == (422, ["body", "source_ref"], "no_disputed_record")


async def test_filing_twice_under_one_key_is_one_complaint(api: Api, worker: None) -> None:
    me, wf_id = await learner_with_journey(api)
    keyed = {**me, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = await api.http.post("/api/learner/complaints", json=complaint(wf_id), headers=keyed)
    second = await api.http.post("/api/learner/complaints", json=complaint(wf_id), headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await api.http.post(
        "/api/learner/complaints", json=complaint(wf_id, content="另一件事"), headers=keyed
    )
    assert other.status_code == 422
    assert len((await api.http.get("/api/learner/complaints", headers=me)).json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stars": 6}, "stars"),
        ({"stars": "5"}, "stars"),
        ({"stars": 3, "comment": "x" * 201}, "comment"),
    ],
)
async def test_a_rating_out_of_range_is_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    me = await api.token(api.add_learner())
    r = await api.http.post("/api/learner/complaints/CP-1/rating", json=body, headers=me)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", field]


async def test_blank_or_unknown_complaint_fields_are_refused(api: Api) -> None:
    me = await api.token(api.add_learner())
    for body, field in [
        (complaint("journey-x", content="   "), "content"),
        (complaint("journey-x", category="food"), "category"),
        (complaint("journey-x", source="rumour"), "source"),
    ]:
        r = await api.http.post("/api/learner/complaints", json=body, headers=me)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text


# ---- consultations --------------------------------------------------------------------------


async def test_consultations_asked_answered_and_flagged_when_overdue(api: Api) -> None:
    me = await api.token(api.add_learner())
    r = await api.http.post(
        "/api/learner/consultations",
        json={"school_id": "S371100002", "question": "周末可以练车吗？"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    assert asked["answer"] is None and not asked["overdue"]
    # The city's policy (the demo one here) gives the school five minutes.
    due = datetime.fromisoformat(asked["due_at"]) - datetime.fromisoformat(asked["asked_at"])
    assert due == timedelta(minutes=5)
    assert [
        c["id"] for c in (await api.http.get("/api/learner/consultations", headers=me)).json()
    ] == [asked["id"]]

    url = f"/api/school/consultations/{asked['id']}/answer"
    school1, school2 = await api.token("school1"), await api.token("school2")
    assert (await api.http.post(url, json={"answer": "可以"}, headers=school1)).status_code == 404
    assert asked["id"] not in [
        c["id"] for c in (await api.http.get("/api/school/consultations", headers=school1)).json()
    ]
    waiting = await api.http.get("/api/school/consultations?unanswered=true", headers=school2)
    assert asked["id"] in [c["id"] for c in waiting.json()]

    # Left past its answer time: the region's regulator sees it, another region's does not.
    with Session(engine_for(api.settings.database_url)) as session:
        row = session.get(Consultation, asked["id"])
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(row)
        session.commit()
    overdue_url = "/api/gov/consultations/overdue"
    rizhao, fuzhou = await api.token("rizhao"), await api.token("fuzhou")
    flagged = (await api.http.get(overdue_url, headers=rizhao)).json()
    assert [c["overdue"] for c in flagged if c["id"] == asked["id"]] == [True]
    assert asked["id"] not in [
        c["id"] for c in (await api.http.get(overdue_url, headers=fuzhou)).json()
    ]

    answered = await api.http.post(url, json={"answer": "周末可以预约"}, headers=school2)
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == "周末可以预约" and not answered.json()["overdue"]
    same = await api.http.post(url, json={"answer": "周末可以预约"}, headers=school2)
    assert same.status_code == 200  # a double click
    changed = await api.http.post(url, json={"answer": "不可以"}, headers=school2)
    assert (changed.status_code, changed.json()["code"]) == (409, "already_answered")
    assert asked["id"] not in [
        c["id"] for c in (await api.http.get(overdue_url, headers=rizhao)).json()
    ]


async def test_a_consultation_goes_to_a_filed_school(api: Api) -> None:
    me = await api.token(api.add_learner())
    for body, field in [
        ({"school_id": "S000000000", "question": "在吗"}, "school_id"),
        ({"school_id": "S371100001", "question": " "}, "question"),
        ({"school_id": "S371100001"}, "question"),
    ]:
        r = await api.http.post("/api/learner/consultations", json=body, headers=me)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
