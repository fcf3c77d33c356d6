"""Each role is refused outside its port (403) and outside its scope (404), and 401 without a
valid token."""

from pathlib import Path

import httpx
import jwt
import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.config import DEMO_PASSWORD, Settings
from core.db import engine_for, migrate
from core.security import create_token, hash_password
from models.demo import load_demo_data
from models.users import User
from tests.api import conftest
from tests.api.conftest import Api
from tests.factories import production_secrets

PORT_PROBES = {
    "learner": "/api/learner/schools",
    "school_staff": "/api/school/journeys",
    "regulator": "/api/gov/journeys",
    "ops": "/api/ops/stuck",
}
USERS = {"learner": "learner1", "school_staff": "school1", "regulator": "rizhao", "ops": "ops"}


@pytest.mark.parametrize("path", PORT_PROBES.values())
async def test_every_port_requires_a_token(api: Api, path: str) -> None:
    assert (await api.http.get(path)).status_code == 401


async def test_a_forged_token_is_refused(api: Api) -> None:
    headers = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVLW9wcyJ9.forged"}
    assert (await api.http.get("/api/ops/stuck", headers=headers)).status_code == 401


async def test_wrong_password_is_refused(api: Api) -> None:
    r = await api.http.post("/api/auth/token", data={"username": "ops", "password": "nope"})
    assert r.status_code == 401


@pytest.mark.parametrize("role", USERS)
async def test_each_role_is_refused_outside_its_port(api: Api, role: str) -> None:
    headers = await api.token(USERS[role])
    for port_role, path in PORT_PROBES.items():
        status = (await api.http.get(path, headers=headers)).status_code
        assert status == (200 if port_role == role else 403), (role, path, status)


async def test_regulator_cannot_list_a_school_outside_its_region(api: Api) -> None:
    headers = await api.token("fuzhou")
    r = await api.http.get("/api/gov/journeys", params={"school_id": "S371100001"}, headers=headers)
    assert r.status_code == 404


async def test_an_unknown_journey_is_not_found(api: Api) -> None:
    # Someone else's journey answers the same 404: tests/api/test_training_routes.py.
    r = await api.http.get(
        "/api/learner/journeys/journey-U-nobody-S000-C1", headers=await api.token("learner2")
    )
    assert r.status_code == 404


@pytest.mark.parametrize("region", ["", None, "37"])
async def test_a_regulator_without_a_valid_region_sees_nothing(
    api: Api, region: str | None
) -> None:
    with Session(engine_for(api.settings.database_url)) as session:
        user = session.exec(select(User).where(User.username == "rizhao")).one()
        user.region_code = region
        session.add(user)
        session.commit()
    headers = await api.token("rizhao")
    for path in ("/api/gov/journeys", "/api/gov/disputes"):
        r = await api.http.get(path, headers=headers)
        assert r.status_code == 403, (path, r.text)
        assert "监管辖区" in r.json()["detail"]


async def test_a_token_without_an_expiry_is_refused(api: Api) -> None:
    # Signed with the API's own secret, for a real account, but it would never expire.
    forever = jwt.encode({"sub": "U-learner1"}, api.settings.jwt_secret, algorithm="HS256")
    r = await api.http.get("/api/learner/journeys", headers={"Authorization": f"Bearer {forever}"})
    assert r.status_code == 401
    expiring = create_token({"sub": "U-learner1"}, api.settings.jwt_secret, minutes=5)
    r = await api.http.get("/api/learner/journeys", headers={"Authorization": f"Bearer {expiring}"})
    assert r.status_code == 200


def test_demo_mode_is_asked_for_and_outside_it_the_demo_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XUEJIA_DEMO_MODE", raising=False)
    with pytest.raises(ValueError, match="XUEJIA_JWT_SECRET must be set"):
        Settings()  # a plain deployment: not demo mode, and the demo secret is refused
    assert Settings(demo_mode=True).demo_mode


async def test_the_demo_accounts_cannot_sign_in_outside_demo_mode(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = conftest.test_settings(tmp_path, demo_mode=False, **production_secrets())
    migrate(settings.database_url)
    with Session(engine_for(settings.database_url)) as session:
        load_demo_data(session)  # accounts seeded by an earlier demo run on the same database
    app = create_app(settings, temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            demo = {"username": "school1", "password": DEMO_PASSWORD}
            assert (await http.post("/api/auth/token", data=demo)).status_code == 401
            with Session(engine_for(settings.database_url)) as session:
                user = session.exec(select(User).where(User.username == "school1")).one()
                user.password_hash = hash_password("a-real-password-9")
                session.add(user)
                session.commit()
            real = {"username": "school1", "password": "a-real-password-9"}
            assert (await http.post("/api/auth/token", data=real)).status_code == 200
