"""Run the subsystem simulators in one process.

    python -m subsystems.runner --data-dir var/subsystems --platform-url URL

Each simulator is its own uvicorn server (its own port, as the real systems are separate
hosts), all on one event loop, and signs its callbacks with its own secret (the settings'
XUEJIA_<NAME>_WEBHOOK_SECRET). Tests use `run_simulators` with port 0 to get free ports.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from subsystems import bank, complaints12328, enforcement, exam12123, health, national, sms, timing
from subsystems.common import SimOptions

DEFAULT_PORTS: dict[str, int] = {
    "national": 8101,
    "health": 8102,
    "bank": 8103,
    "timing": 8104,
    "exam": 8105,
    "complaints": 8106,
    "enforcement": 8107,
    "sms": 8108,
}


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals alone: the runner stops all servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property
    def port(self) -> int:
        # The bound port: differs from the configured one when that was 0.
        return int(self.servers[0].sockets[0].getsockname()[1])


@dataclass
class Simulators:
    apps: dict[str, FastAPI]
    urls: dict[str, str]

    async def drain(self) -> None:
        """Wait until every simulator has finished sending its callbacks."""
        await asyncio.gather(*(app.state.callbacks.drain() for app in self.apps.values()))


def build_apps(
    data_dir: Path | None,
    secrets: Mapping[str, str],
    *,
    options: SimOptions | None = None,
    health_auto_result_seconds: float | None = None,
    exam_auto_pass_seconds: float | None = None,
    only: Collection[str] | None = None,
) -> dict[str, FastAPI]:
    """Every simulator's app (or those named in `only`); `data_dir=None` keeps their state in
    memory. `secrets` holds each calling-back simulator's own secret by name; the national
    platform and the SMS gateway send no callbacks and get none."""

    def db(name: str) -> str:
        if data_dir is None:
            return ":memory:"
        data_dir.mkdir(parents=True, exist_ok=True)
        return str(data_dir / f"{name}.db")

    factories: dict[str, Callable[[], FastAPI]] = {
        "national": lambda: national.create_app(db("national"), "", options),
        "health": lambda: health.create_app(
            db("health"),
            secrets["health"],
            options,
            auto_result_seconds=health_auto_result_seconds,
        ),
        "bank": lambda: bank.create_app(db("bank"), secrets["bank"], options),
        "timing": lambda: timing.create_app(db("timing"), secrets["timing"], options),
        "exam": lambda: exam12123.create_app(
            db("exam"), secrets["exam"], options, auto_pass_seconds=exam_auto_pass_seconds
        ),
        "complaints": lambda: complaints12328.create_app(
            db("complaints"), secrets["complaints"], options
        ),
        "enforcement": lambda: enforcement.create_app(
            db("enforcement"), secrets["enforcement"], options
        ),
        "sms": lambda: sms.create_app(db("sms"), "", options),
    }
    return {name: make() for name, make in factories.items() if only is None or name in only}


@contextlib.asynccontextmanager
async def serve_apps(
    apps: Mapping[str, FastAPI],
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    log_level: str = "warning",
) -> AsyncIterator[dict[str, str]]:
    """Serve `apps` over real HTTP on this loop; yields each app's base URL by name.

    A port of 0 (the default for apps missing from `ports`) picks a free one.
    """
    ports = ports or {}
    servers = {
        name: EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=ports.get(name, 0),
                log_level=log_level,
                # A simulated time-out may hold a request for 30 s; do not wait for it.
                timeout_graceful_shutdown=1,
            )
        )
        for name, app in apps.items()
    }
    tasks = [asyncio.create_task(s.serve(), name=f"sim-{n}") for n, s in servers.items()]
    try:
        while not all(s.started for s in servers.values()):
            if failed := [t for t in tasks if t.done()]:
                failed[0].result()  # re-raise why it stopped
                raise RuntimeError(f"simulator {failed[0].get_name()} stopped during startup")
            await asyncio.sleep(0.02)
        yield {name: f"http://{host}:{s.port}" for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def run_simulators(
    data_dir: Path | None,
    secrets: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    options: SimOptions | None = None,
    health_auto_result_seconds: float | None = None,
    exam_auto_pass_seconds: float | None = None,
    log_level: str = "warning",
    only: Collection[str] | None = None,
) -> AsyncIterator[Simulators]:
    """Every simulator (or those in `only`) over real HTTP; ports default to 0 (free ports)."""
    apps = build_apps(
        data_dir,
        secrets,
        options=options,
        health_auto_result_seconds=health_auto_result_seconds,
        exam_auto_pass_seconds=exam_auto_pass_seconds,
        only=only,
    )
    async with serve_apps(apps, host=host, ports=ports, log_level=log_level) as urls:
        yield Simulators(apps, urls)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Run the Xuejia subsystem simulators.")
    p.add_argument("--data-dir", type=Path, default=Path("var/subsystems"))
    p.add_argument("--platform-url", help="base for relative callback URLs (default: the API's)")
    p.add_argument("--host", default="127.0.0.1")
    for name, port in DEFAULT_PORTS.items():
        p.add_argument(f"--{name}-port", type=int, default=port)
    p.add_argument("--health-auto-result-seconds", type=float, default=None)
    p.add_argument("--exam-auto-pass-seconds", type=float, default=None)
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--callback-attempts",
        type=int,
        default=SimOptions.callback_attempts,
        help="tries of each callback, 0.5 s apart and doubling (default: %(default)s)",
    )
    # One subsystem per process lets a test take one down (kill it) and bring it back.
    p.add_argument(
        "--only",
        action="append",
        choices=sorted(DEFAULT_PORTS),
        help="run only this simulator (repeatable); default: all",
    )
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace) -> None:
    from core.config import get_settings  # here, not at import: it reads the environment

    settings = get_settings()
    platform_url = args.platform_url or settings.api_base_url
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ports = {name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS}
    async with run_simulators(
        args.data_dir,
        settings.webhook_secrets(),
        host=args.host,
        ports=ports,
        options=SimOptions(platform_url=platform_url, callback_attempts=args.callback_attempts),
        health_auto_result_seconds=args.health_auto_result_seconds,
        exam_auto_pass_seconds=args.exam_auto_pass_seconds,
        log_level=args.log_level,
        only=args.only,
    ) as sims:
        for name, url in sims.urls.items():
            print(f"{name} simulator at {url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    main()
