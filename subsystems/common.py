"""Machinery shared by every subsystem simulator.

Each simulator (national platform, health-check centres, bank) is a FastAPI app built by
`create_simulator_app`; it gets:

- a `Store` (one SQLite connection; every write in a `BEGIN IMMEDIATE` transaction),
- switchable `Faults` applied to business endpoints only (outages, latency, time-outs),
- a `CallbackSender` that POSTs signed webhooks in the background with retries,
- idempotent create calls keyed by the client's id (`idempotent`),
- the admin endpoints `/_health`, `/_faults` and `/_callbacks`.

Handlers are `async def` and do their SQLite work without awaiting inside a transaction, so
requests are serialised on the event loop; the lock and the unique keys are a second line of
defence should someone serve an app from several threads.
"""

import asyncio
import hashlib
import json
import logging
import random
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, TypeVar

import httpx
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.signing import sign

logger = logging.getLogger("xuejia.subsystems")

JSON = dict[str, Any]
CALLBACK_ID_HEADER = "X-Xuejia-Callback-Id"


CHINA_TZ = timezone(timedelta(hours=8))


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def china_time(value: datetime) -> datetime:
    """`value` in China time; a naive value already is China time (as the people write it)."""
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value.astimezone(CHINA_TZ)


def reject(status_code: int, code: str, reason: str, **extra: Any) -> HTTPException:
    """A business rejection: a machine-readable code plus a reason a person can read."""
    return HTTPException(status_code, detail={"code": code, "reason": reason, **extra})


def not_found(what: str) -> HTTPException:
    return reject(404, "not_found", f"{what}不存在")


# --------------------------------------------------------------------------------------------
# Storage


_COMMON_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class Store:
    """One SQLite database per simulator; `path` may be a file or ':memory:'."""

    def __init__(self, path: str, schema: str) -> None:
        self.path = path
        # One shared connection: ':memory:' then works too, and the lock serialises writers.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_COMMON_SCHEMA + schema)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; any exception (including HTTPException) rolls it back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def next_seq(conn: sqlite3.Connection, name: str) -> int:
    """A gap-free counter inside the caller's transaction (for learner, txn, invoice numbers)."""
    conn.execute(
        "INSERT INTO sequences (name, value) VALUES (?, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1",
        (name,),
    )
    row = conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
    return int(row["value"])


# --------------------------------------------------------------------------------------------
# Idempotency


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: JSON
    replayed: bool

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status_code)


def fingerprint(request: BaseModel | Mapping[str, Any]) -> str:
    data = request.model_dump(mode="json") if isinstance(request, BaseModel) else dict(request)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(
    store: Store,
    scope: str,
    key: str,
    request: BaseModel | Mapping[str, Any],
    action: Callable[[sqlite3.Connection], tuple[int, JSON]],
) -> Outcome:
    """Run `action` once per (scope, key), in one transaction with the record of its result.

    A repeat with the same body replays the stored result with 200 and changes nothing; a
    repeat with a different body is a client bug and gets 409. Rejections (HTTPException) are
    not stored, so a retry after the cause is gone may succeed — nothing happened the first time.
    """
    fp = fingerprint(request)
    with store.tx() as conn:
        row = conn.execute(
            "SELECT fingerprint, response FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is not None:
            if row["fingerprint"] != fp:
                raise reject(
                    409,
                    "idempotency_conflict",
                    "同一请求编号已用于内容不同的请求",
                    key=key,
                )
            return Outcome(200, json.loads(row["response"]), replayed=True)
        status_code, body = action(conn)
        conn.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, status_code, response, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (scope, key, fp, status_code, json.dumps(body, ensure_ascii=False), utc_now_iso()),
        )
        return Outcome(status_code, body, replayed=False)


# --------------------------------------------------------------------------------------------
# Faults


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(0.0, ge=0, le=1)
    latency_ms: int = Field(0, ge=0, le=60_000)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    # 30 s outlasts any sane client time-out; tests lower it to stay fast.
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    duplicate_callbacks: int = Field(0, ge=0, le=20)
    callback_delay_ms: int = Field(0, ge=0, le=600_000)
    seed: int | None = None


