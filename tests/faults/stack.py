"""The platform as real processes, started as `make run` starts them, for tests that kill them.

The Temporal dev server on a database file, each simulator the journey calls in a process of
its own (so one can be taken down alone), `python worker.py` and the API on uvicorn, all on
free ports under one temp dir; a learner drives it through the API as the demo script does.
"""

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session, select
from temporalio.client import Client

from activities.http import external_id
from core.db import engine_for, migrate
from models.demo import DEMO_PASSWORD
from models.ledger import EntryKind, LedgerEntry
from scripts.demo_journey import Demo, DemoUrls
from scripts.run import (
    WORKER_COMMAND,
    api_command,
    launch,
    simulators_command,
    stop_all,
    temporal_command,
    wait_for_port,
)
from tests.e2e import bank_totals, ledger_totals
from tests.servers import PostgresCluster, free_port, postgres_bin, postgres_cluster

# The simulators a journey calls, each alone in a process; the others share one.
OWN_PROCESS = ("national", "health", "bank", "timing", "exam")
SHARED = ("complaints", "enforcement", "sms")
# Generous: every step of a journey waits on a loaded 2-core machine.
WAIT = 120.0


@dataclass
class Stack:
    root: Path
    database_url: str
    postgres: PostgresCluster | None
    ports: dict[str, int]
    http: httpx.AsyncClient
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    # ---- where things are ---------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['temporal']}"

    def settings_env(self) -> dict[str, str]:
        """What the worker and the API are told through XUEJIA_* variables."""
        return {
            "XUEJIA_DEMO_MODE": "true",
            "XUEJIA_DEMO_HISTORY": "false",
            "XUEJIA_DATA_DIR": str(self.root / "var"),
            "XUEJIA_DATABASE_URL": self.database_url,
            "XUEJIA_TEMPORAL_ADDRESS": self.temporal_address,
            "XUEJIA_API_BASE_URL": self.url("api"),
            "XUEJIA_NATIONAL_URL": self.url("national"),
            "XUEJIA_HEALTH_URL": self.url("health"),
            "XUEJIA_BANK_URL": self.url("bank"),
            "XUEJIA_TIMING_URL": self.url("timing"),
            "XUEJIA_EXAM_URL": self.url("exam"),
            "XUEJIA_COMPLAINTS_URL": self.url("complaints"),
            "XUEJIA_SMS_URL": self.url("sms"),
            # Longer than a test needs to kill the worker while the bank holds its answer.
            "XUEJIA_SUBSYSTEM_TIMEOUT_SECONDS": "20",
            # Not the default 9464: another suite's worker (or make run's) may hold it.
            "XUEJIA_WORKER_METRICS_ADDRESS": f"127.0.0.1:{self.ports['worker_metrics']}",
        }

    # ---- processes ----------------------------------------------------------------------------

    def start(self, *names: str) -> None:
        """Starts processes (a simulator by its name, "shared" for the others, "temporal",
        "worker", "api") together, then waits until each listens (the worker listens on
        nothing: it is simply started)."""
        for name in names:
            args, env = self._command(name)
            self.running[name] = launch(name, args, self.procs, logs=self.root, env=env)
        for name in names:
            port = {"shared": "sms", "worker": None}.get(name, name)
            if port is not None:
                wait_for_port(self.ports[port], name, seconds=WAIT, logs=self.root)

    def _command(self, name: str) -> tuple[list[str], dict[str, str]]:
        if name == "temporal":
            db = self.root / "temporal.db"
            return temporal_command(db, self.ports["temporal"], ui_port=None), {}
        if name == "worker":
            return WORKER_COMMAND, self.settings_env()
        if name == "api":
            return api_command(self.ports["api"]), self.settings_env()
        # Eight tries span a minute (a real bank calls back for hours): longer than the
        # platform is down in these tests, so no callback is given up on.
        options = ["--platform-url", self.url("api"), "--log-level", "warning"]
        options += ["--callback-attempts", "8"]
        for sim in SHARED if name == "shared" else (name,):
            options += ["--only", sim, f"--{sim}-port", str(self.ports[sim])]
        # Demo mode: each simulator signs with its demo secret, as the API expects.
        return simulators_command(self.root / "sims", *options), self.settings_env()

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stops one process (SIGTERM: as an operator would; SIGKILL: a crash) and waits."""
        proc = self.running.pop(name)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=WAIT)

    @contextmanager
    def down(self, name: str) -> Iterator[None]:
        """`name` is down inside the block and started again when it ends."""
        self.stop(name)
        try:
            yield
        finally:
            self.start(name)

    # ---- the people ---------------------------------------------------------------------------

    def demo(self, learner: str) -> Demo:
        urls = DemoUrls(
            api=self.url("api"),
            timing=self.url("timing"),
            exam=self.url("exam"),
            bank=self.url("bank"),
            health=self.url("health"),
        )
        return Demo(self.http, urls, learner, lambda _: None, WAIT, DEMO_PASSWORD)

    async def temporal(self) -> Client:
        return await Client.connect(self.temporal_address)

    # ---- the books ----------------------------------------------------------------------------

    async def assert_books_balance(self) -> None:
        """The platform's ledger equals the bank's reconciliation, and every release, refund and
        clawback the bank executed is in the ledger once, under its own key and transaction:
        no instruction was executed twice, none is missing from the books."""
        assert ledger_totals(self.database_url) == await bank_totals(self.http, self.url("bank"))
        r = await self.http.get(f"{self.url('bank')}/_movements")
        r.raise_for_status()
        executed = sorted((m["kind"], m["movement_id"], m["bank_txn_id"]) for m in r.json())
        with Session(engine_for(self.database_url)) as session:
            entries = session.exec(
                select(LedgerEntry).where(LedgerEntry.kind != EntryKind.deposit)
            ).all()
        booked = sorted(
            (e.kind.value, external_id(e.idempotency_key), e.bank_txn_id) for e in entries
        )
        assert executed == booked


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, seconds: float = WAIT, step: float = 0.2
) -> None:
    """Waits for a condition; fails naming it when it does not come in `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds:.0f}s: {what}")
        await asyncio.sleep(step)


def _database(stack: AsyncExitStack, root: Path) -> tuple[str, PostgresCluster | None]:
    """PostgreSQL where it is installed (always in CI), else a SQLite file."""
    if postgres_bin("initdb") is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI=true but PostgreSQL binaries (initdb, pg_ctl) are missing")
        return f"sqlite:///{root / 'xuejia.db'}", None
    cluster = stack.enter_context(postgres_cluster())
    return cluster.url, cluster


@asynccontextmanager
async def running_stack(root: Path) -> AsyncIterator[Stack]:
    names = ("temporal", "api", "worker_metrics", *OWN_PROCESS, *SHARED)
    async with AsyncExitStack() as exits:
        database_url, cluster = _database(exits, root)
        http = await exits.enter_async_context(httpx.AsyncClient(timeout=30))
        stack = Stack(root, database_url, cluster, {n: free_port() for n in names}, http)
        exits.callback(stop_all, stack.procs)
        started = time.monotonic()
        stack.start("temporal", *OWN_PROCESS, "shared")
        migrate(database_url)  # once, before the worker and the API (as `make run` does)
        stack.start("worker", "api")
        print(f"stack up in {time.monotonic() - started:.1f}s under {root}")
        yield stack
