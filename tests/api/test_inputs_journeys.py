"""Input checks that need a real journey: a position off the Earth asked of a journey that
exists, and an ID number typed in other digits, stored in its one normal form."""

from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import engine_for
from models.users import User
from tests.api.conftest import Api
from tests.api.test_training_routes import ENROLMENT, Journey, start
from tests.factories import VALID_ID
from tests.test_idcard import to_fullwidth
from workflows.journey import LearnerJourney
from workflows.journey_state import JourneyInput


@pytest.fixture
async def worker(api: Api, dev_env: WorkflowEnvironment) -> AsyncIterator[None]:
    """Runs the journeys' workflow code (no activities: a journey waits at sign-up)."""
    async with Worker(
        dev_env.client, task_queue=api.settings.task_queue, workflows=[LearnerJourney]
    ):
        yield


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=inf&lon=119.5", "lat"),
        ("lat=35.4&lon=-infinity", "lon"),
        ("lat=nan&lon=119.5", "lat"),
        ("lat=95&lon=119.5", "lat"),
        ("lat=35.4&lon=200", "lon"),
    ],
)
async def test_health_centres_for_a_position_off_the_earth_are_a_422(
    api: Api, dev_env: WorkflowEnvironment, worker: None, query: str, field: str
) -> None:
    j: Journey = await start(api, dev_env)
    try:
        ok = await api.http.get(j.url("/health-centres?lat=35.4&lon=119.5"), headers=j.me)
        assert ok.status_code == 200 and ok.json(), ok.text
        r = await api.http.get(j.url(f"/health-centres?{query}"), headers=j.me)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", field]
    finally:
        await j.handle.terminate("test done")


async def test_an_id_number_in_fullwidth_digits_is_stored_in_ascii(
    api: Api, dev_env: WorkflowEnvironment, worker: None
) -> None:
    username = api.add_learner()
    me = await api.token(username)
    body = {**ENROLMENT, "id_number": to_fullwidth(VALID_ID)}
    r = await api.http.post("/api/learner/journeys", json=body, headers=me)
    assert r.status_code == 201, r.text
    handle = dev_env.client.get_workflow_handle(r.json()["workflow_id"])
    try:
        with Session(engine_for(api.settings.database_url)) as session:
            user = session.exec(select(User).where(User.username == username)).one()
        assert user.id_number == VALID_ID
        started = (await handle.fetch_history()).events[0]
        payloads = started.workflow_execution_started_event_attributes.input.payloads
        [inp] = await dev_env.client.data_converter.decode(payloads, [JourneyInput])
        assert inp.applicant.id_number == VALID_ID
    finally:
        await handle.terminate("test done")
