"""Simulator of the national driving-training platform (全国驾培平台).

The platform registers each learner here and gets back the unified learner number
(全国统一编号). One ID number may be actively enrolled at one school at a time.

Later stages add training records (学时) and graduation (结业): add their tables to `SCHEMA`
and their routes to `router`; the registration rules below stay as they are.
"""

import sqlite3
from typing import Annotated

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
    status TEXT NOT NULL CHECK (status IN ('registered', 'withdrawn')),
    registered_at TEXT NOT NULL,
    withdrawn_at TEXT
);
-- The database itself refuses a second active enrolment for one person.
CREATE UNIQUE INDEX IF NOT EXISTS learners_one_active
    ON learners (id_number) WHERE status = 'registered';
"""

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


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "national", "全国驾培平台 (simulator)", Store(db_path, SCHEMA), secret, options
    )
    app.include_router(router)
    return app
