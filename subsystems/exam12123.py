"""Simulator of the traffic police exam system (交管 12123).

The platform pushes a subject's eligibility once the regulator approved its stage report
(阶段报审); only then can that subject's exam be booked. The examiner is a person, so the
result is a `/_simulate/...` endpoint without faults; it reaches the platform as a signed
`exam.result` callback. Each booking gives one attempt plus one same-day retake (公安部令
第162号); passing subject 1 issues the learning permit (学习驾驶证明), valid three years.

For demos `auto_pass_seconds` makes every booking pass on its own after a while. The
graduates feed (violations and accidents of new drivers) backs the quality index.
"""

import asyncio
import contextlib
import json
import sqlite3
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.calendar import add_years
from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Simulator,
    Store,
    business_router,
    china_time,
    create_simulator_app,
    idempotent,
    install_settings,
    not_found,
    reject,
    settings_of,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS eligibility (
    learner_no TEXT NOT NULL,
    subject INTEGER NOT NULL CHECK (subject BETWEEN 1 AND 4),
    journey_ref TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    school_id TEXT NOT NULL,
    stage_report_id TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (learner_no, subject)
);
CREATE TABLE IF NOT EXISTS bookings (
    booking_id TEXT PRIMARY KEY,
    learner_no TEXT NOT NULL,
    journey_ref TEXT NOT NULL,
    subject INTEGER NOT NULL CHECK (subject BETWEEN 1 AND 4),
    exam_date TEXT NOT NULL,
    venue TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'examined')),
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    attempts TEXT,
    passed INTEGER,
    permit_issued_at TEXT,
    permit_valid_until TEXT,
    examined_at TEXT
);
-- The database itself refuses a second open booking of one subject.
CREATE UNIQUE INDEX IF NOT EXISTS bookings_one_open
    ON bookings (learner_no, subject) WHERE status = 'booked';
