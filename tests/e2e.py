"""The whole platform in one test process: dev server, simulators over HTTP, API on uvicorn,
and a real worker; plus a learner and a school clerk driving it through the HTTP API."""

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from core.config import DEMO_WEBHOOK_SECRETS, ROOT, Settings
from core.db import engine_for
from models.demo import DEMO_PASSWORD
from models.ledger import LedgerEntry
from scripts.demo_journey import DemoUrls, applicant
from subsystems.runner import Simulators, run_simulators, serve_apps
from tests.factories import VALID_ID
from worker import build_worker

ENROLMENT = {
    "school_id": "S371100001",
    "coach_id": "S371100001-K1",
    "vehicle_class": "C1",
    "name": "张三",
    "phone": "13800138000",
    "id_number": VALID_ID,
    "lat": 35.42,
    "lon": 119.52,
}


@dataclass
class Platform:
    env: WorkflowEnvironment
    settings: Settings
    sims: Simulators
    http: httpx.AsyncClient
    sim_http: httpx.AsyncClient

    async def login(self, username: str) -> dict[str, str]:
        r = await self.http.post(
            "/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def worker(self) -> Worker:
        return build_worker(self.env.client, self.settings)

    async def journey(self, wf_id: str, headers: dict[str, str]) -> dict[str, Any]:
        r = await self.http.get(f"/api/learner/journeys/{wf_id}", headers=headers)
        r.raise_for_status()
        return r.json()

    async def until(
        self,
        wf_id: str,
        headers: dict[str, str],
        ready: Callable[[dict[str, Any]], bool],
        seconds: float = 30,
    ) -> dict:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            view = await self.journey(wf_id, headers)
            if ready(view["state"]):
                return view["state"]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"stuck: {view['state']['stage']} {view['state']['steps'][-3:]}"
                )
            await asyncio.sleep(0.1)


DEMO_POLICIES = [ROOT / "policy" / "demo.yaml", ROOT / "policy" / "fuzhou.yaml"]


@asynccontextmanager
async def platform(
    env: WorkflowEnvironment,
    tmp_path: Path,
    *,
    policy_paths: list[Path] | None = None,
    demo_slots: bool = True,
    health_auto_result_seconds: float | None = None,
    exam_auto_pass_seconds: float | None = None,
    api_port: int = 0,
    temporal_ui_url: str = Settings.model_fields["temporal_ui_url"].default,
) -> AsyncIterator[Platform]:
    """The platform as `make run` starts it: the demo policy (Rizhao's rules in seconds), demo
    data and a week of demo slots; the simulators' automatic results are off unless asked.
    The API on `api_port` (0: any free one), its codec open to the UI at `temporal_ui_url`."""
    async with run_simulators(
        tmp_path / "sims",
        DEMO_WEBHOOK_SECRETS,
        health_auto_result_seconds=health_auto_result_seconds,
        exam_auto_pass_seconds=exam_auto_pass_seconds,
    ) as sims:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
            data_dir=tmp_path / "var",
            task_queue=f"e2e-{uuid.uuid4().hex}",
            national_url=sims.urls["national"],
            health_url=sims.urls["health"],
            timing_url=sims.urls["timing"],
            exam_url=sims.urls["exam"],
            sms_url=sims.urls["sms"],
            bank_url=sims.urls["bank"],
            subsystem_timeout_seconds=2.0,
            demo_mode=True,
            demo_slots=demo_slots,
            policy_paths=policy_paths or DEMO_POLICIES,
            temporal_ui_url=temporal_ui_url,
        )
        app = create_app(settings, temporal=env.client)
        async with serve_apps({"api": app}, ports={"api": api_port}) as urls:
            settings.api_base_url = urls["api"]
            async with (
                httpx.AsyncClient(base_url=urls["api"], timeout=30) as http,
                httpx.AsyncClient(timeout=30) as sim_http,
            ):
                try:
                    yield Platform(env, settings, sims, http, sim_http)
                finally:
                    await terminate_running(env, settings.task_queue)


async def terminate_running(env: WorkflowEnvironment, task_queue: str) -> None:
    """Journey ids are per learner, so a journey left running would be found by the next test."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for wf in env.client.list_workflows(query):
        await env.client.get_workflow_handle(wf.id, run_id=wf.run_id).terminate("test done")


def demo_urls(p: Platform) -> DemoUrls:
    """Where the demo script finds this platform's API and simulators."""
    return DemoUrls(
        api=p.settings.api_base_url,
        timing=p.sims.urls["timing"],
        exam=p.sims.urls["exam"],
        bank=p.sims.urls["bank"],
        health=p.sims.urls["health"],
    )


