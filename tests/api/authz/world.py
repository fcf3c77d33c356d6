"""The tenants the authorization tests call as, built once per module: a learner's journey at a
Rizhao school with its complaint, consultation, review and the school's slot; who owns them
(the learner, the school's staff, Rizhao's and Shandong's regulators) and who must not reach
them (another learner, another school's staff in the same city and in another, another city's
regulator, a staff account bound to no school and a regulator's to no region), and one account
of every role.

The journey and the complaint are real workflows on a worker that runs workflows but no
activities: they answer queries and would take any Update that got through, so a hole shows
as a changed history, never as a 404 from a workflow that is not there.
"""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import Session, SQLModel
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from core.config import Settings
from core.db import engine_for
from core.security import hash_password
from models.demo import DEMO_PASSWORD
from models.evaluation import Review
from models.journeys import JourneyRecord
from models.users import Role, User
from tests.api.authz.calls import SAMPLES
from tests.api.conftest import add_learner, test_settings
from workflows.complaint import ComplaintWorkflow
from workflows.journey import LearnerJourney
from workflows.journey_state import JourneyView

SCHOOL, CITY = "S371100001", "371100"
# The victim's own person: numbers that must never appear whole outside their own detail.
ID_NUMBER, PHONE, NAME = "371102199505054324", "13912345678", "李四"
ENROLMENT = {
    **{k: SAMPLES[k] for k in ("lat", "lon", "vehicle_class")},
    "school_id": SCHOOL,
    "coach_id": f"{SCHOOL}-K1",
    "name": NAME,
    "phone": PHONE,
    "id_number": ID_NUMBER,
}


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    client: Client
    settings: Settings
    headers: dict[str, dict[str, str]]  # caller -> Authorization header
    victim: dict[str, str] = field(default_factory=dict)  # tenant kind -> the victim's id
    journey: WorkflowHandle[Any, Any] | None = None
    complaint: WorkflowHandle[Any, Any] | None = None

    async def login(self, username: str) -> dict[str, str]:
        r = await self.http.post(
            "/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def call(self, caller: str | None, request: dict[str, Any]) -> httpx.Response:
        headers = {"Idempotency-Key": f"authz-{uuid.uuid4().hex}"}
        if caller is not None:
            headers |= self.headers[caller]
        return await self.http.request(**request, headers=headers)

    async def footprint(self) -> dict[str, Any]:
        """Everything a refused call could have changed: every table's rows, the journey's
        and the complaint's history length, and the journey's state."""
        assert self.journey is not None and self.complaint is not None
        found: dict[str, Any] = {"rows": database_rows(self.settings.database_url)}
        for name, handle in (("journey", self.journey), ("complaint", self.complaint)):
            found[f"{name} history"] = len((await handle.fetch_history()).events)
        view: JourneyView = await self.journey.query(LearnerJourney.view)
        found["journey state"] = json.dumps(view.state.__dict__, default=str, sort_keys=True)
        return found


def database_rows(database_url: str) -> dict[str, list[str]]:
    with engine_for(database_url).connect() as conn:
        return {
            t.name: sorted(repr(tuple(row)) for row in conn.execute(t.select()))
            for t in SQLModel.metadata.sorted_tables
        }


def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


@asynccontextmanager
async def world(dev_env: WorkflowEnvironment, tmp: Path) -> AsyncIterator[World]:
    settings = test_settings(tmp)
    app = create_app(settings, temporal=dev_env.client)
    worker = Worker(
        dev_env.client,
        task_queue=settings.task_queue,
        workflows=[LearnerJourney, ComplaintWorkflow],
    )
    async with app.router.lifespan_context(app), worker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            w = World(app, http, dev_env.client, settings, {})
            await _people(w)
            try:
                await _victims_records(w)
                yield w
            finally:
                for handle in (w.journey, w.complaint):
                    if handle is not None:
                        await handle.terminate("authorization matrix done")


async def _people(w: World) -> None:
    password = hash_password(DEMO_PASSWORD)
    learners = {c: add_learner(w.settings.database_url, password) for c in ("learner", "other")}
    # Accounts bound to nothing (an administrator cannot make them; a data error could): they
    # must reach nothing either.
    with Session(engine_for(w.settings.database_url)) as session:
        for name, role in (("unbound_staff", Role.school_staff), ("unbound_gov", Role.regulator)):
            session.add(
                User(
                    id=f"U-{name}",
                    username=name,
                    password_hash=password,
                    role=role,
                    display_name=name,
                )
            )
        session.commit()
    usernames = {
        **learners,
        "school1": "school1",
        "school2": "school2",
        "school_fz": "school_fz",
        "rizhao": "rizhao",
        "shandong": "shandong",
        "fuzhou": "fuzhou",
        "ops": "ops",
        "admin": "admin",
        "unbound_staff": "unbound_staff",
        "unbound_gov": "unbound_gov",
    }
    w.headers = {caller: await w.login(name) for caller, name in usernames.items()}


async def _victims_records(w: World) -> None:
    me = w.headers["learner"]
    r = await w.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
    wf_id = _ok(r)["workflow_id"]
    w.journey = w.client.get_workflow_handle(wf_id)
    learner_id = _ok(await w.http.get("/api/auth/me", headers=me), 200)["id"]
    _project(w, wf_id, learner_id)
    _ok(await w.http.get(f"/api/learner/journeys/{wf_id}", headers=me), 200)
    complaint = _ok(
        await w.http.post(
            "/api/learner/complaints",
            json={"journey_id": wf_id, "category": "fees", "content": "收费与合同不符"},
            headers=me,
        )
    )
    w.complaint = w.client.get_workflow_handle(complaint["workflow_id"])
    consultation = _ok(
        await w.http.post(
            "/api/learner/consultations",
            json={"school_id": SCHOOL, "question": "周末可以练车吗"},
            headers=me,
        )
    )
    slot = _ok(
        await w.http.post(
            "/api/school/slots",
            json={
                "subject": "field",
                "coach_id": f"{SCHOOL}-K1",
                "vehicle_id": f"{SCHOOL}-V1",
                "ground_id": f"{SCHOOL}-G1",
                "start": SAMPLES["start"],
                "hours": 1,
            },
            headers=w.headers["school1"],
        )
    )
    w.victim = {
        "journey": wf_id,
        "complaint": complaint["id"],
        "consultation": consultation["id"],
        "review": _review(w, wf_id, learner_id),
        "slot": slot["id"],
        "coach": f"{SCHOOL}-K1",
        "vehicle": f"{SCHOOL}-V1",
        "ground": f"{SCHOOL}-G1",
        "school": SCHOOL,
        "city": CITY,
    }


def _project(w: World, wf_id: str, learner_id: str) -> None:
    """The journey's read-model row, as its first projection writes it (no activities run)."""
    now = datetime.now(UTC)
    with Session(engine_for(w.settings.database_url)) as session:
        session.add(
            JourneyRecord(
                workflow_id=wf_id,
                learner_id=learner_id,
                school_id=SCHOOL,
                city_code=CITY,
                vehicle_class="C1",
                coach_id=f"{SCHOOL}-K1",
                stage="signup",
                status="active",
                waiting_on="platform",
                stage_entered_at=now,
                started_at=now,
                updated_at=now,
            )
        )
        session.commit()


def _review(w: World, wf_id: str, learner_id: str) -> str:
    """The learner's 科目二 review (written by the journey's activity, which does not run here)."""
    review_id = f"RV-{uuid.uuid4().hex[:20]}"
    now = datetime.now(UTC)
    with Session(engine_for(w.settings.database_url)) as session:
        session.add(
            Review(
                id=review_id,
                journey_id=wf_id,
                learner_id=learner_id,
                school_id=SCHOOL,
                coach_id=f"{SCHOOL}-K1",
                stage="field",
                school_stars=4,
                coach_stars=5,
                text="教练很耐心",
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    return review_id
