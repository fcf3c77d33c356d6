"""Simulator of the 12328 complaint system (交通运输服务监督电话 12328).

The platform files a learner's complaint; 12328 gives it a case number and delivers it at once
to the four parties the guideline names: the transport authority, the school, the driving
schools' association and the platform operator, recording each delivery. The platform then
pushes the case's handling steps (reminders, escalation, the school's answer, reopening,
closing), each delivered to the parties it concerns. 12328's own handling events (the case
accepted, an officer's note) reach the platform as signed `complaint.handling` callbacks; the
officer is a person, so notes come through a `/_simulate/...` endpoint without faults.
"""

import sqlite3
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Simulator,
    Store,
    business_router,
    create_simulator_app,
    idempotent,
    next_seq,
    not_found,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_no TEXT PRIMARY KEY,
    complaint_ref TEXT NOT NULL UNIQUE,
    school_id TEXT NOT NULL,
    coach_id TEXT,
    city_code TEXT NOT NULL,
    category TEXT NOT NULL,
    content TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    update_id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    update_id TEXT,
    recipient TEXT NOT NULL,
    delivered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_case ON deliveries (case_no, delivery_id);
"""

RECIPIENTS = ("transport_authority", "school", "association", "platform_operator")
# Who each handling step is delivered to.
UPDATE_RECIPIENTS: dict[str, tuple[str, ...]] = {
    "reminder": ("school",),
    "escalated": ("transport_authority", "platform_operator"),
    "answered": RECIPIENTS,
    "reopened": RECIPIENTS,
    "closed": RECIPIENTS,
}
UpdateKind = Literal["reminder", "escalated", "answered", "reopened", "closed"]
# The case's status after each step.
STATUS_AFTER = {"answered": "answered", "reopened": "reopened", "closed": "closed"}

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class CaseRequest(BaseModel):
    complaint_ref: Id
    school_id: Id
    coach_id: Id | None = None
    city_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    category: Id
    content: Text
    callback_url: Annotated[str, StringConstraints(min_length=1)]


class CaseUpdate(BaseModel):
    update_id: Id
    kind: UpdateKind
    text: Annotated[str, StringConstraints(max_length=2000)] = ""


class OfficerNote(BaseModel):
    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "note"
    note: Annotated[str, StringConstraints(max_length=500)] = ""


def _deliver(
    conn: sqlite3.Connection, case_no: str, recipients: tuple[str, ...], update_id: str | None
) -> list[JSON]:
    at = utc_now_iso()
    conn.executemany(
        "INSERT INTO deliveries (case_no, update_id, recipient, delivered_at) VALUES (?, ?, ?, ?)",
        [(case_no, update_id, r, at) for r in recipients],
    )
    return [{"recipient": r, "delivered_at": at} for r in recipients]


def _file(conn: sqlite3.Connection, req: CaseRequest) -> tuple[int, JSON]:
    case_no = f"12328-{req.city_code}-{next_seq(conn, 'case'):08d}"
    conn.execute(
        "INSERT INTO cases (case_no, complaint_ref, school_id, coach_id, city_code, category,"
        " content, callback_url, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            case_no,
            req.complaint_ref,
            req.school_id,
            req.coach_id,
            req.city_code,
            req.category,
            req.content,
            req.callback_url,
            "delivered",
            utc_now_iso(),
        ),
    )
    deliveries = _deliver(conn, case_no, RECIPIENTS, None)
    return 201, {"case_no": case_no, "status": "delivered", "deliveries": deliveries}


def _case(conn: sqlite3.Connection, case_no: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
    if row is None:
        raise not_found("投诉案件")
    return row


def _update(conn: sqlite3.Connection, case_no: str, req: CaseUpdate) -> tuple[int, JSON]:
    _case(conn, case_no)
    conn.execute(
        "INSERT INTO updates (update_id, case_no, kind, text, created_at) VALUES (?, ?, ?, ?, ?)",
        (req.update_id, case_no, req.kind, req.text, utc_now_iso()),
    )
    if req.kind in STATUS_AFTER:
        conn.execute(
            "UPDATE cases SET status = ? WHERE case_no = ?", (STATUS_AFTER[req.kind], case_no)
        )
    deliveries = _deliver(conn, case_no, UPDATE_RECIPIENTS[req.kind], req.update_id)
    return 201, {"case_no": case_no, "update_id": req.update_id, "deliveries": deliveries}


def handling_event(sim: Simulator, case: sqlite3.Row, kind: str, note: str) -> JSON:
    """Tells the platform of a handling step 12328 itself took (signed callback)."""
    event = {
        "event": "complaint.handling",
        "event_id": uuid.uuid4().hex,
        "case_no": case["case_no"],
        "complaint_ref": case["complaint_ref"],
        "kind": kind,
        "note": note,
        "at": utc_now_iso(),
    }
    sim.callbacks.send(case["callback_url"], event)
    return event


router = business_router(tags=["12328"])
simulate = APIRouter(tags=["simulate (12328 officers, no faults)"])


@router.post("/cases", status_code=201)
async def file_case(sim: SimDep, req: CaseRequest) -> JSONResponse:
    outcome = idempotent(sim.store, "cases", req.complaint_ref, req, lambda c: _file(c, req))
    if not outcome.replayed:
        case = sim.store.one("SELECT * FROM cases WHERE case_no = ?", (outcome.body["case_no"],))
        assert case is not None
        handling_event(sim, case, "accepted", "12328 已受理并转送相关单位")
    return outcome.response()


@router.post("/cases/{case_no}/updates", status_code=201)
async def push_update(sim: SimDep, case_no: str, req: CaseUpdate) -> JSONResponse:
    outcome = idempotent(
        sim.store, "updates", req.update_id, req, lambda c: _update(c, case_no, req)
    )
    return outcome.response()


@router.get("/cases/{case_no}")
async def get_case(sim: SimDep, case_no: str) -> JSON:
    with sim.store.tx() as conn:
        case = dict(_case(conn, case_no))
        updates = conn.execute(
            "SELECT update_id, kind, text, created_at FROM updates WHERE case_no = ?"
            " ORDER BY rowid",
            (case_no,),
        ).fetchall()
        deliveries = conn.execute(
            "SELECT update_id, recipient, delivered_at FROM deliveries WHERE case_no = ?"
            " ORDER BY delivery_id",
            (case_no,),
        ).fetchall()
    case["updates"] = [dict(u) for u in updates]
    case["deliveries"] = [dict(d) for d in deliveries]
    return case


@simulate.post("/_simulate/cases/{case_no}/events", status_code=201)
async def officer_note(sim: SimDep, case_no: str, req: OfficerNote) -> JSON:
    with sim.store.tx() as conn:
        case = _case(conn, case_no)
    return handling_event(sim, case, req.kind, req.note)


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "complaints", "12328 投诉系统 (simulator)", Store(db_path, SCHEMA), secret, options
    )
    app.include_router(router)
    app.include_router(simulate)
    return app
