"""Simulator of the health-check centres (体检中心).

The platform books a half-hour slot for a learner, pays the fee, and later receives the
doctor's result as a signed callback. Every centre id is accepted: each has eight morning
slots (08:00–11:30, China time) of five places each.

The doctor is a person, so entering a result is a `/_simulate/...` endpoint without faults;
for demos `auto_result_seconds` makes every paid booking pass on its own after a while.
"""

import asyncio
import contextlib
import json
import sqlite3
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints, model_validator

from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Simulator,
    Store,
    business_router,
    create_simulator_app,
    idempotent,
    not_found,
    reject,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    booking_id TEXT PRIMARY KEY,
    centre_id TEXT NOT NULL,
    learner_ref TEXT NOT NULL,
    name TEXT NOT NULL,
    id_number TEXT NOT NULL,
    slot TEXT NOT NULL,
    fee_fen INTEGER NOT NULL CHECK (fee_fen > 0),
    callback_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('booked', 'paid', 'examined', 'cancelled')),
    created_at TEXT NOT NULL,
    payment_id TEXT UNIQUE,
    paid_at TEXT,
    cancelled_at TEXT,
    refunded_fen INTEGER NOT NULL DEFAULT 0,
    passed INTEGER,
    items TEXT,
    reason TEXT,
    examined_at TEXT
);
CREATE INDEX IF NOT EXISTS bookings_slot ON bookings (centre_id, slot, status);
"""

CHINA_TZ = timezone(timedelta(hours=8))
SLOT_TIMES = tuple(time(8 + i // 2, 30 * (i % 2)) for i in range(8))  # 08:00 … 11:30
SLOT_CAPACITY = 5
# The items a passing automatic result reports (the 驾驶人身体条件证明 form).
NORMAL_ITEMS: JSON = {
    "height_cm": 170,
    "vision_left": 5.0,
    "vision_right": 5.0,
    "colour_vision": "normal",
    "hearing": "normal",
    "limbs": "normal",
    "torso_neck": "normal",
}

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class HealthSettings(BaseModel):
    auto_result_seconds: float | None = Field(None, ge=0)


class BookingRequest(BaseModel):
    booking_id: Id
    centre_id: Id
    learner_ref: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    slot: datetime
    fee_fen: int = Field(gt=0)
    callback_url: Annotated[str, StringConstraints(min_length=1)]


class PaymentRequest(BaseModel):
    payment_id: Id
    amount_fen: int = Field(gt=0)


class ResultRequest(BaseModel):
    passed: bool
    items: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None

    @model_validator(mode="after")
    def _failure_needs_reason(self) -> "ResultRequest":
        if not self.passed and not (self.reason and self.reason.strip()):
            raise ValueError("a failed result needs a reason")
        return self


def slot_key(value: datetime) -> str | None:
    """The canonical slot string (China time), or None when `value` is not a slot start."""
    local = value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value.astimezone(CHINA_TZ)
    if local.second or local.microsecond or local.time().replace(second=0) not in SLOT_TIMES:
        return None
    return local.isoformat(timespec="seconds")


def booking_view(row: sqlite3.Row) -> JSON:
    data = dict(row)
    data["passed"] = None if row["passed"] is None else bool(row["passed"])
    data["items"] = None if row["items"] is None else json.loads(row["items"])
    return data


def _load(conn: sqlite3.Connection, booking_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM bookings WHERE booking_id = ?", (booking_id,)).fetchone()
    if row is None:
        raise not_found("体检预约")
    return row


def get_settings(request: Request) -> HealthSettings:
    settings: HealthSettings = request.app.state.health_settings
    return settings


SettingsDep = Annotated[HealthSettings, Depends(get_settings)]

router = business_router(tags=["health"])
simulate = APIRouter(tags=["simulate (people, no faults)"])


@router.get("/centres/{centre_id}/slots")
async def list_slots(
    sim: SimDep, centre_id: str, day: Annotated[date, Query(alias="date")]
) -> list[JSON]:
    starts = [datetime.combine(day, t, CHINA_TZ).isoformat(timespec="seconds") for t in SLOT_TIMES]
    taken = dict(
        sim.store.all(
            "SELECT slot, COUNT(*) FROM bookings WHERE centre_id = ? AND status != 'cancelled'"
            f" AND slot IN ({','.join('?' * len(starts))}) GROUP BY slot",
            (centre_id, *starts),
        )
    )
    return [
        {"slot": s, "capacity": SLOT_CAPACITY, "remaining": SLOT_CAPACITY - taken.get(s, 0)}
        for s in starts
    ]


def _book(conn: sqlite3.Connection, req: BookingRequest) -> tuple[int, JSON]:
    slot = slot_key(req.slot)
    if slot is None:
        raise reject(422, "invalid_slot", "预约时段无效：仅限 08:00–11:30 的整点或半点")
    (taken,) = conn.execute(
        "SELECT COUNT(*) FROM bookings WHERE centre_id = ? AND slot = ? AND status != 'cancelled'",
        (req.centre_id, slot),
    ).fetchone()
    if taken >= SLOT_CAPACITY:
        raise reject(409, "slot_full", "该时段已约满，请选择其他时段", slot=slot)
    conn.execute(
        "INSERT INTO bookings (booking_id, centre_id, learner_ref, name, id_number, slot,"
        " fee_fen, callback_url, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?)",
        (
            req.booking_id,
            req.centre_id,
            req.learner_ref,
            req.name,
            req.id_number,
            slot,
            req.fee_fen,
            req.callback_url,
            utc_now_iso(),
        ),
    )
    return 201, {
        "booking_id": req.booking_id,
        "status": "booked",
        "fee_fen": req.fee_fen,
        "centre_id": req.centre_id,
        "slot": slot,
    }


@router.post("/bookings", status_code=201)
async def create_booking(sim: SimDep, req: BookingRequest) -> JSONResponse:
    outcome = idempotent(sim.store, "bookings", req.booking_id, req, lambda c: _book(c, req))
    return outcome.response()


def _pay(conn: sqlite3.Connection, booking_id: str, req: PaymentRequest) -> tuple[int, JSON]:
    row = _load(conn, booking_id)
    if row["status"] == "cancelled":
        raise reject(409, "booking_cancelled", "预约已取消，不能缴费")
    if row["payment_id"] is not None:
        raise reject(409, "already_paid", "该预约已缴费", payment_id=row["payment_id"])
    if req.amount_fen != row["fee_fen"]:
        raise reject(
            422,
            "amount_mismatch",
            "缴费金额与体检费不符",
            expected_fen=row["fee_fen"],
            amount_fen=req.amount_fen,
        )
    paid_at = utc_now_iso()
    conn.execute(
        "UPDATE bookings SET status = 'paid', payment_id = ?, paid_at = ? WHERE booking_id = ?",
        (req.payment_id, paid_at, booking_id),
    )
    body = {"booking_id": booking_id, "payment_id": req.payment_id, "status": "paid"}
    return 200, {**body, "amount_fen": req.amount_fen, "paid_at": paid_at}


@router.post("/bookings/{booking_id}/pay")
async def pay_booking(
    sim: SimDep, settings: SettingsDep, booking_id: str, req: PaymentRequest
) -> JSONResponse:
    # The payment id is the key; the booking id is in the fingerprint so that reusing a
    # payment id for another booking is a conflict rather than a silent replay.
    fp = {"booking_id": booking_id, **req.model_dump()}
    outcome = idempotent(
        sim.store, "payments", req.payment_id, fp, lambda c: _pay(c, booking_id, req)
    )
    if not outcome.replayed and settings.auto_result_seconds is not None:
        sim.background.spawn(_auto_result(sim, booking_id, settings.auto_result_seconds))
    return outcome.response()


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(sim: SimDep, booking_id: str) -> JSON:
    with sim.store.tx() as conn:
        row = _load(conn, booking_id)
        if row["status"] == "examined":
            raise reject(409, "result_exists", "已出体检结果，不能取消")
        if row["status"] != "cancelled":
            # A paid fee goes back in full: the learner never saw the doctor.
            refunded = row["fee_fen"] if row["payment_id"] else 0
            conn.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = ?, refunded_fen = ?"
                " WHERE booking_id = ?",
                (utc_now_iso(), refunded, booking_id),
            )
        row = _load(conn, booking_id)
    return {"booking_id": booking_id, "status": "cancelled", "refunded_fen": row["refunded_fen"]}


@router.get("/bookings/{booking_id}")
async def get_booking(sim: SimDep, booking_id: str) -> JSON:
    with sim.store.tx() as conn:
        return booking_view(_load(conn, booking_id))


def record_result(sim: Simulator, booking_id: str, result: ResultRequest) -> JSON:
    """Store the doctor's result and send the callback; HTTPException when not allowed."""
    examined_at = utc_now_iso()
    with sim.store.tx() as conn:
        row = _load(conn, booking_id)
        if row["status"] == "examined":
            raise reject(409, "result_exists", "该预约已有体检结果")
        if row["status"] != "paid":
            raise reject(409, "not_paid", "未缴费的预约不能录入结果", status=row["status"])
        conn.execute(
            "UPDATE bookings SET status = 'examined', passed = ?, items = ?, reason = ?,"
            " examined_at = ? WHERE booking_id = ?",
            (
                int(result.passed),
                json.dumps(result.items, ensure_ascii=False),
                result.reason,
                examined_at,
                booking_id,
            ),
        )
        row = _load(conn, booking_id)
    sim.callbacks.send(
        row["callback_url"],
        {
            "event": "health.result",
            "booking_id": booking_id,
            "learner_ref": row["learner_ref"],
            "passed": result.passed,
            "items": result.items,
            "reason": result.reason,
            "examined_at": examined_at,
        },
    )
    return booking_view(row)


