"""Simulator of the timing platform (计时平台, standard JT/T 1059).

The platform files learners, coaches and vehicles here. Lessons then happen in the real world:
the terminal in the car, classroom or simulator logs them minute by minute, checks the
learner's face at login, every 9–15 minutes and at logout, and uploads one training record per
lesson. `/_simulate/sessions` stands for that terminal (no faults); the record reaches the
platform as a signed `training.record` callback.

Each session's random draws (photo times, confidences, the terminal's own invalid minutes)
come from a generator seeded with the settings' seed and the session id: a test sees the same
record every run, whatever order its sessions run in.
"""

import json
import random
import sqlite3
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Store,
    business_router,
    china_time,
    create_simulator_app,
    idempotent,
    install_settings,
    next_seq,
    not_found,
    reject,
    settings_of,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    learner_no TEXT PRIMARY KEY,
    school_id TEXT NOT NULL,
    name TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    filed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coaches (
    coach_id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL,
    name TEXT NOT NULL,
    filed_at TEXT NOT NULL
);
-- One terminal per vehicle, and one per school for each kind of room (classroom, simulator,
-- remote teaching); the record number starts with the terminal number.
CREATE TABLE IF NOT EXISTS terminals (
    terminal_no TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('practical', 'classroom', 'simulator', 'remote')),
    owner TEXT NOT NULL,
    UNIQUE (kind, owner)
);
CREATE TABLE IF NOT EXISTS vehicles (
    vehicle_id TEXT PRIMARY KEY,
    plate TEXT NOT NULL,
    school_id TEXT NOT NULL,
    terminal_no TEXT NOT NULL REFERENCES terminals (terminal_no),
    filed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    record_no TEXT PRIMARY KEY CHECK (length(record_no) = 26),
    session_id TEXT NOT NULL UNIQUE,
    learner_no TEXT NOT NULL,
    journey_ref TEXT NOT NULL,
    coach_id TEXT NOT NULL,
    vehicle_id TEXT,
    subject TEXT NOT NULL,
    mode TEXT NOT NULL,
    course_code TEXT NOT NULL CHECK (length(course_code) = 10),
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    total_minutes INTEGER NOT NULL CHECK (total_minutes > 0),
    valid_minutes INTEGER NOT NULL CHECK (valid_minutes >= 0),
    invalid_minutes INTEGER NOT NULL CHECK (invalid_minutes >= 0),
    invalid_reason TEXT,
    photo_checks TEXT NOT NULL,
    gps_ok INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('valid', 'partly_valid', 'invalid')),
    callback_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (valid_minutes + invalid_minutes = total_minutes)
);
CREATE INDEX IF NOT EXISTS records_journey ON records (journey_ref, start_at);
"""

Subject = Literal["theory", "field", "road", "safety"]
Mode = Literal["practical", "classroom", "simulator", "remote"]

# Course code digits (JT/T 1059): delivery mode, part of the syllabus.
MODE_DIGITS: dict[str, int] = {"practical": 1, "classroom": 2, "simulator": 3, "remote": 4}
PART_DIGITS: dict[str, int] = {"theory": 1, "field": 2, "road": 3, "safety": 4}
# Parts 1 and 4 are taught in class or online; parts 2 and 3 in the car or the simulator.
ALLOWED_MODES: dict[str, frozenset[str]] = {
    "theory": frozenset({"classroom", "remote"}),
    "safety": frozenset({"classroom", "remote"}),
    "field": frozenset({"practical", "simulator"}),
    "road": frozenset({"practical", "simulator"}),
}
# Two-digit training class codes. C1 = 21 and C2 = 22 are the reference values; the others
# follow the same pattern (tens digit per family) and are uncertain.
CLASS_CODES: dict[str, str] = {
    **{c: f"1{i}" for i, c in enumerate(("A1", "A2", "A3", "B1", "B2"), start=1)},
    **{c: f"2{i}" for i, c in enumerate(("C1", "C2", "C3", "C4", "C5", "C6"), start=1)},
    **{c: f"3{i}" for i, c in enumerate(("D", "E", "F"), start=1)},
    **{c: f"4{i}" for i, c in enumerate(("M", "N", "P"), start=1)},
}

FACE_MISMATCH = "人脸比对失败"
OFF_AREA = "超出教学区域"
PHOTO_INTERVAL_MINUTES = (9, 15)

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class TimingSettings(BaseModel):
    """The terminals' own faults, on top of the common ones in `/_faults`."""

    model_config = ConfigDict(extra="forbid")

    late_records_ms: int = Field(0, ge=0, le=600_000)
    duplicate_records: int = Field(0, ge=0, le=20)
    invalid_rate: float = Field(0.0, ge=0, le=1)
    seed: int | None = None


