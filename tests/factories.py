"""Builders for test inputs: a Rizhao C1 learner at the demo school, under a chosen policy."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.records import JourneyProjection
from core.config import ROOT, WEBHOOK_SUBSYSTEMS
from policy.loader import load_policy
from policy.model import Policy
from workflows.documents_data import FeeAnnex
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    Applicant,
    JourneyInput,
    JourneyState,
    JourneyView,
    SchoolSnapshot,
)

VALID_ID = "11010519491231002X"  # a GB 11643 example number with a valid check digit


def policy(name: str = "rizhao") -> Policy:
    return load_policy(ROOT / "policy" / f"{name}.yaml")


def journey_input(
    pol: Policy | None = None, learner_id: str = "U-learner1", school_id: str = "S371100001"
) -> JourneyInput:
    pol = pol or policy()
    return JourneyInput(
        learner_id=learner_id,
        applicant=Applicant("张三", "13800138000", VALID_ID, 35.42, 119.52),
        school=SchoolSnapshot(
            id=school_id,
            name="日照安达驾驶培训学校",
            filing_no="RZJP2021001",
            address="日照市东港区海曲中路88号",
            phone="0633-8210001",
            city_code=pol.city_code,
            escrow_account=f"ESC-{school_id}",
        ),
        coach_id=f"{school_id}-K1",
        coach_name="王建国",
        vehicle_class="C1",
        fees=demo_fees(school_id),
        policy=pol,
    )


def demo_fees(school_id: str) -> FeeAnnex:
    """The fee annex models/demo.py gives the school (its FeeSchedule prices the slots)."""
    b = DEMO_FEE_BUMP[school_id]
    return FeeAnnex(
        services_fen=30000 + b,
        theory_fen=40000 + b,
        simulator_rates_fen=[6000, 7000, 8000],
        field_rates_fen=[12000 + b, 14000 + b, 16000 + b],
        road_rates_fen=[13000 + b, 15000 + b, 17000 + b],
    )


DEMO_FEE_BUMP = {"S371100001": 0, "S371100002": 1000, "S371100003": 2000, "S350100001": 3000}

# services + theory + 16 field hours + 24 road hours at the normal rate
SERVICES = 30000  # due at enrolment under the per-hour model
C1_TUITION = SERVICES + 40000 + 16 * 12000 + 24 * 13000


async def until(
    handle: WorkflowHandle, ready: Callable[[JourneyView], bool], seconds: float = 15.0
) -> JourneyView:
    """Polls the journey's query until `ready` holds (real time; no time is skipped). A query
    that lands while a run continues as new may time out: it is asked again."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            view = await handle.query(LearnerJourney.view, rpc_timeout=timedelta(seconds=5))
        except RPCError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            continue
        if ready(view):
            return view
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"journey stuck at {view.state.stage}/{view.state.waiting_on}: "
                f"{view.state.steps[-3:]}"
            )
        await asyncio.sleep(0.05)


async def current_view(handle: WorkflowHandle) -> JourneyView:
    """The journey's view now, asked again if the query lands while a run continues as new."""
    return await until(handle, lambda v: True)


async def final_state(handle: WorkflowHandle) -> JourneyState:
    """The state a journey closed with, once it has (its result says only how it ended)."""
    await handle.result()
    return (await current_view(handle)).state


def data_path(name: str) -> Path:
    return ROOT / "tests" / "data" / name


def journey_projection(wf_id: str, learner_id: str, **changes: Any) -> JourneyProjection:
    """A journey's read-model write (at sign-up, at the demo school, unless `changes` say
    otherwise), for tests that need the row without running the journey's activities."""
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "school_id": "S371100001",
        "city_code": "371100",
        "vehicle_class": "C1",
        "coach_id": "S371100001-K1",
        "stage": "signup",
        "status": "active",
        "waiting_on": "platform",
        "stage_entered_at": now,
        "started_at": now,
        "learner_no": "",
        "version": 1,
    }
    return JourneyProjection(workflow_id=wf_id, learner_id=learner_id, **{**fields, **changes})


def production_secrets() -> dict[str, str]:
    """Settings' secrets as a deployment outside demo mode sets them: none a demo one, no two
    subsystems sharing a webhook secret."""
    secrets = {"jwt_secret": "j" * 40, "codec_keys": f"t1:{'k' * 43}="}
    return secrets | {f"{n}_webhook_secret": f"{n}-secret-0123456789" for n in WEBHOOK_SUBSYSTEMS}