CREATE TABLE IF NOT EXISTS violations (
    violation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_no TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('violation', 'accident')),
    occurred_at TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points >= 0),
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS violations_learner ON violations (learner_no, occurred_at);
-- A driving licence, issued when subject 4 is passed (or entered by hand): whose graduate the
-- holder is, and since when they drive (the three-year statistics run from it).
CREATE TABLE IF NOT EXISTS licences (
    learner_no TEXT PRIMARY KEY,
    school_id TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    licensed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS licences_school ON licences (school_id);
"""
# An accident's severity (minor | injury | fatal); a violation's is its points. Added to a
# violations table made before it existed.
SEVERITY_COLUMN = "severity"

# Pass marks out of 100: the theory tests (subjects 1 and 4) 90, the driving tests 80.
PASS_MARKS: dict[int, int] = {1: 90, 2: 80, 3: 80, 4: 90}
PERMIT_YEARS = 3
AUTO_PASS_SCORE = 100

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Subject = Annotated[int, Field(ge=1, le=4)]
Score = Annotated[int, Field(ge=0, le=100)]


class ExamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_pass_seconds: float | None = Field(None, ge=0)


SettingsDep = Annotated[ExamSettings, Depends(settings_of(ExamSettings))]


class EligibilityRequest(BaseModel):
    request_id: Id
    learner_no: Id
    journey_ref: Id
    subject: Subject
    vehicle_class: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=4)
    ]
    school_id: Id
    stage_report_id: Id


class BookingRequest(BaseModel):
    booking_id: Id
    learner_no: Id
    subject: Subject
    exam_date: date
    venue: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    callback_url: Annotated[str, StringConstraints(min_length=1)]


class ResultRequest(BaseModel):
    score: Score
    # None: derived from the pass mark. An examiner may fail a high score (an instant-fail
    # item in the driving test), so an explicit value wins.
    passed: bool | None = None
    retake_score: Score | None = None


class ViolationRequest(BaseModel):
    learner_no: Id
    kind: Literal["violation", "accident"]
    occurred_at: datetime
    points: int = Field(ge=0, le=100)
    severity: Literal["minor", "injury", "fatal"] | None = None  # accidents only


class LicenceRequest(BaseModel):
    learner_no: Id
    school_id: Id
    vehicle_class: Annotated[str, StringConstraints(min_length=1, max_length=4)] = "C1"
    licensed_at: date


def booking_view(row: sqlite3.Row) -> JSON:
    data = dict(row)
    data["attempts"] = None if row["attempts"] is None else json.loads(row["attempts"])
    data["passed"] = None if row["passed"] is None else bool(row["passed"])
    return data


def _load(conn: sqlite3.Connection, booking_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM bookings WHERE booking_id = ?", (booking_id,)).fetchone()
    if row is None:
        raise not_found("考试预约")
    return row


router = business_router(tags=["12123"])
simulate = APIRouter(tags=["simulate (examiners, no faults)"])


def _grant(conn: sqlite3.Connection, req: EligibilityRequest) -> tuple[int, JSON]:
    exists = conn.execute(
        "SELECT 1 FROM eligibility WHERE learner_no = ? AND subject = ?",
        (req.learner_no, req.subject),
    ).fetchone()
    # A new approved stage report (a new enrolment after a transfer) replaces the old one.
    conn.execute(
        "INSERT INTO eligibility (learner_no, subject, journey_ref, vehicle_class, school_id,"
        " stage_report_id, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (learner_no, subject) DO UPDATE SET journey_ref = excluded.journey_ref,"
        " vehicle_class = excluded.vehicle_class, school_id = excluded.school_id,"
        " stage_report_id = excluded.stage_report_id, granted_at = excluded.granted_at",
        (
            req.learner_no,
            req.subject,
            req.journey_ref,
            req.vehicle_class,
            req.school_id,
            req.stage_report_id,
            utc_now_iso(),
        ),
    )
    body = {"learner_no": req.learner_no, "subject": req.subject, "status": "eligible"}
    return (200 if exists else 201), body


@router.post("/eligibility", status_code=201)
async def grant_eligibility(sim: SimDep, req: EligibilityRequest) -> JSONResponse:
    outcome = idempotent(sim.store, "eligibility", req.request_id, req, lambda c: _grant(c, req))
    return outcome.response()


def _book(conn: sqlite3.Connection, req: BookingRequest) -> tuple[int, JSON]:
    eligible = conn.execute(
        "SELECT journey_ref FROM eligibility WHERE learner_no = ? AND subject = ?",
        (req.learner_no, req.subject),
    ).fetchone()
    if eligible is None:
        raise reject(409, "not_eligible", "该科目未获考试资格（阶段培训未审核通过）")
    passed = conn.execute(
        "SELECT booking_id FROM bookings WHERE learner_no = ? AND subject = ? AND passed = 1",
        (req.learner_no, req.subject),
    ).fetchone()
    if passed is not None:
        raise reject(409, "already_passed", "该科目已考试合格", booking_id=passed["booking_id"])
    open_booking = conn.execute(
        "SELECT booking_id FROM bookings WHERE learner_no = ? AND subject = ?"
        " AND status = 'booked'",
        (req.learner_no, req.subject),
    ).fetchone()
    if open_booking is not None:
        raise reject(
            409, "already_booked", "该科目已有未考的预约", booking_id=open_booking["booking_id"]
        )
    conn.execute(
        "INSERT INTO bookings (booking_id, learner_no, journey_ref, subject, exam_date, venue,"
        " callback_url, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?)",
        (
            req.booking_id,
            req.learner_no,
            eligible["journey_ref"],
            req.subject,
            req.exam_date.isoformat(),
            req.venue,
            req.callback_url,
            utc_now_iso(),
        ),
    )
    return 201, {
        "booking_id": req.booking_id,
        "status": "booked",
        "exam_date": req.exam_date.isoformat(),
        "venue": req.venue,
    }


@router.post("/bookings", status_code=201)
async def create_booking(sim: SimDep, settings: SettingsDep, req: BookingRequest) -> JSONResponse:
    outcome = idempotent(sim.store, "bookings", req.booking_id, req, lambda c: _book(c, req))
    if not outcome.replayed and settings.auto_pass_seconds is not None:
        sim.background.spawn(_auto_pass(sim, req.booking_id, settings.auto_pass_seconds))
    return outcome.response()


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(sim: SimDep, booking_id: str) -> JSON:
    with sim.store.tx() as conn:
        row = _load(conn, booking_id)
        if row["status"] == "examined":
            raise reject(409, "result_exists", "已有考试成绩，不能取消")
        if row["status"] == "booked":
            conn.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = ? WHERE booking_id = ?",
                (utc_now_iso(), booking_id),
            )
    return {"booking_id": booking_id, "status": "cancelled"}


@router.get("/bookings/{booking_id}")
async def get_booking(sim: SimDep, booking_id: str) -> JSON:
    with sim.store.tx() as conn:
        return booking_view(_load(conn, booking_id))


@router.get("/graduates/{learner_no}/record")
async def graduate_record(sim: SimDep, learner_no: str) -> list[JSON]:
    rows = sim.store.all(
        "SELECT violation_id, learner_no, kind, occurred_at, points FROM violations"
        " WHERE learner_no = ? ORDER BY occurred_at, violation_id",
        (learner_no,),
    )
    return [dict(r) for r in rows]


@router.get("/schools/{school_id}/driving-records")
async def driving_records(
    sim: SimDep,
    school_id: str,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSON:
    """The violations and accidents of a school's licensed graduates, in record order from
    `after` on (a reader keeps `next_after` and asks again while `more`)."""
    rows = sim.store.all(
        "SELECT v.violation_id, v.learner_no, v.kind, v.points, v.severity, v.occurred_at,"
        " l.licensed_at FROM violations v JOIN licences l ON l.learner_no = v.learner_no"
        " WHERE l.school_id = ? AND v.violation_id > ? ORDER BY v.violation_id LIMIT ?",
        (school_id, after, limit + 1),
    )
    page = [_driving_record(r) for r in rows[:limit]]
    return {
        "items": page,
        "next_after": page[-1]["violation_id"] if page else after,
        "more": len(rows) > limit,
    }


def _driving_record(row: sqlite3.Row) -> JSON:
    kind = row["kind"]
    severity = (row["severity"] or "minor") if kind == "accident" else str(row["points"])
    return {
        **dict(row),
        "record_no": f"12123-{row['violation_id']:010d}",
        "severity": severity,
    }


def _issue_licence(conn: sqlite3.Connection, learner_no: str, day: date) -> None:
    """The licence of a learner who passed subject 4, for the school that trained them."""
    eligible = conn.execute(
        "SELECT school_id, vehicle_class FROM eligibility WHERE learner_no = ? AND subject = 4",
        (learner_no,),
    ).fetchone()
    if eligible is not None:
        conn.execute(
            "INSERT INTO licences (learner_no, school_id, vehicle_class, licensed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (learner_no) DO NOTHING",
            (learner_no, eligible["school_id"], eligible["vehicle_class"], day.isoformat()),
        )


def _attempts(subject: int, result: ResultRequest) -> list[JSON]:
    mark = PASS_MARKS[subject]
    first_passed = result.score >= mark if result.passed is None else result.passed
    attempts: list[JSON] = [{"score": result.score, "passed": first_passed}]
    if result.retake_score is not None:
        if first_passed:
            raise reject(422, "retake_not_allowed", "首次考试合格，不能补考")
        attempts.append({"score": result.retake_score, "passed": result.retake_score >= mark})
    return attempts


def record_result(sim: Simulator, booking_id: str, result: ResultRequest) -> JSON:
    """Store the examiner's result and send the callback; HTTPException when not allowed."""
    with sim.store.tx() as conn:
        row = _load(conn, booking_id)
        if row["status"] == "examined":
            raise reject(409, "result_exists", "该预约已有考试成绩")
        if row["status"] == "cancelled":
            raise reject(409, "booking_cancelled", "预约已取消，不能录入成绩")
        attempts = _attempts(row["subject"], result)
        passed = bool(attempts[-1]["passed"])
        issued = valid_until = None
        if passed and row["subject"] == 1:
            exam_day = date.fromisoformat(row["exam_date"])
            issued = exam_day.isoformat()
            valid_until = add_years(exam_day, PERMIT_YEARS).isoformat()
        conn.execute(
            "UPDATE bookings SET status = 'examined', attempts = ?, passed = ?,"
            " permit_issued_at = ?, permit_valid_until = ?, examined_at = ? WHERE booking_id = ?",
            (json.dumps(attempts), int(passed), issued, valid_until, utc_now_iso(), booking_id),
        )
        if passed and row["subject"] == 4:
            _issue_licence(conn, row["learner_no"], date.fromisoformat(row["exam_date"]))
        row = _load(conn, booking_id)
    sim.callbacks.send(
        row["callback_url"],
        {
            "event": "exam.result",
            "booking_id": booking_id,
            "learner_no": row["learner_no"],
            "journey_ref": row["journey_ref"],
            "subject": row["subject"],
            "exam_date": row["exam_date"],
            "attempts": attempts,
            "passed": passed,
            "permit_issued_at": issued,
            "permit_valid_until": valid_until,
        },
    )
    return booking_view(row)


async def _auto_pass(sim: Simulator, booking_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    # Cancelled meanwhile, or an examiner entered a result by hand: nothing to do.
    with contextlib.suppress(HTTPException):
        record_result(sim, booking_id, ResultRequest(score=AUTO_PASS_SCORE))


@simulate.post("/_simulate/bookings/{booking_id}/result")
async def simulate_result(sim: SimDep, booking_id: str, req: ResultRequest) -> JSON:
    return record_result(sim, booking_id, req)


@simulate.post("/_simulate/violations", status_code=201)
async def simulate_violation(sim: SimDep, req: ViolationRequest) -> JSON:
    """The police record a graduate's violation or accident (for the three-year statistics)."""
    occurred_at = china_time(req.occurred_at).isoformat(timespec="seconds")
    with sim.store.tx() as conn:
        severity = (req.severity or "minor") if req.kind == "accident" else None
        cursor = conn.execute(
            "INSERT INTO violations (learner_no, kind, occurred_at, points, recorded_at, severity)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (req.learner_no, req.kind, occurred_at, req.points, utc_now_iso(), severity),
        )
        violation_id = cursor.lastrowid
    return {
        "violation_id": violation_id,
        "learner_no": req.learner_no,
        "kind": req.kind,
        "occurred_at": occurred_at,
        "points": req.points,
    }


@simulate.post("/_simulate/licences", status_code=201)
async def simulate_licence(sim: SimDep, req: LicenceRequest) -> JSON:
    """A licence entered by hand (a graduate of before the platform, or a demo's history)."""
    with sim.store.tx() as conn:
        conn.execute(
            "INSERT INTO licences (learner_no, school_id, vehicle_class, licensed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (learner_no) DO UPDATE SET"
            " school_id = excluded.school_id, vehicle_class = excluded.vehicle_class,"
            " licensed_at = excluded.licensed_at",
            (req.learner_no, req.school_id, req.vehicle_class, req.licensed_at.isoformat()),
        )
    return req.model_dump(mode="json")


def _store(db_path: str) -> Store:
    store = Store(db_path, SCHEMA)
    columns = {r["name"] for r in store.all("PRAGMA table_info(violations)")}
    if SEVERITY_COLUMN not in columns:
        with store.tx() as conn:
            conn.execute(f"ALTER TABLE violations ADD COLUMN {SEVERITY_COLUMN} TEXT")
    return store


def create_app(
    db_path: str,
    secret: str,
    options: SimOptions | None = None,
    *,
    auto_pass_seconds: float | None = None,
) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "exam", "交管12123 考试系统 (simulator)", _store(db_path), secret, options
    )
    install_settings(app, ExamSettings(auto_pass_seconds=auto_pass_seconds))
    app.include_router(router)
    app.include_router(simulate)
    return app
