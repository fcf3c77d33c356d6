"""End to end through the HTTP API against the dev server, the simulators and a real worker."""

import asyncio
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.e2e import Platform, bank_by_payer, enrol_to_payment, ledger_by_payer, pay, platform


async def test_happy_path_through_the_api(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with platform(dev_env, tmp_path) as p, p.worker():
        wf_id, me = await enrol_to_payment(p)
        r = await p.http.get(f"/api/learner/journeys/{wf_id}/contract.pdf", headers=me)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        await pay(p, wf_id, me)
        state = await p.until(wf_id, me, lambda s: s["stage"] == "theory")
        assert state["learner_no"] and state["money"]["deposited_fen"] == state["tuition_fen"]
        r = await p.http.get(f"/api/learner/journeys/{wf_id}/invoice.pdf", headers=me)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert ledger_by_payer(p) == await bank_by_payer(p)

        # Regulators see it by stage through visibility; only inside their region.
        for regulator, expected in (("rizhao", [wf_id]), ("shandong", [wf_id]), ("fuzhou", [])):
            r = await p.http.get(
                "/api/gov/journeys", params={"stage": "theory"}, headers=await p.login(regulator)
            )
            found = [j["workflow_id"] for j in r.json() if j["workflow_id"] == wf_id]
            assert found == expected, regulator
        # The school sees its learner in the read model; another school does not.
        r = await p.http.get("/api/school/journeys", headers=await p.login("school1"))
        assert [j["stage"] for j in r.json() if j["workflow_id"] == wf_id] == ["theory"]
        r = await p.http.get(f"/api/school/journeys/{wf_id}", headers=await p.login("school2"))
        assert r.status_code == 404


async def test_forged_webhook_is_refused(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with platform(dev_env, tmp_path) as p:
        body = b'{"event":"payment.succeeded","order_id":"x","payer_ref":"y","amount_fen":1}'
        r = await p.http.post(
            "/api/webhooks/bank",
            content=body,
            headers={"X-Xuejia-Signature": "0" * 64, "X-Xuejia-Timestamp": "1700000000"},
        )
        assert r.status_code == 401


async def test_ledger_matches_the_bank_through_faults_and_worker_restarts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with platform(dev_env, tmp_path) as p:
        bank = p.sims.urls["bank"]
        async with p.worker():
            journeys = [await enrol_to_payment(p, learner) for learner in ("learner1", "learner2")]
            # The bank now fails a third of its calls and sends every callback three times.
            r = await p.sim_http.put(
                f"{bank}/_faults", json={"error_rate": 0.33, "seed": 7, "duplicate_callbacks": 2}
            )
            assert r.status_code == 200
            for wf_id, me in journeys:
                await _pay_through_errors(p, wf_id, me)
        # The worker goes away while callbacks arrive and money moves; a new one takes over.
        async with p.worker():
            for wf_id, me in journeys:
                await p.until(wf_id, me, lambda s: s["stage"] == "theory", seconds=60)
            wf_id, me = journeys[0]
            r = await p.http.post(
                f"/api/learner/journeys/{wf_id}/withdraw", json={"reason": "搬家"}, headers=me
            )
            assert r.status_code == 200, r.text
            await p.until(wf_id, me, lambda s: s["stage"] == "closed", seconds=60)
        await p.sims.drain()
        ledger, bank_rows = ledger_by_payer(p), await bank_by_payer(p)
        assert ledger == bank_rows
        (first, _), (second, _) = journeys
        tuition, services = ledger[second][0], 30000  # services are due at enrolment
        assert ledger[first] == [tuition, services, tuition - services]  # withdrawn
        assert ledger[second] == [tuition, services, 0]  # the rest still held in escrow


async def _pay_through_errors(p: Platform, wf_id: str, me: dict[str, str]) -> None:
    """A person retries "pay" when the bank is briefly down; the retry is the same request."""
    for _ in range(10):
        r = await p.http.post(
            f"/api/learner/journeys/{wf_id}/payment",
            json={"channel": "wechat"},
            headers={**me, "Idempotency-Key": f"pay-{wf_id}"},
        )
        if r.status_code == 200:
            break
        assert r.status_code in (409, 503), r.text
    order_id = r.json()["order_id"]
    async with httpx.AsyncClient() as sim:
        r = await sim.post(f"{p.sims.urls['bank']}/_simulate/orders/{order_id}/pay")
        assert r.status_code == 200, r.text


async def test_payment_for_a_closed_journey_is_refunded(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The bank takes money for a journey that has ended (an order opened before the fixes,
    or a channel that paid late): it is booked and refunded without the journey."""
    async with platform(dev_env, tmp_path) as p, p.worker():
        wf_id, me = await enrol_to_payment(p)
        await pay(p, wf_id, me)
        await p.until(wf_id, me, lambda s: s["stage"] == "theory")
        r = await p.http.post(
            f"/api/learner/journeys/{wf_id}/withdraw", json={"reason": "搬家"}, headers=me
        )
        assert r.status_code == 200, r.text
        await p.until(wf_id, me, lambda s: s["stage"] == "closed")
        bank = p.sims.urls["bank"]
        late = {
            "order_id": f"late-{wf_id[-12:]}",
            "account_id": "ESC-S371100001",
            "payer_ref": wf_id,
            "amount_fen": 5000,
            "channel": "wechat",
            "callback_url": f"{p.settings.api_base_url}/api/webhooks/bank",
            "description": "培训费充值",
        }
        assert (await p.sim_http.post(f"{bank}/orders", json=late)).status_code == 201
        paid = await p.sim_http.post(f"{bank}/_simulate/orders/{late['order_id']}/pay")
        assert paid.status_code == 200, paid.text
        await p.sims.drain()
        tuition = ledger_by_payer(p)[wf_id][0]
        for _ in range(300):  # the refund runs on the worker: wait for it to be booked
            if ledger_by_payer(p)[wf_id] == [tuition + 5000, 30000, tuition + 5000 - 30000]:
                break
            await asyncio.sleep(0.1)
        assert ledger_by_payer(p)[wf_id] == [tuition + 5000, 30000, tuition + 5000 - 30000]
        assert ledger_by_payer(p) == await bank_by_payer(p)
        # The bank calls back again: nothing moves twice.
        await p.sim_http.post(f"{bank}/_simulate/orders/{late['order_id']}/pay")
        await p.sims.drain()
        assert ledger_by_payer(p) == await bank_by_payer(p)