SettingsDep = Annotated[TimingSettings, Depends(settings_of(TimingSettings))]


class FileLearner(BaseModel):
    request_id: Id
    learner_no: Id
    school_id: Id
    name: Name
    vehicle_class: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]

    @model_validator(mode="after")
    def _known_class(self) -> "FileLearner":
        if self.vehicle_class not in CLASS_CODES:
            raise ValueError(f"unknown vehicle class {self.vehicle_class!r}")
        return self


class FileCoach(BaseModel):
    request_id: Id
    coach_id: Id
    school_id: Id
    name: Name


class FileVehicle(BaseModel):
    request_id: Id
    vehicle_id: Id
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    school_id: Id


class SessionRequest(BaseModel):
    session_id: Id
    learner_no: Id
    journey_ref: Id
    coach_id: Id
    vehicle_id: Id | None = None
    subject: Subject
    mode: Mode
    # The syllabus item within the part (two digits of the course code).
    item: int = Field(1, ge=1, le=99)
    start: datetime
    minutes: int = Field(gt=0, le=24 * 60)
    invalid_minutes: int = Field(0, ge=0)
    invalid_reason: str | None = None
    callback_url: Annotated[str, StringConstraints(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> "SessionRequest":
        if self.invalid_minutes > self.minutes:
            raise ValueError("invalid_minutes exceeds minutes")
        if self.invalid_minutes and not (self.invalid_reason and self.invalid_reason.strip()):
            raise ValueError("invalid minutes need an invalid_reason")
        if self.mode not in ALLOWED_MODES[self.subject]:
            raise ValueError(f"{self.subject} is not taught in mode {self.mode}")
        if self.mode == "practical" and self.vehicle_id is None:
            raise ValueError("practical training needs a vehicle_id")
        return self


def course_code(mode: str, vehicle_class: str, subject: str, item: int) -> str:
    """Mode digit + two-digit class + part digit + two-digit item + four reserved zeros."""
    return f"{MODE_DIGITS[mode]}{CLASS_CODES[vehicle_class]}{PART_DIGITS[subject]}{item:02d}0000"


def record_status(valid_minutes: int, invalid_minutes: int) -> str:
    if invalid_minutes == 0:
        return "valid"
    return "invalid" if valid_minutes == 0 else "partly_valid"


def photo_checks(
    rng: random.Random, start: datetime, minutes: int, face_fails_from: int | None
) -> list[JSON]:
    """Photos at login, every 9–15 minutes, and at logout.

    When a face match failed, it failed at minute `face_fails_from` (a photo is taken then)
    and every later photo fails too: the minutes from there to logout are void.
    """
    offsets = [0]
    while (nxt := offsets[-1] + rng.randint(*PHOTO_INTERVAL_MINUTES)) < minutes:
        offsets.append(nxt)
    offsets.append(minutes)
    if face_fails_from is not None and face_fails_from not in offsets:
        offsets = sorted([*offsets, face_fails_from])
    checks = []
    for at in offsets:
        matched = face_fails_from is None or at < face_fails_from
        confidence = rng.randint(75, 99) if matched else rng.randint(10, 59)
        checks.append(
            {
                "at": (start + timedelta(minutes=at)).isoformat(timespec="seconds"),
                "confidence": confidence,
                "matched": matched,
            }
        )
    return checks


def _file(conn: sqlite3.Connection, table: str, key: str, values: dict[str, str]) -> int:
    """Insert or update a filing; 201 the first time, 200 for a re-filing (a change)."""
    exists = conn.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", (values[key],)).fetchone()
    columns = list(values)
    conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, filed_at)"
        f" VALUES ({', '.join('?' * len(columns))}, ?)"
        f" ON CONFLICT ({key}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns if c != key),
        (*values.values(), utc_now_iso()),
    )
    return 200 if exists else 201


