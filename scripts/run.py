"""`make run`: start and supervise the whole platform on loopback; Ctrl-C stops it all.

Temporal dev server (+ Web UI), the subsystem simulators, the worker and the API. State lives
under var/ (git-ignored), so a second run keeps journeys, documents and the database.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.config import ROOT, get_settings
from core.db import migrate
from models.demo import DEMO_LOGINS, DEMO_PASSWORD
from scripts.demo_history import seed_penalties
from workflows.search_attributes import server_flags

VAR = ROOT / "var"
PY = sys.executable


def wait_for_port(port: int, what: str, seconds: float = 60, logs: Path = VAR / "logs") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"{what} did not open port {port} within {seconds:.0f}s; see {logs}/")


def launch(
    name: str,
    args: list[str],
    procs: list[tuple[str, subprocess.Popen]],
    *,
    logs: Path = VAR / "logs",
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Starts a child in its own session, its output in `logs`/<name>.log; `env` adds to ours."""
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    procs.append((name, proc))
    return proc


def stop_all(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for _, proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, proc in reversed(procs):
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop in time; killing it")
            os.killpg(proc.pid, signal.SIGKILL)


def temporal_command(
    db: Path, port: int = 7233, ui_port: int | None = 8233, codec_endpoint: str = ""
) -> list[str]:
    """The Temporal dev server on loopback, its state in `db`; no Web UI when `ui_port` is None;
    the UI decodes payloads through `codec_endpoint` when one is given."""
    temporal = shutil.which("temporal") or str(Path(PY).parent / "temporal")
    ui = ["--headless"] if ui_port is None else ["--ui-port", str(ui_port)]
    if ui_port is not None and codec_endpoint:
        ui += ["--ui-codec-endpoint", codec_endpoint]
    return [
        temporal,
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        *ui,
        "--namespace",
        "default",
        "--db-filename",
        str(db),
        "--log-level",
        "warn",
        *server_flags(),
    ]


def simulators_command(data_dir: Path, *options: str) -> list[str]:
    """The subsystem simulators (`subsystems.runner`; `options` are its own). Each signs its
    callbacks with its own secret, from the XUEJIA_<NAME>_WEBHOOK_SECRET settings."""
    return [PY, "-m", "subsystems.runner", "--data-dir", str(data_dir), *options]


WORKER_COMMAND = [PY, "worker.py"]


def api_command(port: int = 8000) -> list[str]:
    return [
        PY,
        "-m",
        "uvicorn",
        "api.main:app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    os.environ.setdefault(
        "XUEJIA_DEMO_MODE", "true"
    )  # the demo asks for demo mode; children inherit it
    os.environ.setdefault("XUEJIA_LOG_FORMAT", "text")  # var/logs/ for people: one line each
    settings = get_settings()
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    procs: list[tuple[str, subprocess.Popen]] = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        # The UI shows ops the payloads decoded through the API's codec endpoint.
        codec = f"{settings.api_base_url}/api/ops/codec"
        launch("temporal", temporal_command(VAR / "temporal.db", codec_endpoint=codec), procs)
        launch(
            "subsystems",
            simulators_command(
                VAR / "subsystems",
                "--health-auto-result-seconds",
                "5",
                "--exam-auto-pass-seconds",
                "3",
            ),
            procs,
        )
        wait_for_port(7233, "Temporal")
        # Migrate once, before the worker and the API start (each would otherwise race to
        # create the schema of a new database; they still migrate, as a no-op under a lock).
        migrate(settings.database_url)
        # The demo pulls graduates' driving records every ten minutes, not daily.
        every = os.environ.get("XUEJIA_GRADUATE_RECORDS_EVERY", "600")
        launch("worker", WORKER_COMMAND, procs, env={"XUEJIA_GRADUATE_RECORDS_EVERY": every})
        launch("api", api_command(), procs)
        for port, what in ((8233, "Temporal UI"), (8101, "simulators"), (8000, "API")):
            wait_for_port(port, what)
        if settings.demo_mode:
            seed_penalties("http://127.0.0.1:8107")
        print_banner(settings.worker_metrics_address)
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(
                        f"{name} exited with {proc.returncode}; see var/logs/{name}.log"
                    )
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping…")
    finally:
        stop_all(procs)
        print("all processes stopped")


def print_banner(worker_metrics: str) -> None:
    print(f"""
学驾一件事 Xuejia is running (logs in var/logs/, Ctrl-C stops everything)

  Pages (learners sign in with a mobile number and an SMS code; the others with a login)
    learner (日照学车)  http://127.0.0.1:8000/learner
    school console     http://127.0.0.1:8000/school
    regulator          http://127.0.0.1:8000/gov
    administrator      http://127.0.0.1:8000/admin
    ops console        http://127.0.0.1:8000/ops
    SMS inbox (demo)   http://127.0.0.1:8108/inbox
  API
    docs (OpenAPI)     http://127.0.0.1:8000/docs
    learner port       http://127.0.0.1:8000/api/learner/…
    school port        http://127.0.0.1:8000/api/school/…
    gov port           http://127.0.0.1:8000/api/gov/…
  Temporal UI          http://127.0.0.1:8233  (payloads are encrypted; to see them decoded,
                       sign in as ops at http://127.0.0.1:8000/login, then in the UI's Codec
                       Server dialog choose "my browser setting", the same endpoint
                       http://127.0.0.1:8000/api/ops/codec and "Include cross-origin credentials")
  metrics (Prometheus) API http://127.0.0.1:8000/metrics (ops bearer token)
                       worker http://{worker_metrics}/metrics
  simulators           national :8101  health :8102  bank :8103  timing :8104  12123 :8105
                       12328 complaints :8106  enforcement :8107  SMS :8108
                       (health results after 5 s, exams passed after 3 s, on their own)

Demo logins (password {DEMO_PASSWORD}):""")
    for username, role, display in DEMO_LOGINS:
        print(f"  {username:<10} {role:<13} {display}")
    print("""
Watch one learner go from sign-up to graduation (in another terminal):
  .venv/bin/python -m scripts.demo_journey          (--learner learner1 for another learner)""")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
