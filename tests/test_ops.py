"""Ops on the whole platform (dev server, simulators over HTTP, a real worker): the stuck view
finds a journey waiting on a subsystem, ops retry its activity now, re-request a callback and
cancel with refund; every action, refusals too, is in the audit log."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.e2e import (
    ENROLMENT,
    Platform,
    bank_by_payer,
    enrol_to_payment,
    ledger_by_payer,
    pay,
    platform,
)

REGISTER = "national.register_learner"


async def stuck_row(p: Platform, ops: dict[str, str], wf_id: str) -> dict[str, Any] | None:
    r = await p.http.get("/api/ops/stuck", headers=ops)
    assert r.status_code == 200, r.text
    return next((row for row in r.json() if row["workflow_id"] == wf_id), None)


async def audit(p: Platform, ops: dict[str, str], wf_id: str) -> list[dict[str, Any]]:
    r = await p.http.get("/api/ops/audit", params={"journey_id": wf_id}, headers=ops)
    assert r.status_code == 200, r.text
    return r.json()


async def started_attempts(env: WorkflowEnvironment, wf_id: str, activity_type: str) -> list[int]:
    """The attempt each started `activity_type` was on, as the journey's history records it."""
    scheduled: set[int] = set()
    attempts: list[int] = []
    async for event in env.client.get_workflow_handle(wf_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            if event.activity_task_scheduled_event_attributes.activity_type.name == activity_type:
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in scheduled:
                attempts.append(started.attempt)
    return attempts


async def test_ops_find_a_journey_waiting_on_a_subsystem_and_retry_its_activity_now(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with platform(dev_env, tmp_path) as p, p.worker():
        national = p.sims.urls["national"]
        assert (await p.sim_http.put(f"{national}/_faults", json={"error_rate": 1})).is_success
        me, ops = await p.login("learner1"), await p.login("ops")
        r = await p.http.post("/api/learner/journeys", json=ENROLMENT, headers=me)
        assert r.status_code == 201, r.text
        wf_id = r.json()["workflow_id"]

        # The registration fails and is retried: the stuck view says so, in words.
        while True:
            row = await stuck_row(p, ops, wf_id)
            failing = row["failing_activities"] if row else []
            if failing and failing[0]["attempt"] >= 3:
                break
            await asyncio.sleep(0.2)
        (activity,) = failing
        assert activity["activity_type"] == REGISTER and activity["subsystem"] == "全国驾培平台"
        assert "503" in activity["last_failure"] and row is not None
        assert row["reasons"] == [
            f"等待全国驾培平台：活动 {REGISTER} 第 {activity['attempt']} 次尝试，"
            f"上次失败：{activity['last_failure']}"
        ]
        assert (
            row["temporal_ui_url"] == f"http://127.0.0.1:8233/namespaces/default/workflows/{wf_id}"
        )
        assert datetime.fromisoformat(row["since"]) <= datetime.now(UTC)
        assert row["stage"] == "signup" and row["stage_name"] == "报名"

        # Nobody but ops may act.
        body = {"reason": "全国平台已恢复，立即重试"}
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/retry-activity", json=body, headers=me)
        assert r.status_code == 403

        # The platform is back; ops retry now instead of at the next backoff.
        assert (await p.sim_http.put(f"{national}/_faults", json={"error_rate": 0})).is_success
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/retry-activity", json=body, headers=ops)
        assert r.status_code == 200, r.text
        done = r.json()
        assert (done["outcome"], done["action"], done["actor_id"]) == (
            "done",
            "retry_activity",
            "U-ops",
        )
        assert REGISTER in done["detail"] and done["reason"] == body["reason"]
        await p.until(wf_id, me, lambda s: s["stage"] == "health_check")
        # ResetActivity started it afresh: its successful run is attempt 1, not the next retry.
        assert await started_attempts(p.env, wf_id, REGISTER) == [1]
        assert await stuck_row(p, ops, wf_id) is None

        # Nothing failing any more: refused, and the refusal is in the log too.
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/retry-activity", json=body, headers=ops)
        assert r.status_code == 409 and r.json()["code"] == "nothing_to_retry"
        refused, first = await audit(p, ops, wf_id)
        assert first == done
        assert (refused["outcome"], refused["detail"]) == (
            "refused",
            "该报名没有正在失败重试的活动",
        )
        assert refused["journey_id"] == wf_id and refused["actor_id"] == "U-ops"


async def test_ops_re_request_a_callback_and_cancel_with_refund(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with platform(dev_env, tmp_path) as p, p.worker():
        ops = await p.login("ops")
        wf_id, me = await enrol_to_payment(p)
        order_id = await pay(p, wf_id, me)
        state = await p.until(wf_id, me, lambda s: s["stage"] == "theory")
        tuition = state["tuition_fen"]

        # The bank sends its payment callback again: taken as the one the journey has.
        why = {"reason": "学员称缴费未到账，请银行重发"}
        body = {**why, "subsystem": "bank", "ref": order_id}
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/resend-callback", json=body, headers=ops)
        assert r.status_code == 200, r.text
        resent = r.json()
        assert resent["target"] == f"bank:{order_id}" and "payment.succeeded" in resent["detail"]
        await p.sims.drain()
        callbacks = (await p.sim_http.get(f"{p.sims.urls['bank']}/_callbacks")).json()
        paid = [c for c in callbacks if c["payload"].get("order_id") == order_id]
        assert len(paid) == 2 and all(c["delivered"] for c in paid)
        state = (await p.journey(wf_id, me))["state"]
        assert state["money"]["deposited_fen"] == tuition  # not twice
        # An order of another journey, or none, is refused (and logged).
        body = {**why, "subsystem": "bank", "ref": "no-such-order"}
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/resend-callback", json=body, headers=ops)
        assert r.status_code == 404

        # Cancel with refund: the journey's own withdrawal; the escrow goes back to the learner.
        r = await p.http.post(
            f"/api/ops/journeys/{wf_id}/cancel", json={"reason": "学员电话申请退学"}, headers=ops
        )
        assert r.status_code == 200, r.text
        cancelled = r.json()
        held = state["money"]["deposited_fen"] - state["money"]["released_fen"]
        assert f"{held // 100}.{held % 100:02d} 元" in cancelled["detail"]
        state = await p.until(
            wf_id, me, lambda s: s["status"] == "withdrawn" and s["money"]["refunded_fen"] > 0
        )
        assert state["money"]["refunded_fen"] == held
        assert "平台运维 U-ops 代为取消：学员电话申请退学" in str(state["steps"])
        await p.sims.drain()
        assert ledger_by_payer(p) == await bank_by_payer(p)

        # Refusals: an unknown journey, a missing reason (named), and no ops role.
        unknown = "journey-U-nobody-S371100001-C1"
        r = await p.http.post(f"/api/ops/journeys/{unknown}/cancel", json=why, headers=ops)
        assert r.status_code == 404
        r = await p.http.post(f"/api/ops/journeys/{wf_id}/cancel", json={}, headers=ops)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
        r = await p.http.get("/api/ops/audit", headers=me)
        assert r.status_code == 403
        log = await audit(p, ops, wf_id)
        assert [(e["action"], e["outcome"]) for e in log] == [
            ("cancel_with_refund", "done"),
            ("resend_callback", "refused"),
            ("resend_callback", "done"),
        ]
        (nobody,) = await audit(p, ops, unknown)
        assert (nobody["action"], nobody["outcome"]) == ("cancel_with_refund", "refused")

        # The API's metrics, read over HTTP from the served app, count the actions by route.
        metrics = (await p.http.get("/metrics", headers=ops)).text
        route = 'route="/api/ops/journeys/{wf_id}/cancel"'
        counted = [line for line in metrics.splitlines() if route in line]
        assert any(line.startswith("xuejia_api_requests_total{") for line in counted)
        assert wf_id not in metrics