class Faults:
    def __init__(self) -> None:
        self.settings = FaultSettings()
        self.rng = random.Random()

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        try:
            new = FaultSettings.model_validate({**self.settings.model_dump(), **changes})
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
        if "seed" in changes:
            # Re-seeding restarts the sequence so a test sees the same draws every run.
            self.rng = random.Random(new.seed)
        self.settings = new
        return new

    async def before_business_call(self) -> None:
        s = self.settings
        # Always draw both numbers so the sequence for a seed does not depend on the rates.
        timed_out = self.rng.random() < s.timeout_rate
        failed = self.rng.random() < s.error_rate
        if s.latency_ms:
            await asyncio.sleep(s.latency_ms / 1000)
        if timed_out:
            # After the sleep the call proceeds: the client gave up, but the work may still
            # happen — exactly the case idempotency keys exist for.
            await asyncio.sleep(s.timeout_seconds)
        if failed:
            raise HTTPException(503, detail="simulated outage")


# --------------------------------------------------------------------------------------------
# Background work and callbacks


class Background:
    """Tracks fire-and-forget tasks so tests can wait for them and shutdown can cancel them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        # Loop: a finishing task may spawn another (an automatic result sends a callback).
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class CallbackRecord:
    callback_id: str
    copy: int
    url: str
    payload: JSON
    attempts: int = 0
    delivered: bool = False
    last_status: int | None = None
    last_error: str | None = None
    created_at: str = field(default_factory=utc_now_iso)
    delivered_at: str | None = None


class CallbackSender:
    """Sends signed JSON webhooks in the background: `1 + duplicate_callbacks` copies each."""

    def __init__(
        self,
        secret: str,
        faults: Faults,
        background: Background,
        *,
        platform_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 5,
        retry_base_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._secret = secret
        self._faults = faults
        self._background = background
        self._platform_url = platform_url.rstrip("/") if platform_url else None
        self._transport = transport
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self.records: list[CallbackRecord] = []

    def resolve(self, url: str) -> str:
        # A relative callback URL ("/webhooks/bank") means "on the platform".
        if url.startswith("/") and self._platform_url:
            return self._platform_url + url
        return url

    def send(
        self, url: str, payload: JSON, *, extra_delay_ms: int = 0, extra_copies: int = 0
    ) -> str:
        """Queue delivery (call after the transaction commits); returns the callback id.

        `extra_delay_ms` and `extra_copies` add a simulator's own faults (a timing terminal
        uploading late or twice) to the common `callback_delay_ms` and `duplicate_callbacks`.
        """
        callback_id = uuid.uuid4().hex
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        delay = (self._faults.settings.callback_delay_ms + extra_delay_ms) / 1000
        for copy in range(1 + self._faults.settings.duplicate_callbacks + extra_copies):
            record = CallbackRecord(callback_id, copy, self.resolve(url), payload)
            self.records.append(record)
            self._background.spawn(self._deliver(record, body, delay))
        return callback_id

    async def _deliver(self, record: CallbackRecord, body: bytes, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        client = self._http()
        for attempt in range(self._max_attempts):
            record.attempts = attempt + 1
            # Sign each attempt afresh: a receiver refuses stale timestamps and nonces it has
            # seen, and an attempt whose answer was lost may have been taken already.
            headers = {
                "Content-Type": "application/json",
                CALLBACK_ID_HEADER: record.callback_id,
                **sign(body, self._secret),
            }
            try:
                response = await client.post(record.url, content=body, headers=headers)
                record.last_status = response.status_code
                if response.is_success:
                    record.delivered = True
                    record.delivered_at = utc_now_iso()
                    return
                record.last_error = response.text[:200]
            except httpx.HTTPError as exc:
                record.last_error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < self._max_attempts:
                await asyncio.sleep(self._retry_base * 2**attempt)
        logger.warning("callback %s to %s not delivered", record.callback_id, record.url)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        return self._client

    async def drain(self) -> None:
        """Wait for every pending callback (and other background work) to finish."""
        await self._background.drain()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# --------------------------------------------------------------------------------------------
# The app


@dataclass(frozen=True)
class SimOptions:
    """Knobs for building a simulator app; the defaults suit the runner."""

    platform_url: str | None = None
    # The URL the simulator advertises for itself (pay pages); else the request's base URL.
    public_url: str | None = None
    # Tests route callbacks to an in-process receiver with httpx.ASGITransport.
    callback_transport: httpx.AsyncBaseTransport | None = None
    callback_attempts: int = 5
    callback_retry_base_seconds: float = 0.5


@dataclass
class Simulator:
    name: str
    store: Store
    faults: Faults
    background: Background
    callbacks: CallbackSender
    options: SimOptions
    secret: str

    async def aclose(self) -> None:
        """Give in-flight callbacks a moment, then cancel the rest and release resources."""
        try:
            await asyncio.wait_for(self.background.drain(), timeout=2)
        except TimeoutError:
            await self.background.cancel_all()
        await self.callbacks.aclose()
        self.store.close()


def get_sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


SimDep = Annotated[Simulator, Depends(get_sim)]


async def apply_faults(sim: SimDep) -> None:
    await sim.faults.before_business_call()


def business_router(**kwargs: Any) -> APIRouter:
    """Router for the endpoints the platform calls: faults apply here and only here."""
    return APIRouter(dependencies=[Depends(apply_faults)], **kwargs)


admin_router = APIRouter(tags=["simulator admin"])


@admin_router.get("/_health")
async def health(sim: SimDep) -> JSON:
    return {"status": "ok", "simulator": sim.name, "pending_background": sim.background.pending}


@admin_router.get("/_faults")
async def get_faults(sim: SimDep) -> FaultSettings:
    return sim.faults.settings


@admin_router.put("/_faults")
async def put_faults(sim: SimDep, changes: Annotated[dict[str, Any], Body()]) -> FaultSettings:
    return sim.faults.update(changes)


@admin_router.get("/_callbacks")
async def get_callbacks(sim: SimDep) -> list[JSON]:
    return [asdict(r) for r in sim.callbacks.records]


class Resend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=128)  # an order, booking or record number
    journey_ref: str | None = Field(None, min_length=1, max_length=128)  # must name it too


@admin_router.post("/_callbacks/resend")
async def resend_callback(sim: SimDep, req: Resend) -> JSON:
    """Sends the last callback about `ref` again (signed afresh, under a new callback id): the
    platform's ops ask for it when a result seems lost."""
    wanted = {req.ref} | ({req.journey_ref} if req.journey_ref else set())
    for record in reversed(sim.callbacks.records):
        if record.copy == 0 and wanted <= {str(v) for v in record.payload.values()}:
            callback_id = sim.callbacks.send(record.url, record.payload)
            return {
                "callback_id": callback_id,
                "resent_of": record.callback_id,
                "event": record.payload.get("event"),
            }
    raise not_found("该业务的回调")


