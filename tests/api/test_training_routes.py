"""Part 2 of the journey through the three ports: who may call what (401/403/404), input that
cannot be right (422 naming the field), and the journey's own refusals (409) — and on every
refusal nothing is started or written: no new workflow, no history event, no database row.

The journey here never moves: its worker runs the workflow (so queries and validators answer)
but no activities, so it waits at sign-up for the national platform forever.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, func, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.routes.training import ARCHIVE_KINDS
from core.db import engine_for
from models.journeys import JourneyRecord
from models.training import CHINA, ResourceHold, SlotBooking, TrainingSlot
from models.users import User
from tests.api.conftest import Api
from tests.factories import VALID_ID
from workflows.journey import LearnerJourney
from workflows.journey_state import JourneyState, JourneyView, RecordEntry, Stage

SCHOOL = "S371100001"
ENROLMENT = {
    "school_id": SCHOOL,
    "coach_id": f"{SCHOOL}-K1",
    "vehicle_class": "C1",
    "name": "张三",
    "phone": "13800138000",
    "id_number": VALID_ID,
    "lat": 35.42,
    "lon": 119.52,
}
APPLICANT = {k: ENROLMENT[k] for k in ("name", "phone", "id_number", "lat", "lon")}


@dataclass
class Journey:
    wf_id: str
    me: dict[str, str]  # the learner's headers
    handle: WorkflowHandle[Any, Any]

    def url(self, tail: str = "") -> str:
        return f"/api/learner/journeys/{self.wf_id}{tail}"


def add_learner(api: Api) -> str:
    return api.add_learner()


async def start(api: Api, dev_env: WorkflowEnvironment) -> Journey:
    me = await api.token(add_learner(api))
    r = await api.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
    assert r.status_code == 201, r.text
    wf_id = r.json()["workflow_id"]
    j = Journey(wf_id, me, dev_env.client.get_workflow_handle(wf_id))
    assert (await api.http.get(j.url(), headers=me)).json()["state"]["stage"] == "signup"
    return j


@pytest.fixture
async def journey(api: Api, dev_env: WorkflowEnvironment) -> AsyncIterator[Journey]:
    worker = Worker(dev_env.client, task_queue=api.settings.task_queue, workflows=[LearnerJourney])
    async with worker:
        j = await start(api, dev_env)
        yield j
        await j.handle.terminate("test done")


async def footprint(api: Api, dev_env: WorkflowEnvironment, j: Journey) -> tuple[object, ...]:
    """Everything a refused call could have written."""
    history = await j.handle.fetch_history()
    queue = f"TaskQueue = '{api.settings.task_queue}'"
    workflows = sorted([wf.id async for wf in dev_env.client.list_workflows(queue)])
    with Session(engine_for(api.settings.database_url)) as session:
        rows = tuple(
            session.exec(select(func.count()).select_from(model)).one()
            for model in (SlotBooking, TrainingSlot)
        )
        cancelled = session.exec(
            select(func.count()).select_from(TrainingSlot).where(TrainingSlot.status != "open")
        ).one()
    return len(history.events), workflows, rows, cancelled


async def publish_slot(api: Api, staff: dict[str, str]) -> dict[str, Any]:
    start_at = (datetime.now(CHINA) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    body = {
        "subject": "field",
        "kind": "car",
        "coach_id": f"{SCHOOL}-K1",
        "vehicle_id": f"{SCHOOL}-V1",
        "ground_id": f"{SCHOOL}-G1",
        "start": start_at.isoformat(),
        "hours": 1,
    }
    r = await api.http.post("/api/school/slots", json=body, headers=staff)
    assert r.status_code == 201, r.text
    return r.json()


LEARNER_POSTS = [
    ("/bookings", {"slot_id": "X"}),
    ("/bookings/B1/cancel", {}),
    ("/records/R1/confirm", None),
    ("/records/R1/dispute", {"reason": "没有上车"}),
    ("/stages/theory/confirm", {"school_stars": 5, "coach_stars": 5}),
    ("/stages/theory/report/confirm", None),
    ("/exams", {"subject": "theory", "exam_date": "2030-01-02"}),
    ("/coach-change", {"coach_id": f"{SCHOOL}-K2", "reason": "时间不合适"}),
    ("/followup", {"school_stars": 5, "coach_stars": 5, "comment": ""}),
    ("/transfer", {"reason": "搬家", "school_id": "S371100002", "coach_id": "S371100002-K1"}),
]


# ---- 401 / 403 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/learner/journeys/j/slots"),
        ("POST", "/api/learner/journeys/j/bookings"),
        ("GET", "/api/learner/journeys/j/documents/certificate.pdf"),
        ("POST", "/api/school/journeys/j/stages/field/report"),
        ("DELETE", "/api/school/slots/s?reason=x"),
        ("POST", "/api/gov/journeys/j/stages/field/report/approve"),
        ("GET", "/api/gov/disputes"),
        ("POST", "/api/school/journeys/j/records/R1/dispute-answer"),
        ("POST", "/api/gov/journeys/j/records/R1/dispute-ruling"),
    ],
)
async def test_every_new_route_requires_a_token(api: Api, method: str, path: str) -> None:
    assert (await api.http.request(method, path)).status_code == 401


@pytest.mark.parametrize(
    ("user", "method", "path"),
    [
        ("school1", "GET", "/api/learner/journeys/j/slots"),
        ("rizhao", "POST", "/api/learner/journeys/j/exams"),
        ("learner1", "POST", "/api/school/journeys/j/bookings/b/no-show"),
        ("learner1", "POST", "/api/school/journeys/j/coach-change/approve"),
        ("rizhao", "DELETE", "/api/school/slots/s?reason=x"),
        ("school1", "POST", "/api/gov/journeys/j/stages/field/report/approve"),
        ("learner1", "GET", "/api/gov/disputes"),
        ("learner1", "POST", "/api/school/journeys/j/records/R1/dispute-answer"),
        ("school1", "POST", "/api/gov/journeys/j/records/R1/dispute-ruling"),
    ],
)
async def test_each_route_belongs_to_one_port(api: Api, user: str, method: str, path: str) -> None:
    r = await api.http.request(method, path, headers=await api.token(user))
    assert r.status_code == 403, r.text


# ---- 404: outside one's scope ---------------------------------------------------------------


async def test_another_learners_journey_is_not_found_and_untouched(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey
) -> None:
    other = await api.token(add_learner(api))
    before = await footprint(api, dev_env, journey)
    for tail, body in LEARNER_POSTS:
        if tail == "/transfer":
            body = {**body, **APPLICANT}
        r = await api.http.post(journey.url(tail), json=body, headers=other)
        assert r.status_code == 404, (tail, r.text)
    # Every read of the journey answers as if it did not exist: the view, its documents.
    reads = ["", "/slots", "/health-centres?lat=35.4&lon=119.5", "/contract.pdf", "/invoice.pdf"]
    reads += [f"/documents/{kind}.pdf" for kind in ARCHIVE_KINDS]
    for tail in reads:
        r = await api.http.get(journey.url(tail), headers=other)
        assert r.status_code == 404, (tail, r.text)
    mine = (await api.http.get("/api/learner/journeys", headers=other)).json()
    assert journey.wf_id not in [j["workflow_id"] for j in mine]
    assert await footprint(api, dev_env, journey) == before


async def test_another_school_and_region_see_nothing(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey
) -> None:
    school2, fuzhou = await api.token("school2"), await api.token("fuzhou")
    before = await footprint(api, dev_env, journey)
    school = f"/api/school/journeys/{journey.wf_id}"
    gov = f"/api/gov/journeys/{journey.wf_id}"
    for path, headers, body in [
        (f"{school}/stages/theory/report", school2, None),
        (f"{school}/bookings/B1/no-show", school2, None),
        (f"{school}/coach-change/approve", school2, None),
        (f"{school}/coach-change/reject", school2, {"reason": "不同意"}),
        (f"{gov}/stages/theory/report/approve", fuzhou, None),
        (f"{gov}/stages/theory/report/reject", fuzhou, {"reason": "材料不全"}),
        (f"{school}/records/R1/dispute-answer", school2, {"concede": True, "answer": "认可"}),
        (
            f"{gov}/records/R1/dispute-ruling",
            fuzhou,
            {"uphold_record": False, "reason": "证据不足"},
        ),
    ]:
        r = await api.http.post(path, json=body, headers=headers)
        assert r.status_code == 404, (path, r.text)
    assert (await api.http.get(school, headers=school2)).status_code == 404
    assert (await api.http.get(gov, headers=fuzhou)).status_code == 404
    listed = (await api.http.get("/api/school/journeys", headers=school2)).json()
    assert journey.wf_id not in [j["workflow_id"] for j in listed]
    assert await footprint(api, dev_env, journey) == before


async def test_another_schools_slot_is_not_found(api: Api) -> None:
    slot = await publish_slot(api, await api.token("school1"))
    r = await api.http.delete(
        f"/api/school/slots/{slot['id']}",
        params={"reason": "教练请假"},
        headers=await api.token("school2"),
    )
    assert r.status_code == 404, r.text
    with Session(engine_for(api.settings.database_url)) as session:
        row = session.get(TrainingSlot, slot["id"])
        assert row is not None and row.status == "open"


async def test_an_unknown_journey_is_not_found(api: Api) -> None:
    me = await api.token("learner1")
    r = await api.http.get("/api/learner/journeys/journey-nobody/slots", headers=me)
    assert r.status_code == 404


# ---- 422: input that cannot be right --------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "body", "field"),
    [
        ("/stages/field/confirm", {"school_stars": 5, "coach_stars": 5}, "subject"),
        ("/stages/flying/report/confirm", None, "subject"),
        ("/stages/theory/confirm", {"school_stars": 0, "coach_stars": 5}, "school_stars"),
        ("/stages/theory/confirm", {"school_stars": 5, "coach_stars": 6}, "coach_stars"),
        (
            "/stages/theory/confirm",
            {"school_stars": 5, "coach_stars": 5, "comment": "长" * 201},
            "comment",
        ),
        ("/followup", {"school_stars": 9, "coach_stars": 5, "comment": ""}, "school_stars"),
        ("/exams", {"subject": "theory", "exam_date": "2030-13-01"}, "exam_date"),
        ("/exams", {"subject": "flying", "exam_date": "2030-01-02"}, "subject"),
        ("/records/R1/dispute", {"reason": "   "}, "reason"),
        ("/records/R1/dispute", {"reason": "长" * 201}, "reason"),
        ("/bookings", {}, "slot_id"),
        ("/coach-change", {"coach_id": "NOPE", "reason": "时间不合适"}, "coach_id"),
        ("/coach-change", {"coach_id": "S371100002-K1", "reason": "换校教练"}, "coach_id"),
        ("/coach-change", {"coach_id": f"{SCHOOL}-K2"}, "reason"),
        ("/payment", {"channel": "alipay", "amount_fen": 0}, "amount_fen"),
        (
            "/transfer",
            {"reason": "搬家", "school_id": SCHOOL, "coach_id": f"{SCHOOL}-K2"},
            "school_id",
        ),
        ("/transfer", {"reason": "搬家", "school_id": "S999", "coach_id": "K"}, "school_id"),
        (
            "/transfer",
            {"reason": "搬家", "school_id": "S371100002", "coach_id": f"{SCHOOL}-K1"},
            "coach_id",
        ),
        (
            "/transfer",
            {
                "reason": "搬家",
                "school_id": "S371100002",
                "coach_id": "S371100002-K1",
                "id_number": "110105194912310021",
            },
            "id_number",
        ),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    api: Api,
    dev_env: WorkflowEnvironment,
    journey: Journey,
    tail: str,
    body: dict | None,
    field: str,
) -> None:
    if tail == "/transfer":
        body = {**APPLICANT, **(body or {})}
    before = await footprint(api, dev_env, journey)
    r = await api.http.post(journey.url(tail), json=body, headers=journey.me)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field, r.text
    assert await footprint(api, dev_env, journey) == before


@pytest.mark.parametrize("key", ["键".encode(), "a b", "", "k" * 129])
async def test_an_idempotency_key_is_visible_ascii_of_at_most_128_characters(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey, key: bytes | str
) -> None:
    before = await footprint(api, dev_env, journey)
    headers = {**journey.me, "Idempotency-Key": key}
    r = await api.http.post(journey.url("/withdraw"), json={"reason": "搬家"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await footprint(api, dev_env, journey) == before


async def test_school_and_regulator_input_is_checked(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey
) -> None:
    before = await footprint(api, dev_env, journey)
    school1, rizhao = await api.token("school1"), await api.token("rizhao")
    school = f"/api/school/journeys/{journey.wf_id}"
    gov = f"/api/gov/journeys/{journey.wf_id}"
    for path, headers, body, field in [
        (f"{school}/stages/flying/report", school1, None, "subject"),
        (f"{school}/coach-change/reject", school1, {"reason": " "}, "reason"),
        (f"{gov}/stages/road/report/reject", rizhao, {}, "reason"),
        (f"{gov}/stages/exam/report/approve", rizhao, None, "subject"),
        (f"{school}/records/R1/dispute-answer", school1, {"concede": True}, "answer"),
        (f"{school}/records/R1/dispute-answer", school1, {"answer": "有视频"}, "concede"),
        (
            f"{gov}/records/R1/dispute-ruling",
            rizhao,
            {"uphold_record": True, "reason": "长" * 501},
            "reason",
        ),
    ]:
        r = await api.http.post(path, json=body, headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field
    assert await footprint(api, dev_env, journey) == before


# ---- 409: the journey's own refusals (validators: nothing in history) ------------------------


@pytest.mark.parametrize(("tail", "body"), LEARNER_POSTS)
async def test_the_journey_refuses_what_its_stage_does_not_allow(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey, tail: str, body: dict | None
) -> None:
    if tail == "/transfer":
        body = {**body, **APPLICANT}
    before = await footprint(api, dev_env, journey)
    r = await api.http.post(journey.url(tail), json=body, headers=journey.me)
    assert r.status_code == 409, (tail, r.text)
    assert await footprint(api, dev_env, journey) == before


async def test_staff_and_regulator_actions_out_of_turn_are_refused(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey
) -> None:
    before = await footprint(api, dev_env, journey)
    school = f"/api/school/journeys/{journey.wf_id}"
    gov = f"/api/gov/journeys/{journey.wf_id}"
    school1, rizhao = await api.token("school1"), await api.token("rizhao")
    for path, headers, body in [
        (f"{school}/stages/theory/report", school1, None),
        (f"{school}/bookings/B1/no-show", school1, None),
        (f"{school}/coach-change/approve", school1, None),
        (f"{gov}/stages/theory/report/approve", rizhao, None),
        # No such dispute on this journey: nothing to answer or rule on.
        (f"{school}/records/R1/dispute-answer", school1, {"concede": False, "answer": "有视频"}),
        (f"{gov}/records/R1/dispute-ruling", rizhao, {"uphold_record": True, "reason": "属实"}),
    ]:
        r = await api.http.post(path, json=body, headers=headers)
        assert r.status_code == 409, (path, r.text)
    assert await footprint(api, dev_env, journey) == before


# ---- reads: slots, documents, disputes ----------------------------------------------------------


async def test_reads_before_training(api: Api, journey: Journey) -> None:
    await publish_slot(api, await api.token("school1"))
    # At sign-up there is nothing to book, and nothing in the archive yet.
    assert (await api.http.get(journey.url("/slots"), headers=journey.me)).json() == []
    for kind in ("certificate", "registration", "contract", "../etc"):
        r = await api.http.get(journey.url(f"/documents/{kind}.pdf"), headers=journey.me)
        assert r.status_code == 404, kind


async def test_withdrawing_an_open_slot(api: Api) -> None:
    staff = await api.token("school1")
    slot = await publish_slot(api, staff)
    url = f"/api/school/slots/{slot['id']}"
    r = await api.http.delete(url, headers=staff)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = await api.http.delete(url, params={"reason": "场地维修"}, headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    # Again: already withdrawn, the same answer; an unknown slot is not found.
    r = await api.http.request("DELETE", url, json={"reason": "场地维修"}, headers=staff)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api.http.delete("/api/school/slots/TS-none", params={"reason": "x"}, headers=staff)
    assert r.status_code == 404


async def test_a_booked_slot_is_withdrawn_through_the_journey(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey
) -> None:
    staff = await api.token("school1")
    slot = await publish_slot(api, staff)
    now = datetime.now(UTC)
    with Session(engine_for(api.settings.database_url)) as session:
        row = session.get(TrainingSlot, slot["id"])
        assert row is not None
        session.add(
            SlotBooking(
                id=f"{journey.wf_id}:booking-1",
                slot_id=row.id,
                journey_id=journey.wf_id,
                learner_id="U-x",
                school_id=SCHOOL,
                subject="field",
                start=row.start,
                end=row.end,
                hours=1,
                rate_fen=row.rate_fen,
                rate_kind=row.rate_kind,
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    r = await api.http.delete(
        f"/api/school/slots/{slot['id']}", params={"reason": "教练生病"}, headers=staff
    )
    assert r.status_code == 202, r.text
    assert r.json() == {
        "status": "cancelling",
        "slot_id": slot["id"],
        "booking_id": f"{journey.wf_id}:booking-1",
    }
    signals = [
        e
        for e in (await journey.handle.fetch_history()).events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert [e.workflow_execution_signaled_event_attributes.signal_name for e in signals] == [
        "school_cancelled"
    ]


async def test_disputes_in_the_region(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read model picks active training journeys in the region; each one's view gives
    its disputed records. A journey that cannot be read is left out."""
    now = datetime.now(UTC)
    with Session(engine_for(api.settings.database_url)) as session:
        for wf_id, city, stage, status in [
            ("j-rz-field", "371100", "field", "active"),
            ("j-rz-gone", "371100", "road", "active"),  # its workflow is not found
            ("j-rz-done", "371100", "closed", "completed"),
            ("j-fz-road", "350100", "road", "active"),
        ]:
            session.add(
                JourneyRecord(
                    workflow_id=wf_id,
                    learner_id="U-learner1",
                    school_id=SCHOOL if city == "371100" else "S350100001",
                    city_code=city,
                    vehicle_class="C1",
                    coach_id="K",
                    stage=stage,
                    status=status,
                    waiting_on="learner",
                    stage_entered_at=now,
                    started_at=now,
                    updated_at=now,
                )
            )
        session.commit()
    asked: list[str] = []

    async def fake_view(client: object, wf_id: str) -> JourneyView:
        asked.append(wf_id)
        if wf_id == "j-rz-gone":
            from api.errors import not_found

            raise not_found("journey")
        state = JourneyState()
        state.records = [
            _record("R1", "confirmed", ""),
            _record("R2", "disputed", "教练未到场"),
            _record("R3", "contested", "时长不符"),
        ]
        school = SCHOOL if wf_id.startswith("j-rz") else "S350100001"
        return JourneyView(wf_id, "U-learner1", school, "", "C1", "K", state)

    monkeypatch.setattr("api.disputes.fetch_view", fake_view)
    r = await api.http.get("/api/gov/disputes", headers=await api.token("rizhao"))
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "workflow_id": "j-rz-field",
            "school_id": SCHOOL,
            "record_no": "R2",
            "subject": "field",
            "reason": "教练未到场",
            "status": "disputed",
            "answer": "",
        },
        {
            "workflow_id": "j-rz-field",
            "school_id": SCHOOL,
            "record_no": "R3",
            "subject": "field",
            "reason": "时长不符",
            "status": "contested",
            "answer": "",
        },
    ]
    assert sorted(asked) == ["j-rz-field", "j-rz-gone"]
    r = await api.http.get("/api/gov/disputes", headers=await api.token("shandong"))
    assert {d["workflow_id"] for d in r.json()} == {"j-rz-field"}
    r = await api.http.get("/api/gov/disputes", headers=await api.token("fuzhou"))
    assert {d["workflow_id"] for d in r.json()} == {"j-fz-road"}
    r = await api.http.get(
        "/api/gov/disputes", params={"limit": 0}, headers=await api.token("rizhao")
    )
    assert r.status_code == 422


