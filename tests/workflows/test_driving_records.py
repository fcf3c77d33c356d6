"""The graduates' driving-record pull on the time-skipping server, against the 12123 simulator
over HTTP: an outage is retried until 12123 answers, only records within three years of
licensing of the school's own graduates are stored, each once, and the next pull goes on from
where this one stopped."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.driving_records import DrivingRecordActivities, PullPage
from activities.http import SubsystemClient
from core.db import make_engine, migrate
from models.demo import load_demo_data
from models.evaluation import GraduateIncident
from models.journeys import JourneyRecord
from subsystems import exam12123
from subsystems.runner import serve_apps
from workflows.driving_records import GraduateRecordsPull, PullInput, PullSummary

SCHOOL, OTHER = "S371100001", "S371100002"


@dataclass
class Pull:
    env: WorkflowEnvironment
    queue: str
    engine: Engine
    exam: httpx.AsyncClient  # the 12123 simulator

    async def run(self, page_size: int = 2) -> PullSummary:
        return await self.env.client.execute_workflow(
            GraduateRecordsPull.run,
            PullInput(page_size),
            id=f"pull-{uuid.uuid4().hex[:8]}",
            task_queue=self.queue,
        )

    def stored(self) -> list[tuple[str, str, str, str]]:
        with Session(self.engine) as session:
            rows = session.exec(select(GraduateIncident).order_by(GraduateIncident.id)).all()
            return [(r.id, r.learner_id, r.kind, r.severity) for r in rows]


def graduate(engine: Engine, learner_id: str, learner_no: str, school: str) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            JourneyRecord(
                workflow_id=f"journey-{learner_id}-{school}-C1",
                learner_id=learner_id,
                school_id=school,
                city_code="371100",
                vehicle_class="C1",
                coach_id=f"{school}-K1",
                stage="closed",
                status="completed",
                waiting_on="nobody",
                stage_entered_at=now,
                started_at=now,
                updated_at=now,
                learner_no=learner_no,
            )
        )
        session.commit()


@pytest.fixture
async def pull(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Pull]:
    url = f"sqlite:///{tmp_path / 'pull.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo_data(session)
    graduate(engine, "U-learner1", "N-1", SCHOOL)
    graduate(engine, "U-learner2", "N-2", OTHER)
    app = exam12123.create_app(":memory:", "secret")
    async with serve_apps({"exam": app}) as urls:
        client = SubsystemClient("exam", urls["exam"], timeout=5)
        records = DrivingRecordActivities(client, engine)
        queue = f"pull-{uuid.uuid4().hex}"
        async with (
            Worker(
                ts_env.client,
                task_queue=queue,
                workflows=[GraduateRecordsPull],
                activities=[records.positions, records.pull_page],
                activity_executor=ThreadPoolExecutor(2),
            ),
            httpx.AsyncClient(base_url=urls["exam"]) as exam,
        ):
            yield Pull(ts_env, queue, engine, exam)
        await client.aclose()
    engine.dispose()


async def licence(exam: httpx.AsyncClient, learner_no: str, school: str, day: str) -> None:
    body = {"learner_no": learner_no, "school_id": school, "licensed_at": day}
    assert (await exam.post("/_simulate/licences", json=body)).status_code == 201


async def incident(exam: httpx.AsyncClient, learner_no: str, kind: str, at: str) -> None:
    body = {"learner_no": learner_no, "kind": kind, "occurred_at": at, "points": 3}
    if kind == "accident":
        body["severity"] = "injury"
    assert (await exam.post("/_simulate/violations", json=body)).status_code == 201


async def test_an_outage_is_retried_and_only_the_three_years_after_licensing_count(
    pull: Pull,
) -> None:
    exam = pull.exam
    await licence(exam, "N-1", SCHOOL, "2025-03-01")
    await licence(exam, "N-2", OTHER, "2025-03-01")
    await licence(exam, "N-9", SCHOOL, "2025-03-01")  # not a graduate the platform knows
    await incident(exam, "N-1", "violation", "2025-02-28T23:00:00")  # before the licence: 1
    await incident(exam, "N-1", "violation", "2025-03-01T08:00:00")  # 2
    await incident(exam, "N-2", "violation", "2026-01-01T08:00:00")  # 3, the other school's
    await incident(exam, "N-9", "violation", "2026-01-01T08:00:00")  # 4
    await incident(exam, "N-1", "accident", "2028-02-29T23:59:59")  # the last day: 5
    await incident(exam, "N-1", "violation", "2028-03-01T00:00:00")  # three years on: 6
    await exam.put("/_faults", json={"error_rate": 1.0})
    handle = await pull.env.client.start_workflow(
        GraduateRecordsPull.run, PullInput(2), id="pull-outage", task_queue=pull.queue
    )

    async def retrying() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return bool(pending) and pending[0].attempt >= 3

    await eventually(retrying)
    await exam.put("/_faults", json={"error_rate": 0.0})
    summary = await handle.result()
    assert pull.stored() == [
        ("12123-0000000002", "U-learner1", "violation", "3"),
        ("12123-0000000003", "U-learner2", "violation", "3"),
        ("12123-0000000005", "U-learner1", "accident", "injury"),
    ]
    assert (summary.stored, summary.outside_window, summary.unknown_driver) == (3, 2, 1)
    assert summary.by_school == {SCHOOL: 2, OTHER: 1}
    # The next pull reads on from there: only what is new, nothing twice.
    await incident(exam, "N-1", "violation", "2027-06-01T08:00:00")  # 7
    again = await pull.run()
    assert (again.stored, again.outside_window) == (1, 0)
    assert [row[0] for row in pull.stored()][-1] == "12123-0000000007"


async def test_a_page_read_twice_stores_nothing_twice(pull: Pull) -> None:
    await licence(pull.exam, "N-1", SCHOOL, "2025-03-01")
    await incident(pull.exam, "N-1", "violation", "2025-04-01T08:00:00")
    client = SubsystemClient("exam", str(pull.exam.base_url), timeout=5)
    records = DrivingRecordActivities(client, pull.engine)
    page = PullPage("pull-x:S371100001:0", SCHOOL, 0)
    first = await ActivityEnvironment().run(records.pull_page, page)
    second = await ActivityEnvironment().run(records.pull_page, page)  # a retry, a second pull
    await client.aclose()
    assert (first.stored, second.stored, second.read) == (1, 0, 1)
    assert len(pull.stored()) == 1


async def eventually(predicate: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    """Polls until `predicate` holds (the test fails after `seconds`)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)
