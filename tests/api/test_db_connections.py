"""A request gives its database connection back before it waits on Temporal.

Holding one across that wait starved the pool: past the pool's size (5 + 10 on SQLite) every
further learner waited 30 s for a connection and got a 500, and the API stopped answering
(make bench, 200 concurrent learners). Here the journey engine is a stand-in that holds every
call until the test lets it go, so the test sees what each request holds while it waits.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from api.main import create_app
from core.db import engine_for, migrate
from models.demo import load_demo_data
from models.users import User
from tests.api.conftest import Api
from tests.api.conftest import test_settings as settings_in
from workflows.journey_state import JourneyState, JourneyView, UpdateOutcome

SCHOOL = "S371100001"
MORE_THAN_THE_POOL = 40  # the pool holds 15 connections


@dataclass
class HeldEngine:
    """Temporal as the API sees it: every query and Update waits for `release`."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def get_workflow_handle(self, wf_id: str) -> "HeldJourney":
        return HeldJourney(self, wf_id)

    async def hold(self) -> None:
        async with self.changed:
            self.waiting += 1
            self.changed.notify_all()
        await self.release.wait()

    async def until_waiting(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.waiting >= count), 60)


@dataclass
class HeldJourney:
    engine: HeldEngine
    wf_id: str

    async def query(self, *_: Any) -> JourneyView:
        await self.engine.hold()
        return JourneyView(self.wf_id, "U-learner1", SCHOOL, "371100", "C1", "K", JourneyState())

    async def execute_update(self, *_: Any, **__: Any) -> UpdateOutcome:
        await self.engine.hold()
        return UpdateOutcome("withdrawal_requested", "signup", "active", "learner", 1)

    async def fetch_history_events(self, **_: Any) -> AsyncIterator[Any]:
        """Who enrolled, for the detail's applicant block: the history is gone (none shown)."""
        await self.engine.hold()
        return
        yield


@pytest.fixture
async def held(tmp_path: Path) -> AsyncIterator[tuple[Api, HeldEngine]]:
    settings = settings_in(tmp_path)
    migrate(settings.database_url)
    with Session(engine_for(settings.database_url)) as session:
        load_demo_data(session)
    engine = HeldEngine()
    app = create_app(settings, temporal=engine)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Api(app, http, settings), engine


def checked_out(api: Api) -> int:
    return engine_for(api.settings.database_url).pool.checkedout()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "method, tail, body",
    [
        ("GET", "", None),  # a query
        ("POST", "/withdraw", {"reason": "搬家"}),  # an Update, after the query
        ("POST", "/health-check", {"centre_id": "H371100001", "slot": "2030-01-02T09:00"}),
    ],
)
async def test_no_connection_is_held_while_the_journey_answers(
    held: tuple[Api, HeldEngine], method: str, tail: str, body: dict[str, str] | None
) -> None:
    api, engine = held
    me = await api.token("learner1")
    url = f"/api/learner/journeys/journey-U-learner1-{SCHOOL}-C1{tail}"
    request = asyncio.create_task(api.http.request(method, url, json=body, headers=me))
    waits = 1 if method == "GET" else 2  # an Update route reads the view first
    for n in range(1, waits + 1):
        await engine.until_waiting(n)
        assert checked_out(api) == 0
        if n < waits:
            engine.release.set()
            engine.release.clear()
    engine.release.set()
    assert (await request).status_code == 200


async def test_more_learners_than_connections_all_reach_the_journey(
    held: tuple[Api, HeldEngine],
) -> None:
    api, engine = held
    me = await api.token("learner1")
    url = f"/api/learner/journeys/journey-U-learner1-{SCHOOL}-C1"
    requests = [
        asyncio.create_task(api.http.get(url, headers=me)) for _ in range(MORE_THAN_THE_POOL)
    ]
    await engine.until_waiting(MORE_THAN_THE_POOL)
    engine.release.set()
    assert {r.status_code for r in await asyncio.gather(*requests)} == {200}


async def test_a_database_that_cannot_answer_is_a_503(
    held: tuple[Api, HeldEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = held
    me = await api.token("learner1")

    def unreachable(*_: Any, **__: Any) -> User:
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(Session, "get", unreachable)
    r = await api.http.get("/api/learner/journeys", headers=me)
    assert (r.status_code, r.json()["code"]) == (503, "unavailable")
