"""The API in-process on an event loop of its own, in a background thread, for callers that are
not coroutines (schemathesis runs its cases from plain functions).

The loop keeps turning between calls, so the Temporal worker it hosts answers queries and update
validators while a request waits for its response; nothing is served over the network.
"""

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client
from temporalio.worker import Worker

from activities.quality_index import IndexActivities
from api.main import create_app
from core.codec import data_converter
from core.config import Settings
from core.db import engine_for
from workflows.complaint import ComplaintWorkflow
from workflows.journey import LearnerJourney
from workflows.quality_index import IndexRecomputeWorkflow

T = TypeVar("T")
log = logging.getLogger("tests.live_api")
BASE_URL = "http://api"
# Longer than any answer can honestly take; a request that outlives it is a hang, reported as one.
CALL_SECONDS = 60.0


class LiveApi:
    """`with LiveApi(settings, address, namespace) as live:` the app with its lifespan run, a
    worker running the journey and complaint workflows (no activities: they wait where they
    started) and the index's recompute (in full), and `live.request(...)` to call it."""

    def __init__(self, settings: Settings, temporal_address: str, namespace: str) -> None:
        self.settings = settings
        self._address = temporal_address
        self._namespace = namespace
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-api", daemon=True)
        self._stack = AsyncExitStack()
        self._activities = ThreadPoolExecutor(max_workers=2)
        self.temporal: Client
        self.http: httpx.AsyncClient

    def __enter__(self) -> "LiveApi":
        self._thread.start()
        try:
            self.run(self._start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._activities.shutdown()

    async def _start(self) -> None:
        self.temporal = await Client.connect(
            self._address,
            namespace=self._namespace,
            data_converter=data_converter(self.settings),
        )
        app = create_app(self.settings, temporal=self.temporal)
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        # The index's recompute runs in full (the regulator's POST waits for its publication).
        index = IndexActivities(engine_for(self.settings.database_url), self.settings.policy_paths)
        worker = Worker(
            self.temporal,
            task_queue=self.settings.task_queue,
            workflows=[LearnerJourney, ComplaintWorkflow, IndexRecomputeWorkflow],
            activities=[index.publish],
            activity_executor=self._activities,
        )
        await self._stack.enter_async_context(worker)
        transport = httpx.ASGITransport(app=_logging_errors(app), raise_app_exceptions=False)
        self.http = await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        )

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Runs `coro` on the API's loop and waits for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(CALL_SECONDS)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer within {CALL_SECONDS:.0f} s") from None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.http.request(method, url, **kwargs))


def _logging_errors(app: ASGIApp) -> ASGIApp:
    """The app, its unhandled errors logged with their traceback (the caller still gets the 500
    Starlette sends), so a failing case shows where the server broke."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))

    return wrapped