def signature_png() -> bytes:
    img = Image.new("RGBA", (400, 150), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.line([(20, 100), (120, 40), (200, 110), (380, 30)], fill=(0, 0, 0, 255), width=6)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


async def enrol_to_payment(p: Platform, learner: str = "learner1") -> tuple[str, dict]:
    """Sign-up, health check, 面签 and contract through the API; returns at the payment stage."""
    me = await p.login(learner)
    enrolment = {**ENROLMENT, **applicant(learner)}  # each login its own person
    r = await p.http.post("/api/learner/journeys", json=enrolment, headers=me)
    assert r.status_code == 201, r.text
    wf_id = r.json()["workflow_id"]
    await p.until(wf_id, me, lambda s: s["stage"] == "health_check")
    centres = (
        await p.http.get(
            f"/api/learner/journeys/{wf_id}/health-centres",
            params={"lat": 35.42, "lon": 119.52},
            headers=me,
        )
    ).json()
    r = await p.http.post(
        f"/api/learner/journeys/{wf_id}/health-check",
        json={"centre_id": centres[0]["id"], "slot": "2026-12-01T08:30"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    booking = r.json()["booking_id"]
    r = await p.sim_http.post(
        f"{p.sims.urls['health']}/_simulate/bookings/{booking}/result",
        json={"passed": True, "items": {"视力": "5.0"}},
    )
    assert r.status_code == 200, r.text
    await p.until(wf_id, me, lambda s: s["stage"] == "signing")
    r = await p.http.post(
        f"/api/school/journeys/{wf_id}/signing/approve", headers=await p.login("school1")
    )
    assert r.status_code == 200, r.text
    await p.until(wf_id, me, lambda s: s["contract"]["preview_sha256"] != "")
    r = await p.http.post(
        f"/api/learner/journeys/{wf_id}/contract/signature",
        headers=me,
        files={"signature": ("sig.png", signature_png(), "image/png")},
    )
    assert r.status_code == 200, r.text
    await p.until(wf_id, me, lambda s: s["stage"] == "payment")
    return wf_id, me


async def pay(p: Platform, wf_id: str, me: dict[str, str], channel: str = "alipay") -> str:
    r = await p.http.post(
        f"/api/learner/journeys/{wf_id}/payment", json={"channel": channel}, headers=me
    )
    assert r.status_code == 200, r.text
    order_id = r.json()["order_id"]
    r = await p.sim_http.post(f"{p.sims.urls['bank']}/_simulate/orders/{order_id}/pay")
    assert r.status_code == 200, r.text
    return order_id


def ledger_by_payer(p: Platform) -> dict[str, list[int]]:
    """payer -> [deposited, released, refunded] from the platform's own ledger."""
    return ledger_totals(p.settings.database_url)


def ledger_totals(database_url: str) -> dict[str, list[int]]:
    """payer -> [deposited, released, refunded] from the ledger in this database."""
    totals: dict[str, list[int]] = {}
    with Session(engine_for(database_url)) as session:
        for e in session.exec(select(LedgerEntry)):
            row = totals.setdefault(e.journey_id, [0, 0, 0])
            moves = {"deposit": (1, 0, 0), "release": (0, 1, 0), "refund": (0, 0, 1)}
            moves["clawback"] = (0, -1, 1)  # paid to the school, handed back to the learner
            for i, sign in enumerate(moves[e.kind.value]):
                row[i] += sign * e.amount_fen
    return totals


async def bank_by_payer(p: Platform) -> dict[str, list[int]]:
    """payer -> [deposited, released, refunded] as the bank's reconciliation has it."""
    return await bank_totals(p.sim_http, p.sims.urls["bank"])


async def bank_totals(http: httpx.AsyncClient, bank_url: str) -> dict[str, list[int]]:
    """payer -> [deposited, released, refunded] from this bank's reconciliation."""
    r = await http.get(f"{bank_url}/reconciliation")
    r.raise_for_status()
    return {
        row["payer_ref"]: [row["deposited"], row["released"], row["refunded"]] for row in r.json()
    }
