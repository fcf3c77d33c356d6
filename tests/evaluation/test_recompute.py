"""The recompute workflow on the time-skipping server, and its Schedule on the dev server (the
time-skipping server does not implement schedules)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.quality_index import IndexActivities
from core.config import ROOT, Settings
from evaluation import reading
from policy.loader import load_quality_indexes
from scripts.schedules import GRADUATE_RECORDS, ensure_schedules, index_schedule_id
from tests.evaluation.seeds import CITY, balanced_city, seed
from workflows.quality_index import IndexRecompute, IndexRecomputeWorkflow

POLICIES = [ROOT / "policy" / "demo.yaml", ROOT / "policy" / "fuzhou.yaml"]


@asynccontextmanager
async def index_worker(client: Client, engine: Engine, policies: list[Path]) -> AsyncIterator[str]:
    task_queue = f"index-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[IndexRecomputeWorkflow],
        activities=[IndexActivities(engine, policies).publish],
        activity_executor=ThreadPoolExecutor(max_workers=2),
    ):
        yield task_queue


@pytest.fixture
def sqlite_engine(demo_engine: Engine, db_url: str) -> Iterator[Engine]:
    if not db_url.startswith("sqlite"):
        pytest.skip("the workflow's storage is tested on SQLite; the statistics on both")
    seed(demo_engine, balanced_city())
    yield demo_engine


async def test_the_recompute_publishes_as_of_its_own_clock(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    async with index_worker(ts_env.client, sqlite_engine, POLICIES) as task_queue:
        await ts_env.sleep(timedelta(days=3))  # the workflow's clock, not the machine's
        outcome = await ts_env.client.execute_workflow(
            IndexRecomputeWorkflow.run,
            IndexRecompute(CITY),
            id="index-371100-test",
            task_queue=task_queue,
        )
    assert (outcome.publication_id, outcome.refused, outcome.schools) == (
        "index-371100-test",
        "",
        3,
    )
    with Session(sqlite_engine) as session:
        latest = reading.latest_publication(session, CITY)
    assert latest is not None and latest.id == "index-371100-test"
    assert latest.as_of.replace(tzinfo=outcome.as_of.tzinfo) == outcome.as_of
    assert latest.trigger == "schedule" and latest.policy_version == "demo-1"


async def test_a_city_without_index_rules_is_refused_not_failed(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    async with index_worker(ts_env.client, sqlite_engine, [ROOT / "policy" / "demo.yaml"]) as q:
        outcome = await ts_env.client.execute_workflow(
            IndexRecomputeWorkflow.run, IndexRecompute("350100"), id="index-fz", task_queue=q
        )
    assert outcome.refused == "城市 350100 的政策文件未设置服务质量指数规则"
    with Session(sqlite_engine) as session:
        assert reading.latest_publication(session, "350100") is None


@pytest.mark.devserver
async def test_the_schedule_starts_the_recompute_at_the_policys_interval(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    rules = load_quality_indexes(POLICIES)
    async with index_worker(dev_env.client, sqlite_engine, POLICIES) as task_queue:
        settings = Settings(task_queue=task_queue, policy_paths=POLICIES)
        ids = await ensure_schedules(dev_env.client, settings)
        assert ids == [GRADUATE_RECORDS, index_schedule_id("350100"), index_schedule_id(CITY)]
        await ensure_schedules(dev_env.client, settings)  # again: updated
        handle = dev_env.client.get_schedule_handle(index_schedule_id(CITY))
        try:
            described = await handle.describe()
            interval = described.schedule.spec.intervals[0].every
            assert interval == timedelta(seconds=rules[CITY].recompute_every)
            await handle.trigger()
            deadline = time.monotonic() + 30
            while True:
                with Session(sqlite_engine) as session:
                    published = reading.latest_publication(session, CITY)
                if published is not None or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            for schedule in ids:
                await dev_env.client.get_schedule_handle(schedule).delete()
    assert published is not None and published.id.startswith(f"{index_schedule_id(CITY)}-")
    assert published.trigger == "schedule"