def create_simulator_app(
    name: str, title: str, store: Store, secret: str, options: SimOptions | None = None
) -> FastAPI:
    options = options or SimOptions()
    faults = Faults()
    background = Background()
    callbacks = CallbackSender(
        secret,
        faults,
        background,
        platform_url=options.platform_url,
        transport=options.callback_transport,
        max_attempts=options.callback_attempts,
        retry_base_seconds=options.callback_retry_base_seconds,
    )
    sim = Simulator(name, store, faults, background, callbacks, options, secret)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await sim.aclose()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.sim = sim
    # Short names the tests use: `await app.state.callbacks.drain()`.
    app.state.callbacks = callbacks
    app.state.faults = faults
    app.include_router(admin_router)
    return app


def self_url(sim: Simulator, request: Request) -> str:
    return (sim.options.public_url or str(request.base_url)).rstrip("/")


# --------------------------------------------------------------------------------------------
# A simulator's own settings (demo knobs and faults that only it has)


SettingsT = TypeVar("SettingsT", bound=BaseModel)


def settings_of(model: type[SettingsT]) -> Callable[[Request], SettingsT]:
    """A dependency returning the app's current settings, typed as `model`."""

    def current(request: Request) -> SettingsT:
        settings = request.app.state.sim_settings
        if not isinstance(settings, model):
            raise TypeError(f"app settings are {type(settings).__name__}, not {model.__name__}")
        return settings

    return current


def install_settings(app: FastAPI, initial: BaseModel) -> None:
    """Keep `initial` in `app.state.sim_settings` and serve it at GET/PUT `/_settings`.

    PUT is a partial update like `/_faults`: only the fields sent change, an explicit null
    clears an optional field, and the merged result is validated as a whole.
    """
    model = type(initial)
    app.state.sim_settings = initial
    router = APIRouter(tags=["simulator admin"])

    @router.get("/_settings")
    async def read_settings(request: Request) -> JSON:
        current: BaseModel = request.app.state.sim_settings
        return current.model_dump()

    @router.put("/_settings")
    async def update_settings(request: Request, changes: Annotated[dict[str, Any], Body()]) -> JSON:
        current: BaseModel = request.app.state.sim_settings
        try:
            new = model.model_validate({**current.model_dump(), **changes})
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
        request.app.state.sim_settings = new
        return new.model_dump()

    app.include_router(router)
