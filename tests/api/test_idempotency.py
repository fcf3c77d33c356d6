"""Idempotency-Key: scoped by caller and action, and bound to the request it first came with;
and an enrolment posted again with other data is refused, not silently dropped.

The journeys here move: a worker runs the journey with the fake subsystems of the workflow
tests, against the API's own database.
"""

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records import RecordActivities
from core.db import engine_for
from tests.api.conftest import Api
from tests.api.test_training_routes import ENROLMENT, Journey, footprint
from tests.factories import until
from tests.workflows.fakes import FakeSubsystems
from workflows.journey import LearnerJourney
from workflows.journey_state import HealthResult

HEALTH_CHECK = {"centre_id": "H371100001", "slot": "2026-11-02T08:00"}


@pytest.fixture
async def fakes(api: Api, dev_env: WorkflowEnvironment) -> AsyncIterator[FakeSubsystems]:
    fakes = FakeSubsystems()
    records = RecordActivities(engine_for(api.settings.database_url))
    async with Worker(
        dev_env.client,
        task_queue=api.settings.task_queue,
        workflows=[LearnerJourney],
        activities=[*fakes.activities(), records.project_journey, records.post_ledger],
        activity_executor=ThreadPoolExecutor(4),
    ):
        yield fakes


@pytest.fixture
async def journey(
    api: Api, dev_env: WorkflowEnvironment, fakes: FakeSubsystems
) -> AsyncIterator[Journey]:
    """A journey at the health check."""
    me = await api.token(api.add_learner())
    r = await api.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
    assert r.status_code == 201, r.text
    wf_id = r.json()["workflow_id"]
    j = Journey(wf_id, me, dev_env.client.get_workflow_handle(wf_id))
    await until(j.handle, lambda v: v.state.stage == "health_check")
    yield j
    await j.handle.terminate("test done")


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def book_health_check(api: Api, journey: Journey, key: str) -> dict[str, Any]:
    r = await api.http.post(
        journey.url("/health-check"), json=HEALTH_CHECK, headers=keyed(journey.me, key)
    )
    assert r.status_code == 200, r.text
    return r.json()


async def withdraws(api: Api, journey: Journey, key: str) -> bool:
    """Whether the learner's withdrawal under `key` is carried out (not merely answered)."""
    r = await api.http.post(
        journey.url("/withdraw"), json={"reason": "搬家"}, headers=keyed(journey.me, key)
    )
    assert r.status_code == 200, r.text
    view = await api.http.get(journey.url(), headers=journey.me)
    return view.json()["state"]["withdraw_requested"] == "搬家"


async def test_a_key_used_by_one_caller_does_not_answer_another(api: Api, journey: Journey) -> None:
    """The school approves 面签 with a key; the learner's withdrawal with the same key must
    withdraw, not be answered with the school's approval."""
    booking = (await book_health_check(api, journey, "K1"))["booking_id"]
    await journey.handle.signal(
        LearnerJourney.health_result, HealthResult(booking, True, datetime.now(UTC))
    )
    await until(journey.handle, lambda v: v.state.stage == "signing")
    school1 = keyed(await api.token("school1"), "K2")
    r = await api.http.post(
        f"/api/school/journeys/{journey.wf_id}/signing/approve", headers=school1
    )
    assert r.status_code == 200, r.text
    assert await withdraws(api, journey, "K2")


async def test_a_key_used_for_one_action_does_not_answer_another(
    api: Api, journey: Journey
) -> None:
    await book_health_check(api, journey, "K1")
    assert await withdraws(api, journey, "K1")


async def test_a_retry_with_its_key_gets_the_first_answer_and_another_request_a_422(
    api: Api, dev_env: WorkflowEnvironment, journey: Journey, fakes: FakeSubsystems
) -> None:
    first = await book_health_check(api, journey, "K1")
    again = await book_health_check(api, journey, "K1")
    assert again == first and first["booking_id"] != ""
    assert len([c for c in fakes.calls if c[0] == "health"]) == 1
    before = await footprint(api, dev_env, journey)
    other = {**HEALTH_CHECK, "slot": "2026-11-03T08:00"}
    r = await api.http.post(
        journey.url("/health-check"), json=other, headers=keyed(journey.me, "K1")
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert r.json()["detail"][0]["type"] == "idempotency_key_reused"
    # The key is refused before the journey is asked: nothing is written.
    assert await footprint(api, dev_env, journey) == before


# ---- enrolment posted again -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"coach_id": "S371100001-K2"}, "coach_id"),
        ({"name": "李四"}, "name"),
        ({"phone": "13900139000"}, "phone"),
    ],
)
async def test_enrolling_again_with_other_data_is_refused_naming_the_journey(
    api: Api, dev_env: WorkflowEnvironment, change: dict[str, str], field: str
) -> None:
    me = await api.token(api.add_learner())
    first = await api.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
    assert first.status_code == 201, first.text
    wf_id = first.json()["workflow_id"]
    try:
        r = await api.http.post("/api/learner/journeys", json={**ENROLMENT, **change}, headers=me)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "enrolment_exists"
        assert r.json()["detail"][0]["loc"][-1] == field
        assert wf_id in r.json()["detail"][0]["msg"]
        assert r.json()["journey_id"] == wf_id  # the existing journey, for the client to open
        same = await api.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
        assert (same.status_code, same.json()) == (201, {"workflow_id": wf_id})
        runs = [wf async for wf in dev_env.client.list_workflows(f"WorkflowId = '{wf_id}'")]
        assert len(runs) == 1
    finally:
        await dev_env.client.get_workflow_handle(wf_id).terminate("test done")
