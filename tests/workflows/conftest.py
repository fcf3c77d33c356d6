import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bank import BankActivities
from activities.bookings import BookingActivities
from activities.records import JourneyProjection, RecordActivities
from activities.reviews import ReviewActivities
from core.config import DEMO_CODEC_KEYS
from core.db import make_engine, migrate
from models import journey_log
from models.demo import load_demo_data
from models.ledger import EntryKind, LedgerEntry
from tests import servers
from tests.workflows.fakes import FakeSubsystems
from workflows.journey import LearnerJourney
from workflows.journey_state import JourneyInput, JourneyResult, JourneyView

# Histories recorded by today's code; those under before_lifecycle_patch/ and
# before_footprint_patch/ were recorded by the code that ran before those rules and are never
# re-recorded.
HISTORIES = Path(__file__).parent.parent / "data" / "histories" / "current"
# Journeys recorded through the payload codec on purpose (test_codec_journeys.py): encrypted,
# one of them begun under a key rotated out since (PRE_ROTATION_KEY) and finished under the
# demo ring's key. The replay's ring is the demo ring with that older key kept.
CODEC_HISTORIES = HISTORIES.parent / "codec"
PRE_ROTATION_KEY = "before-rotation:1yWx0h1c0n8XwO2BTmYhH1r4C2KfR8bq2o8a6mQ5vXo="
REPLAY_KEYS = f"{DEMO_CODEC_KEYS},{PRE_ROTATION_KEY}"


@dataclass
class Harness:
    env: WorkflowEnvironment
    task_queue: str
    fakes: FakeSubsystems
    engine: Engine
    started: list[WorkflowHandle] = field(default_factory=list)
    # Sessions go on successive days (the daily caps), counted ahead of the server's clock
    # instead of skipping time: practical ones within the booking horizon.
    practical_days: int = 0
    theory_days: int = 0

    def next_practical_day(self) -> int:
        self.practical_days += 1
        return self.practical_days

    def next_theory_day(self) -> int:
        self.theory_days += 1
        return self.theory_days

    async def start(self, inp: JourneyInput) -> WorkflowHandle:
        started = await self.env.client.start_workflow(
            LearnerJourney.run,
            inp,
            id=f"journey-{inp.learner_id}-{uuid.uuid4().hex[:8]}",
            task_queue=self.task_queue,
        )
        # Not bound to the first run: queries, updates and results follow continue-as-new.
        return self.follow(started.id)

    async def sleep(self, duration: timedelta | float) -> None:
        """Skips time on the server however long the activities in between take."""
        await servers.skip_time(self.env, duration)

    def follow(self, workflow_id: str) -> WorkflowHandle:
        handle = JourneyHandle(self.env.client, workflow_id, self.engine)
        self.started.append(handle)
        return handle

    async def keep_history(self, handle: WorkflowHandle, name: str) -> None:
        await keep_history(handle, name)

    async def terminate_running(self) -> None:
        """A journey left running would wake with no worker and hold the shared server's clock."""
        for handle in self.started:
            desc = await handle.describe()
            if desc.status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")

    def ledger(self, journey_id: str) -> dict[str, int]:
        """Totals per kind from the database ledger; "release" and "refund" net of
        clawbacks (money the school was paid, handed back to the learner)."""
        totals = {k.value: 0 for k in EntryKind}
        with Session(self.engine) as session:
            for row in session.exec(
                select(LedgerEntry).where(LedgerEntry.journey_id == journey_id)
            ):
                totals[row.kind.value] += row.amount_fen
        totals["release"] -= totals["clawback"]
        totals["refund"] += totals["clawback"]
        return totals

    def assert_ledger_matches_bank(self, journey_id: str, held: int) -> None:
        """deposited = held + released + refunded, and the bank agrees entry by entry."""
        t = self.ledger(journey_id)
        assert t["deposit"] == held + t["release"] + t["refund"]
        assert self.fakes.balances[journey_id] == [t["deposit"], t["release"], t["refund"]]


async def keep_history(handle: WorkflowHandle, name: str, folder: Path = HISTORIES) -> None:
    """With XUEJIA_RECORD_HISTORIES=1 (`make record-histories`), saves the finished workflow's
    history under `folder` for the replay tests; otherwise does nothing."""
    if os.environ.get("XUEJIA_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    folder.mkdir(parents=True, exist_ok=True)
    # Idempotency keys derive from the workflow id, so replay needs the original one.
    record = {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}
    (folder / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False))


class JourneyHandle(WorkflowHandle[Any, JourneyResult]):
    """A journey's handle whose view is the one people see: the state with the log the journey
    wrote to the harness's read model put back (models/journey_log.py), as the API shows it."""

    def __init__(self, client: Client, workflow_id: str, engine: Engine) -> None:
        super().__init__(client, workflow_id, result_type=JourneyResult)
        self._engine = engine

    async def query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        answer = await super().query(query, *args, **kwargs)
        if not isinstance(answer, JourneyView):
            return answer
        with Session(self._engine) as session:
            return journey_log.full_view(session, answer)


@asynccontextmanager
async def running_harness(
    env: WorkflowEnvironment,
    tmp_path: Path,
    projection_delay: float = 0.0,
    bank: BankActivities | None = None,
) -> AsyncIterator[Harness]:
    """A worker with fake subsystems and a real SQLite read model; `projection_delay` slows
    every read-model write, so actions land while one is still in flight; `bank` puts the
    real bank adapter (against a simulator) in place of the fake bank."""
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo_data(session)
    fakes = FakeSubsystems(journey_lines=journey_log.training_lines_reader(engine))
    records = RecordActivities(engine)
    bookings = BookingActivities(engine)

    @activity.defn(name="records.project_journey")
    def project_journey(p: JourneyProjection) -> None:
        time.sleep(projection_delay)
        records.project_journey(p)

    queue = f"test-{uuid.uuid4().hex}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[LearnerJourney],
        activities=[
            *fakes.activities(bank=bank is None),
            *(
                [
                    bank.create_order,
                    bank.cancel_order,
                    bank.find_payment,
                    bank.release,
                    bank.refund,
                    bank.claw_back,
                    bank.issue_invoice,
                ]
                if bank is not None
                else []
            ),
            project_journey if projection_delay else records.project_journey,
            records.post_ledger,
            ReviewActivities(engine).record,
            bookings.book,
            bookings.cancel,
            bookings.complete,
            bookings.no_show,
        ],
        activity_executor=ThreadPoolExecutor(8),
    ):
        h = Harness(env, queue, fakes, engine)
        try:
            yield h
        finally:  # a failed test must not leave journeys holding the server's clock
            await h.terminate_running()
    engine.dispose()


@pytest.fixture
async def harness(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_harness(ts_env, tmp_path) as h:
        yield h


@pytest.fixture
async def slow_projection_harness(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with running_harness(ts_env, tmp_path, projection_delay=0.5) as h:
        yield h
