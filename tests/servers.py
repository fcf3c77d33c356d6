"""Real servers for tests: PostgreSQL 15 in a temp dir, Temporal's two test servers."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes as sa


def server_binary(name: str) -> str:
    """A server shipped by a PyPI package in this virtualenv; never a download at run time."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} not found: run `make deps` (PyPI package provides it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster in a temp dir that a test may stop and start again."""

    url: str
    root: Path
    port: int
    as_postgres: list[str]
    pg_ctl: str

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, self.pg_ctl, "-D", str(self.root / "data"), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            check=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-w", "-l", str(self.root / "log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (clients see their connections drop) and shuts down."""
        self._ctl("-m", mode, "stop")


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A fresh, running PostgreSQL cluster, removed afterwards."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    assert initdb and pg_ctl
    root = Path(tempfile.mkdtemp(prefix="xuejia-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_postgres, initdb, "-D", str(root / "data"), "-A", "trust", "-U", "postgres"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        check=True,
    )
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    cluster = PostgresCluster(url, root, port, as_postgres, pg_ctl)
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # a test may have left it stopped
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh PostgreSQL cluster, removed afterwards."""
    with postgres_cluster() as cluster:
        yield cluster.url


async def time_skipping_env() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server")
    )
    # The time-skipping server knows no custom search attributes until they are added.
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: kinds[k.indexed_value_type.name] for k in sa.ALL},
        )
    )
    return env


# The SDK gives every call but long polls 30 s; skipping days through activities that run in
# real time (a simulator over HTTP, a loaded machine) may take longer than that.
SKIP_TIME_RPC_TIMEOUT = timedelta(minutes=10)


async def skip_time(env: WorkflowEnvironment, duration: timedelta | float) -> None:
    """`env.sleep` on the time-skipping server, without the SDK's 30 s call deadline."""
    req = SleepRequest()
    req.duration.FromTimedelta(
        duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
    )
    await env.client.test_service.unlock_time_skipping_with_sleep(
        req, timeout=SKIP_TIME_RPC_TIMEOUT
    )


async def dev_server_env() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        search_attributes=sa.ALL,
        port=free_port(),
        dev_server_log_level="error",
    )


def wait_until(predicate, seconds: float = 10.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