async def _auto_result(sim: Simulator, booking_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    # Cancelled meanwhile, or a doctor entered a result by hand: then there is nothing to do.
    with contextlib.suppress(HTTPException):
        record_result(sim, booking_id, ResultRequest(passed=True, items=dict(NORMAL_ITEMS)))


@simulate.post("/_simulate/bookings/{booking_id}/result")
async def simulate_result(sim: SimDep, booking_id: str, req: ResultRequest) -> JSON:
    return record_result(sim, booking_id, req)


@simulate.get("/_settings")
async def read_settings(settings: SettingsDep) -> HealthSettings:
    return settings


@simulate.put("/_settings")
async def update_settings(request: Request, settings: SettingsDep, req: HealthSettings) -> JSON:
    # Partial update: only the fields the caller sent (null clears auto_result_seconds).
    changes = req.model_dump(exclude_unset=True)
    request.app.state.health_settings = settings.model_copy(update=changes)
    return request.app.state.health_settings.model_dump()


def create_app(
    db_path: str,
    secret: str,
    options: SimOptions | None = None,
    *,
    auto_result_seconds: float | None = None,
) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "health", "体检中心 (simulator)", Store(db_path, SCHEMA), secret, options
    )
    app.state.health_settings = HealthSettings(auto_result_seconds=auto_result_seconds)
    app.include_router(router)
    app.include_router(simulate)
    return app
