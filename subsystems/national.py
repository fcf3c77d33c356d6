"""Simulator of the national driving-training platform (全国驾培平台).

The platform registers each learner here and gets back the unified learner number
(全国统一编号). One ID number may be actively enrolled at one school at a time.

The platform also reports each confirmed training record (学时) — the national platform sums
the valid minutes per subject — and the graduation (结业), which ends the active enrolment.
"""

import sqlite3
from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints, field_validator

from core.idcard import id_number_error
from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Store,
    business_router,
    create_simulator_app,
    idempotent,
    next_seq,
    not_found,
    reject,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    learner_no TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    school_id TEXT NOT NULL,
    name TEXT NOT NULL,
    id_number TEXT NOT NULL,
    phone TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('registered', 'withdrawn', 'graduated')),
    registered_at TEXT NOT NULL,
    withdrawn_at TEXT,
    certificate_no TEXT,
    graduated_at TEXT
);
-- The database itself refuses a second active enrolment for one person. A withdrawn or
-- graduated learner may enrol again (another class, another school).
CREATE UNIQUE INDEX IF NOT EXISTS learners_one_active
    ON learners (id_number) WHERE status = 'registered';
-- No foreign key to learners: `_upgrade_learners` rebuilds that table in older databases.
CREATE TABLE IF NOT EXISTS training_records (
    record_no TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    learner_no TEXT NOT NULL,
    subject TEXT NOT NULL CHECK (subject IN ('theory', 'field', 'road', 'safety')),
    valid_minutes INTEGER NOT NULL CHECK (valid_minutes >= 0),
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS training_records_learner ON training_records (learner_no, subject);
"""
SUBJECTS = ("theory", "field", "road", "safety")

# Licence classes of the Ministry of Public Security (准驾车型).
VEHICLE_CLASSES = frozenset(
    {"A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P"}
)

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RegisterLearner(BaseModel):
    request_id: Id
    school_id: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    id_number: str
    phone: Annotated[str, Field(pattern=r"^1\d{10}$")]
    vehicle_class: str

    @field_validator("id_number")
    @classmethod
    def _valid_id_number(cls, value: str) -> str:
        value = value.strip().upper()
        if error := id_number_error(value):
            raise ValueError(error)
        return value

    @field_validator("vehicle_class")
    @classmethod
    def _known_class(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in VEHICLE_CLASSES:
            raise ValueError(f"unknown vehicle class {value!r}")
        return value


class WithdrawLearner(BaseModel):
    request_id: Id


class TrainingRecord(BaseModel):
    request_id: Id
    learner_no: Id
    record_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    subject: Literal["theory", "field", "road", "safety"]
    valid_minutes: int = Field(ge=0, le=24 * 60)


class Graduation(BaseModel):
    request_id: Id
    learner_no: Id
    certificate_no: Id
    graduated_at: datetime


router = business_router(tags=["national"])


def learner_no_for(seq: int) -> str:
    # 16 characters: "L" and a 15-digit serial, unique and stable across restarts.
    return f"L{seq:015d}"


def _register(conn: sqlite3.Connection, req: RegisterLearner) -> tuple[int, JSON]:
    active = conn.execute(
        "SELECT learner_no, school_id FROM learners WHERE id_number = ? AND status = 'registered'",
        (req.id_number,),
    ).fetchone()
    if active is not None:
        if active["school_id"] != req.school_id:
            raise reject(409, "already_enrolled", "该身份证号已在其他驾校报名")
        # Same person, same school, a new request id: the platform lost our first answer.
        return 200, {"learner_no": active["learner_no"], "status": "registered"}
    learner_no = learner_no_for(next_seq(conn, "learner_no"))
    conn.execute(
        "INSERT INTO learners (learner_no, request_id, school_id, name, id_number, phone,"
        " vehicle_class, status, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'registered', ?)",
        (
            learner_no,
            req.request_id,
            req.school_id,
            req.name,
            req.id_number,
            req.phone,
            req.vehicle_class,
            utc_now_iso(),
        ),
    )
    return 201, {"learner_no": learner_no, "status": "registered"}


@router.post("/learners", status_code=201)
async def register_learner(sim: SimDep, req: RegisterLearner) -> JSONResponse:
    outcome = idempotent(
        sim.store, "learners", req.request_id, req, lambda conn: _register(conn, req)
    )
    return outcome.response()


@router.post("/learners/{learner_no}/withdraw")
async def withdraw_learner(sim: SimDep, learner_no: str, req: WithdrawLearner) -> JSON:
    with sim.store.tx() as conn:
        row = conn.execute(
            "SELECT status FROM learners WHERE learner_no = ?", (learner_no,)
        ).fetchone()
        if row is None:
            raise not_found("学员编号")
        if row["status"] == "graduated":
            raise reject(409, "already_graduated", "该学员已结业，不能退学")
        if row["status"] == "registered":
            conn.execute(
                "UPDATE learners SET status = 'withdrawn', withdrawn_at = ? WHERE learner_no = ?",
                (utc_now_iso(), learner_no),
            )
    return {"learner_no": learner_no, "status": "withdrawn"}


@router.get("/learners/{learner_no}")
async def get_learner(sim: SimDep, learner_no: str) -> JSON:
    row = sim.store.one("SELECT * FROM learners WHERE learner_no = ?", (learner_no,))
    if row is None:
        raise not_found("学员编号")
    return dict(row)


def _load_learner(conn: sqlite3.Connection, learner_no: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM learners WHERE learner_no = ?", (learner_no,)).fetchone()
    if row is None:
        raise not_found("学员编号")
    return row


def _accept_record(conn: sqlite3.Connection, req: TrainingRecord) -> tuple[int, JSON]:
    _load_learner(conn, req.learner_no)
    body = {"record_no": req.record_no, "learner_no": req.learner_no, "status": "accepted"}
    known = conn.execute(
        "SELECT learner_no, subject, valid_minutes FROM training_records WHERE record_no = ?",
        (req.record_no,),
    ).fetchone()
    if known is not None:
        # The record number is the timing platform's own key: the same record under a new
        # request id was already counted; a different one under the same number is an error.
        if tuple(known) != (req.learner_no, req.subject, req.valid_minutes):
            raise reject(409, "record_conflict", "该学时记录编号已上报，内容不同")
        return 200, body
    # Records of a withdrawn or graduated learner still count: a terminal may upload late.
    conn.execute(
        "INSERT INTO training_records (record_no, request_id, learner_no, subject,"
        " valid_minutes, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            req.record_no,
            req.request_id,
            req.learner_no,
            req.subject,
            req.valid_minutes,
            utc_now_iso(),
        ),
    )
    return 201, body


@router.post("/training-records", status_code=201)
async def report_training_record(sim: SimDep, req: TrainingRecord) -> JSONResponse:
    outcome = idempotent(
        sim.store, "training_records", req.request_id, req, lambda c: _accept_record(c, req)
    )
    return outcome.response()


@router.get("/learners/{learner_no}/hours")
async def learner_hours(sim: SimDep, learner_no: str) -> JSON:
    if sim.store.one("SELECT 1 FROM learners WHERE learner_no = ?", (learner_no,)) is None:
        raise not_found("学员编号")
    rows = sim.store.all(
        "SELECT subject, SUM(valid_minutes) AS minutes FROM training_records"
        " WHERE learner_no = ? GROUP BY subject",
        (learner_no,),
    )
    minutes = dict.fromkeys(SUBJECTS, 0) | {r["subject"]: r["minutes"] for r in rows}
    return {"learner_no": learner_no, "minutes": minutes}


def _graduate(conn: sqlite3.Connection, req: Graduation) -> tuple[int, JSON]:
    row = _load_learner(conn, req.learner_no)
    body = {"learner_no": req.learner_no, "certificate_no": req.certificate_no}
    if row["status"] == "graduated":
        if row["certificate_no"] != req.certificate_no:
            raise reject(
                409, "already_graduated", "该学员已结业", certificate_no=row["certificate_no"]
            )
        return 200, {**body, "status": "graduated"}
    if row["status"] != "registered":
        raise reject(409, "not_enrolled", "该学员已退学，不能结业", status=row["status"])
    conn.execute(
        "UPDATE learners SET status = 'graduated', certificate_no = ?, graduated_at = ?"
        " WHERE learner_no = ?",
        (req.certificate_no, req.graduated_at.isoformat(timespec="seconds"), req.learner_no),
    )
    return 201, {**body, "status": "graduated"}


@router.post("/graduations", status_code=201)
async def graduate(sim: SimDep, req: Graduation) -> JSONResponse:
    outcome = idempotent(sim.store, "graduations", req.request_id, req, lambda c: _graduate(c, req))
    return outcome.response()


def _upgrade_learners(store: Store) -> None:
    """Give a database made before graduation existed the current `learners` table.

    SQLite cannot change a CHECK constraint in place, so the table is rebuilt and its rows
    copied; a current database is left alone.
    """
    row = store.one("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'learners'")
    if row is None or "'graduated'" in row["sql"]:
        return
    with store.tx() as conn:
        conn.execute("ALTER TABLE learners RENAME TO learners_old")
        conn.execute("DROP INDEX learners_one_active")
        # executescript would commit; run the statements one by one inside this transaction.
        ddl = "\n".join(line for line in SCHEMA.splitlines() if not line.lstrip().startswith("--"))
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(statement)
        columns = ", ".join(c["name"] for c in conn.execute("PRAGMA table_info(learners_old)"))
        conn.execute(f"INSERT INTO learners ({columns}) SELECT {columns} FROM learners_old")
        conn.execute("DROP TABLE learners_old")


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    store = Store(db_path, SCHEMA)
    _upgrade_learners(store)
    app = create_simulator_app("national", "全国驾培平台 (simulator)", store, secret, options)
    app.include_router(router)
    return app
