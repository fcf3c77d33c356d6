"""The ops console page: ops sign in to it (nobody else may), see a stuck journey with its
reason and Temporal UI link, and an action sent from it is answered and in the audit log."""

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.db import engine_for
from models.demo import DEMO_PASSWORD
from tests.api.conftest import test_settings as api_settings
from tests.api.test_ops_stuck import RIZHAO, journey
from tests.pages.test_access import csrf


@pytest.fixture
async def app(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(api_settings(tmp_path), temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def signed_in(app: FastAPI, username: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser signed in as `username`, and where the sign-in sent it."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pages") as b:
        form = {"csrf": await csrf(b, "/login"), "username": username, "password": DEMO_PASSWORD}
        r = await b.post("/login", data=form)
        assert r.status_code == 303, r.text
        yield b, r.headers["location"]


async def test_ops_see_stuck_journeys_and_act_from_their_console(app: FastAPI) -> None:
    late = journey("page-late", RIZHAO, "payment", timedelta(minutes=11))
    with Session(engine_for(app.state.settings.database_url)) as session:
        session.add(late)
        session.commit()
        wf_id = late.workflow_id
    async with signed_in(app, "ops") as (ops, home):
        assert home == "/ops"
        r = await ops.get("/ops")
        assert r.status_code == 200
        page = html.unescape(r.text)
        assert wf_id in page and "停留在「缴费」阶段超过 10 分钟（政策阈值）" in page
        assert f"/namespaces/default/workflows/{wf_id}" in page

        # Cancel a journey Temporal does not know: refused, said on the page and logged.
        token = await csrf(ops, "/ops")
        r = await ops.post(
            f"/ops/journeys/{wf_id}/cancel", data={"csrf": token, "reason": "测试取消"}
        )
        assert (r.status_code, r.headers["location"]) == (303, "/ops")
        page = html.unescape((await ops.get("/ops")).text)
        assert "取消并退款" in page and "被拒绝：报名记录不存在" in page and "测试取消" in page
        # Without a reason: the form says so, and nothing is logged.
        r = await ops.post(f"/ops/journeys/{wf_id}/cancel", data={"csrf": token})
        assert r.status_code == 303
        assert html.unescape((await ops.get("/ops")).text).count("测试取消") == 1

    for other in ("learner1", "school1", "rizhao", "admin"):
        async with signed_in(app, other) as (b, _):
            assert (await b.get("/ops")).status_code == 403, other