def _record(record_no: str, status: str, reason: str) -> RecordEntry:
    now = datetime.now(UTC)
    return RecordEntry(
        record_no=record_no,
        session_id=record_no,
        subject="field",
        mode="practical",
        day=now.date().isoformat(),
        start=now,
        end=now,
        valid_minutes=60,
        counted_minutes=60,
        status=status,
        dispute_reason=reason,
    )


async def test_open_slots_leave_out_hours_the_learner_already_holds(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed: the school's open slots of the current subject, unbooked, in the horizon, and at
    an hour the learner is free (a booking of theirs, in any journey, holds the hour)."""
    staff = await api.token("school1")
    first = await publish_slot(api, staff)
    road = await api.http.post(
        "/api/school/slots",
        json={
            "subject": "road",
            "kind": "car",
            "coach_id": f"{SCHOOL}-K2",
            "vehicle_id": f"{SCHOOL}-V2",
            "start": (datetime.fromisoformat(first["start"]) + timedelta(hours=1)).isoformat(),
            "hours": 2,
        },
        headers=staff,
    )
    assert road.status_code == 201, road.text
    later = (datetime.fromisoformat(first["start"]) + timedelta(days=1)).isoformat()
    r = await api.http.post(
        "/api/school/slots",
        json={
            "subject": "field",
            "kind": "car",
            "coach_id": f"{SCHOOL}-K1",
            "vehicle_id": f"{SCHOOL}-V1",
            "ground_id": f"{SCHOOL}-G1",
            "start": later,
            "hours": 1,
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    later_id = r.json()["id"]

    async def at_field(session: object, client: object, wf_id: str, learner: User) -> JourneyView:
        state = JourneyState()
        state.stage = Stage.field
        return JourneyView(wf_id, learner.id, SCHOOL, "371100", "C1", f"{SCHOOL}-K1", state)

    monkeypatch.setattr("api.routes.training.own_journey", at_field)
    me = await api.token("learner1")
    url = "/api/learner/journeys/j-any/slots"
    listed = (await api.http.get(url, headers=me)).json()
    assert [s["id"] for s in listed] == [first["id"], later_id]
    # learner1 trains at the first slot's hour in another journey: that slot is not for them.
    with Session(engine_for(api.settings.database_url)) as session:
        start_at = datetime.fromisoformat(first["start"]).astimezone(UTC)
        session.add(ResourceHold(resource="learner:U-learner1", hour_start=start_at, owner="x"))
        session.commit()
    listed = (await api.http.get(url, headers=me)).json()
    assert [s["id"] for s in listed] == [later_id]
    listed = (await api.http.get(url, headers=await api.token("learner2"))).json()
    assert [s["id"] for s in listed] == [first["id"], later_id]
