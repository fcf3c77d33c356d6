"""Starting a journey: bad input is a 422 naming the field, and nothing starts."""

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from core.db import engine_for
from models.users import User
from tests.api.conftest import Api
from tests.factories import VALID_ID

GOOD = {
    "school_id": "S371100001",
    "coach_id": "S371100001-K1",
    "vehicle_class": "C1",
    "name": "张三",
    "phone": "13800138000",
    "id_number": VALID_ID,
    "lat": 35.42,
    "lon": 119.52,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
        ({"id_number": "11010519491331002X"}, "id_number"),  # month 13
        ({"phone": "12345"}, "phone"),
        ({"school_id": "S999"}, "school_id"),
        (
            {"vehicle_class": "C2", "school_id": "S371100002", "coach_id": "S371100002-K1"},
            "vehicle_class",
        ),
        ({"coach_id": "S371100001-K2", "vehicle_class": "C2"}, "coach_id"),  # K2 teaches C1 only
        ({"coach_id": "S371100002-K1"}, "coach_id"),  # another school's coach
        ({"lat": 123}, "lat"),
    ],
)
async def test_bad_enrolment_is_refused_naming_the_field(
    api: Api, dev_env: WorkflowEnvironment, change: dict, field: str
) -> None:
    headers = await api.token("learner1")
    r = await api.http.post("/api/learner/journeys", json={**GOOD, **change}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
    listed = [
        wf async for wf in dev_env.client.list_workflows(f"TaskQueue = '{api.settings.task_queue}'")
    ]
    assert listed == []


async def test_double_submit_starts_one_journey(api: Api, dev_env: WorkflowEnvironment) -> None:
    learner = api.add_learner()
    headers = await api.token(learner)
    first = await api.http.post("/api/learner/journeys", json=GOOD, headers=headers)
    second = await api.http.post("/api/learner/journeys", json=GOOD, headers=headers)
    assert first.status_code == second.status_code == 201
    wf_id = first.json()["workflow_id"]
    assert second.json()["workflow_id"] == wf_id == f"journey-U-{learner}-S371100001-C1"
    runs = [wf async for wf in dev_env.client.list_workflows(f"WorkflowId = '{wf_id}'")]
    assert len(runs) == 1
    await dev_env.client.get_workflow_handle(wf_id).terminate("test done")


async def test_enrolling_again_after_an_end_is_a_new_journey(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    """The ended enrolment keeps its id (and its keys, orders and ledger rows); the new one
    gets the next."""
    headers = await api.token(api.add_learner())
    ids = []
    for _ in range(3):
        r = await api.http.post("/api/learner/journeys", json=GOOD, headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["workflow_id"])
        await dev_env.client.get_workflow_handle(ids[-1]).terminate("ended")
    assert ids[1:] == [f"{ids[0]}-2", f"{ids[0]}-3"]


OTHER_ID = "371102199506123459"  # another person, valid check digit


async def test_the_id_number_is_bound_to_the_account(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    me, someone = api.add_learner(), api.add_learner()
    mine = await api.token(me)
    r = await api.http.post("/api/learner/journeys", json=GOOD, headers=mine)
    assert r.status_code == 201, r.text
    await dev_env.client.get_workflow_handle(r.json()["workflow_id"]).terminate("test done")
    # The same account in someone else's name: refused, naming the field.
    r = await api.http.post(
        "/api/learner/journeys", json={**GOOD, "id_number": OTHER_ID}, headers=mine
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "id_number", r.text
    assert "不一致" in r.json()["detail"][0]["msg"]
    # Another account with my number: refused, and nothing starts for it.
    r = await api.http.post("/api/learner/journeys", json=GOOD, headers=await api.token(someone))
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "id_number", r.text
    started = [
        wf
        async for wf in dev_env.client.list_workflows(
            f"WorkflowId STARTS_WITH 'journey-U-{someone}'"
        )
    ]
    assert started == []
    with Session(engine_for(api.settings.database_url)) as session:
        assert session.get(User, f"U-{someone}").id_number is None  # type: ignore[union-attr]
