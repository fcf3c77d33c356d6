import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.config import Settings
from core.db import engine_for
from core.security import hash_password
from models.demo import DEMO_PASSWORD
from models.users import Role, User


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def token(self, username: str) -> dict[str, str]:
        r = await self.http.post(
            "/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def add_learner(self) -> str:
        return add_learner(self.settings.database_url, hash_password(DEMO_PASSWORD))


def add_learner(database_url: str, password_hash: str) -> str:
    """A learner of one's own per test, so journey ids never meet another test's on the shared
    dev server; returns the username."""
    name = f"t{uuid.uuid4().hex[:10]}"
    with Session(engine_for(database_url)) as session:
        session.add(
            User(
                id=f"U-{name}",
                username=name,
                password_hash=password_hash,
                role=Role.learner,
                display_name="测试学员",
            )
        )
        session.commit()
    return name


def test_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Demo registry and accounts, without the demo's slots or its year of history (tests seed
    what they count)."""
    defaults: dict[str, object] = {"demo_slots": False, "demo_history": False}
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        data_dir=tmp_path / "var",
        task_queue=f"api-{uuid.uuid4().hex}",
        **{**defaults, **overrides},  # type: ignore[arg-type]
    )


@pytest.fixture
async def api(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    """The API in-process against the dev server (no worker: journeys start but do not move)."""
    settings = test_settings(tmp_path)
    app = create_app(settings, temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(app, http, settings)
