"""Processes that start together (the worker and the API on a new database, or several
replicas in production) migrate one at a time: every one succeeds and the schema is at head."""

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import text

from core.db import head_revision, make_engine, migrate

PROCESSES = 3


def _migrate_together(url: str, barrier: "multiprocessing.synchronize.Barrier") -> None:
    barrier.wait()
    migrate(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, object]]:
    """(url, reset): an empty database and how to empty it again."""
    if request.param == "sqlite":
        counter = iter(range(1000))

        def fresh() -> str:
            return f"sqlite:///{tmp_path / f'new-{next(counter)}.db'}"

        yield "sqlite", fresh
        return
    url = request.getfixturevalue("postgres_url")

    def reset() -> str:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        return url

    yield "postgres", reset


def test_processes_starting_together_all_migrate(fresh_db: tuple[str, object]) -> None:
    _, fresh = fresh_db
    ctx = multiprocessing.get_context("spawn")
    for _ in range(4):
        url = fresh()  # type: ignore[operator]
        barrier = ctx.Barrier(PROCESSES)
        procs = [
            ctx.Process(target=_migrate_together, args=(url, barrier)) for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * PROCESSES
        engine = make_engine(url)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        engine.dispose()
