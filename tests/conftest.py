import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

import models  # noqa: F401 - registers every table
from core.db import make_engine, migrate
from models.demo import load_demo_data
from tests import servers

# The tests run the demo platform: demo mode is asked for, as `make run` asks for it (the
# default is off). Processes the tests start inherit it.
os.environ.setdefault("XUEJIA_DEMO_MODE", "true")

# Property tests: a handful of generated journeys in `make test`, many in `make fuzz`.
settings.register_profile("default", max_examples=8)
settings.register_profile("fuzz", max_examples=150)
settings.load_profile(os.environ.get("XUEJIA_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if servers.postgres_bin("initdb") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but PostgreSQL binaries (initdb, pg_ctl) are missing")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed; CI runs these tests")
    with servers.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL 15, each schema made by the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    migrate(url)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_engine(engine: Engine) -> Engine:
    with Session(engine) as session:
        load_demo_data(session)
    return engine


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (it starts in ~0.1 s): one test's clock, timers and
    in-flight updates can never hold up another's."""
    env = await servers.time_skipping_env()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await servers.dev_server_env()
    yield env
    await env.shutdown()