def _terminal(conn: sqlite3.Connection, kind: str, owner: str) -> str:
    """The terminal of (kind, owner), installed on first use: 16 digits, kind digit first."""
    row = conn.execute(
        "SELECT terminal_no FROM terminals WHERE kind = ? AND owner = ?", (kind, owner)
    ).fetchone()
    if row is not None:
        return str(row["terminal_no"])
    terminal_no = f"{MODE_DIGITS[kind]}{next_seq(conn, 'terminal_no'):015d}"
    conn.execute(
        "INSERT INTO terminals (terminal_no, kind, owner) VALUES (?, ?, ?)",
        (terminal_no, kind, owner),
    )
    return terminal_no


def record_view(row: sqlite3.Row) -> JSON:
    return {
        "record_no": row["record_no"],
        "session_id": row["session_id"],
        "learner_no": row["learner_no"],
        "journey_ref": row["journey_ref"],
        "coach_id": row["coach_id"],
        "vehicle_id": row["vehicle_id"],
        "subject": row["subject"],
        "mode": row["mode"],
        "course_code": row["course_code"],
        "start": row["start_at"],
        "end": row["end_at"],
        "total_minutes": row["total_minutes"],
        "valid_minutes": row["valid_minutes"],
        "invalid_minutes": row["invalid_minutes"],
        "invalid_reason": row["invalid_reason"],
        "photo_checks": json.loads(row["photo_checks"]),
        "gps_ok": bool(row["gps_ok"]),
        "status": row["status"],
    }


def _filed(conn: sqlite3.Connection, table: str, key: str, value: str, what: str) -> sqlite3.Row:
    row = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,)).fetchone()
    if row is None:
        raise reject(409, "not_filed", f"{what}未备案", what=table[:-1], id=value)
    return row


def _log_session(
    conn: sqlite3.Connection, req: SessionRequest, settings: TimingSettings
) -> tuple[int, JSON]:
    learner = _filed(conn, "learners", "learner_no", req.learner_no, "学员")
    _filed(conn, "coaches", "coach_id", req.coach_id, "教练员")
    vehicle = None
    if req.vehicle_id is not None:
        vehicle = _filed(conn, "vehicles", "vehicle_id", req.vehicle_id, "教练车")
    if req.mode == "practical" and vehicle is not None:
        terminal_no = str(vehicle["terminal_no"])
    else:
        terminal_no = _terminal(conn, req.mode, learner["school_id"])

    # Draw every number whatever the rate, so a seed gives the same photos at any rate.
    rng = random.Random(f"{settings.seed}:{req.session_id}")
    terminal_voids = rng.random() < settings.invalid_rate
    voided = rng.randint(1, req.minutes)
    voided_reason = rng.choice((FACE_MISMATCH, OFF_AREA))
    invalid, reason = req.invalid_minutes, req.invalid_reason
    # The caller's own invalid minutes stand; the terminal adds its verdict only to a clean one.
    if terminal_voids and invalid == 0:
        invalid, reason = voided, voided_reason
    valid = req.minutes - invalid
    reason = reason.strip() if invalid and reason else None
    # The invalid minutes are the lesson's last ones: from the failed check until logout.
    face_fails_from = valid if reason is not None and "人脸" in reason else None

    start = china_time(req.start)
    day = start.strftime("%y%m%d")
    seq = next_seq(conn, f"record:{terminal_no}:{day}")
    if seq > 9999:
        raise reject(409, "daily_sequence_exhausted", "该终端当日学时记录编号已用完")
    record_no = f"{terminal_no}{day}{seq:04d}"
    conn.execute(
        "INSERT INTO records (record_no, session_id, learner_no, journey_ref, coach_id,"
        " vehicle_id, subject, mode, course_code, start_at, end_at, total_minutes,"
        " valid_minutes, invalid_minutes, invalid_reason, photo_checks, gps_ok, status,"
        " callback_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?)",
        (
            record_no,
            req.session_id,
            req.learner_no,
            req.journey_ref,
            req.coach_id,
            req.vehicle_id,
            req.subject,
            req.mode,
            course_code(req.mode, learner["vehicle_class"], req.subject, req.item),
            start.isoformat(timespec="seconds"),
            (start + timedelta(minutes=req.minutes)).isoformat(timespec="seconds"),
            req.minutes,
            valid,
            invalid,
            reason,
            json.dumps(photo_checks(rng, start, req.minutes, face_fails_from)),
            int(reason is None or "区域" not in reason),
            record_status(valid, invalid),
            req.callback_url,
            utc_now_iso(),
        ),
    )
    row = conn.execute("SELECT * FROM records WHERE record_no = ?", (record_no,)).fetchone()
    return 201, record_view(row)


