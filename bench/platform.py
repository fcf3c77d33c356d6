"""The platform under measurement, private to one run and on loopback only.

Started as `make run` starts it, with the project's own helpers: a Temporal dev server
(tests/servers.py), the subsystem simulators, the API under uvicorn and the worker, each its own
process (so the worker's memory is its own); plus the trivial workflow's worker for baselines.
"""

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.load import gather_bounded
from core.codec import data_converter
from core.config import Settings
from core.db import migrate
from scripts.run import launch, stop_all, wait_for_port
from subsystems.runner import DEFAULT_PORTS
from tests.servers import dev_server_env, free_port

PY = sys.executable
TRIVIAL_QUEUE = "bench-trivial"
# The health centre posts its result on its own, as under `make run`; the demo is the examiner.
HEALTH_AUTO_RESULT_SECONDS = 0.2


def settings_env(s: Settings) -> dict[str, str]:
    """The settings as the XUEJIA_* variables the API and the worker read."""
    names = (
        "database_url",
        "data_dir",
        "temporal_address",
        "task_queue",
        "api_base_url",
        "national_url",
        "health_url",
        "bank_url",
        "timing_url",
        "exam_url",
        "subsystem_timeout_seconds",
    )
    env = {f"XUEJIA_{n.upper()}": str(getattr(s, n)) for n in names}
    env["XUEJIA_DEMO_MODE"] = "true"
    env["XUEJIA_DEMO_SLOTS"] = "true"
    return env


@dataclass
class Platform:
    env: WorkflowEnvironment
    settings: Settings
    root: Path
    api_port: int
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def pid(self, name: str) -> int:
        return next(p.pid for n, p in self.procs if n == name)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs}/")

    def start_api(self) -> None:
        api = ["-m", "uvicorn", "api.main:app", "--factory", "--host", "127.0.0.1"]
        api += ["--port", str(self.api_port), "--log-level", "warning"]
        launch("api", [PY, *api], self.procs, logs=self.logs, env=self._env)
        wait_for_port(self.api_port, "api", logs=self.logs)

    def restart_api(self) -> None:
        api = [(n, proc) for n, proc in self.procs if n == "api"]
        stop_all(api)
        self.procs[:] = [(n, proc) for n, proc in self.procs if n != "api"]
        self.start_api()

    async def api_answers_within(self, http: httpx.AsyncClient, seconds: float) -> float | None:
        """How long until the API answers /healthz again (None: not within `seconds`)."""
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            try:
                if (await http.get("/healthz", timeout=2)).status_code == 200:
                    return round(time.monotonic() - began, 1)
            except httpx.TransportError:
                pass
        return None

    def start_workers(self) -> None:
        """The journey worker (worker.py, as deployed) and the trivial workflow's worker."""
        launch("worker", [PY, "worker.py"], self.procs, logs=self.logs, env=self._env)
        address = self.settings.temporal_address
        trivial = ["-m", "bench.trivial", "--address", address, "--task-queue", TRIVIAL_QUEUE]
        launch("trivial-worker", [PY, *trivial], self.procs, logs=self.logs, env=self._env)

    async def start_trivial(self, n: int) -> list[str]:
        """Starts `n` open trivial workflows; returns their ids."""
        ids = [f"bench-trivial-{uuid.uuid4().hex[:12]}" for _ in range(n)]
        starts = [
            partial(self.client.start_workflow, "BenchTrivial", id=i, task_queue=TRIVIAL_QUEUE)
            for i in ids
        ]
        await gather_bounded(starts, 32)
        return ids

    @property
    def _env(self) -> dict[str, str]:
        return settings_env(self.settings)


@asynccontextmanager
async def running_platform() -> AsyncIterator[Platform]:
    """Dev server, simulators and API up (workers come later: see `start_workers`)."""
    root = Path(tempfile.mkdtemp(prefix="xuejia-bench-"))
    (root / "logs").mkdir()
    env = await dev_server_env(data_converter(Settings(demo_mode=True)))
    ports = {name: free_port() for name in (*DEFAULT_PORTS, "api")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    settings = Settings(
        database_url=f"sqlite:///{root / 'xuejia.db'}",
        data_dir=root / "var",
        temporal_address=env.client.service_client.config.target_host,
        task_queue="bench-journeys",
        api_base_url=url["api"],
        national_url=url["national"],
        health_url=url["health"],
        bank_url=url["bank"],
        timing_url=url["timing"],
        exam_url=url["exam"],
        demo_mode=True,
        demo_slots=True,
    )
    p = Platform(env, settings, root, ports["api"])
    try:
        migrate(settings.database_url)
        sims = ["-m", "subsystems.runner", "--data-dir", str(root / "subsystems")]
        sims += ["--platform-url", url["api"]]
        sims += [f"--{name}-port={ports[name]}" for name in DEFAULT_PORTS]
        sims += ["--health-auto-result-seconds", str(HEALTH_AUTO_RESULT_SECONDS)]
        sims += ["--log-level", "warning"]
        # Demo mode: each simulator signs with its demo secret, as the API expects.
        launch("subsystems", [PY, *sims], p.procs, logs=p.logs, env=settings_env(settings))
        p.start_api()
        for name in DEFAULT_PORTS:
            wait_for_port(ports[name], name, logs=p.logs)
        yield p
    except BaseException:
        print(f"bench failed: the components' logs are kept in {p.logs}/", file=sys.stderr)
        raise
    else:
        shutil.rmtree(root, ignore_errors=True)
    finally:
        stop_all(p.procs)
        await env.shutdown()
