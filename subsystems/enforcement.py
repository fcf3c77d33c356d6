"""Simulator of the transport authority's enforcement system (交通运输行政执法): administrative
penalties (行政处罚) against driving schools and their coaches.

An officer's decision is a `/_simulate/penalties` endpoint without faults; it is kept under its
case number and reaches the platform as a signed `penalty.decided` callback (with the common
faults: duplicates, delays). The platform may also read decisions back (`GET /penalties`, a
business endpoint with faults) to catch up after an outage.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Store,
    business_router,
    china_time,
    create_simulator_app,
    next_seq,
    not_found,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS penalties (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no TEXT NOT NULL UNIQUE,
    school_id TEXT NOT NULL,
    coach_id TEXT,
    city_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'fine', 'suspension', 'revocation')),
    reason TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    decided_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""
# Where decisions are sent by default: on the platform (SimOptions.platform_url).
CALLBACK_PATH = "/api/webhooks/enforcement"

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class PenaltyDecision(BaseModel):
    school_id: Id
    coach_id: Id | None = None
    city_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    kind: Literal["warning", "fine", "suspension", "revocation"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    amount_fen: int = Field(0, ge=0, le=10_000_000_000)
    decided_at: datetime | None = None  # now, when not given


def _view(row: object) -> JSON:
    data = dict(row)  # type: ignore[call-overload]
    data.pop("recorded_at")
    return data


router = business_router(tags=["enforcement"])
simulate = APIRouter(tags=["simulate (officers, no faults)"])


@router.get("/penalties")
async def list_penalties(
    sim: SimDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSON:
    """Decisions in the order they were made, from `after` (a `seq`) on."""
    rows = sim.store.all(
        "SELECT * FROM penalties WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit + 1)
    )
    page = [_view(r) for r in rows[:limit]]
    return {
        "items": page,
        "next_after": page[-1]["seq"] if page else after,
        "more": len(rows) > limit,
    }


@router.get("/penalties/{case_no}")
async def get_penalty(sim: SimDep, case_no: str) -> JSON:
    row = sim.store.one("SELECT * FROM penalties WHERE case_no = ?", (case_no,))
    if row is None:
        raise not_found("处罚决定")
    return _view(row)


@simulate.post("/_simulate/penalties", status_code=201)
async def decide(sim: SimDep, request: Request, req: PenaltyDecision) -> JSON:
    """An officer's decision: stored under a new case number, then sent to the platform."""
    decided_at = china_time(req.decided_at) if req.decided_at else None
    with sim.store.tx() as conn:
        seq = next_seq(conn, f"case-{req.city_code}")
        case_no = f"ZF{req.city_code}{seq:07d}"
        conn.execute(
            "INSERT INTO penalties (case_no, school_id, coach_id, city_code, kind, reason,"
            " amount_fen, decided_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_no,
                req.school_id,
                req.coach_id,
                req.city_code,
                req.kind,
                req.reason,
                req.amount_fen,
                decided_at.isoformat(timespec="seconds") if decided_at else utc_now_iso(),
                utc_now_iso(),
            ),
        )
        row = conn.execute("SELECT * FROM penalties WHERE case_no = ?", (case_no,)).fetchone()
    decision = _view(row)
    sim.callbacks.send(request.app.state.callback_url, {"event": "penalty.decided", **decision})
    return decision


def create_app(
    db_path: str,
    secret: str,
    options: SimOptions | None = None,
    *,
    callback_url: str = CALLBACK_PATH,
) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "enforcement", "交通运输行政执法系统 (simulator)", Store(db_path, SCHEMA), secret, options
    )
    app.state.callback_url = callback_url
    app.include_router(router)
    app.include_router(simulate)
    return app