router = business_router(tags=["timing"])
simulate = APIRouter(tags=["simulate (terminals, no faults)"])


@router.post("/learners", status_code=201)
async def file_learner(sim: SimDep, req: FileLearner) -> JSONResponse:
    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        values = req.model_dump(exclude={"request_id"})
        status_code = _file(conn, "learners", "learner_no", values)
        return status_code, {"learner_no": req.learner_no, "status": "filed"}

    return idempotent(sim.store, "learners", req.request_id, req, action).response()


@router.post("/coaches", status_code=201)
async def file_coach(sim: SimDep, req: FileCoach) -> JSONResponse:
    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        status_code = _file(conn, "coaches", "coach_id", req.model_dump(exclude={"request_id"}))
        return status_code, {"coach_id": req.coach_id, "status": "filed"}

    return idempotent(sim.store, "coaches", req.request_id, req, action).response()


@router.post("/vehicles", status_code=201)
async def file_vehicle(sim: SimDep, req: FileVehicle) -> JSONResponse:
    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        # The terminal is installed in the car when it is filed, and stays with it.
        terminal_no = _terminal(conn, "practical", req.vehicle_id)
        values = {**req.model_dump(exclude={"request_id"}), "terminal_no": terminal_no}
        status_code = _file(conn, "vehicles", "vehicle_id", values)
        body = {"vehicle_id": req.vehicle_id, "plate": req.plate, "terminal_no": terminal_no}
        return status_code, {**body, "status": "filed"}

    return idempotent(sim.store, "vehicles", req.request_id, req, action).response()


@router.get("/records")
async def list_records(
    sim: SimDep, journey_ref: str | None = None, learner_no: str | None = None
) -> list[JSON]:
    rows = sim.store.all(
        "SELECT * FROM records WHERE (?1 IS NULL OR journey_ref = ?1)"
        " AND (?2 IS NULL OR learner_no = ?2) ORDER BY start_at, record_no",
        (journey_ref, learner_no),
    )
    return [record_view(r) for r in rows]


@router.get("/records/{record_no}")
async def get_record(sim: SimDep, record_no: str) -> JSON:
    row = sim.store.one("SELECT * FROM records WHERE record_no = ?", (record_no,))
    if row is None:
        raise not_found("学时记录")
    return record_view(row)


@simulate.post("/_simulate/sessions", status_code=201)
async def simulate_session(sim: SimDep, settings: SettingsDep, req: SessionRequest) -> JSONResponse:
    """A lesson ends: the terminal computes its record and uploads it (a signed callback).

    Idempotent on the session id: a repeat replays the record and uploads nothing.
    """
    outcome = idempotent(
        sim.store, "sessions", req.session_id, req, lambda c: _log_session(c, req, settings)
    )
    if not outcome.replayed:
        sim.callbacks.send(
            req.callback_url,
            {"event": "training.record", **outcome.body},
            extra_delay_ms=settings.late_records_ms,
            extra_copies=settings.duplicate_records,
        )
    return outcome.response()


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "timing", "计时平台 (simulator)", Store(db_path, SCHEMA), secret, options
    )
    install_settings(app, TimingSettings())
    app.include_router(router)
    app.include_router(simulate)
    return app
