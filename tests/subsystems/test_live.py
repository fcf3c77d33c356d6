"""All three simulators over real HTTP (uvicorn on free ports), as the runner serves them."""

import asyncio
from pathlib import Path

import httpx
import pytest

from subsystems.common import SimOptions
from subsystems.runner import run_simulators, serve_apps
from tests.subsystems.helpers import SECRET, Receiver, id_number


async def test_simulators_over_http(tmp_path: Path):
    receiver = Receiver()
    options = SimOptions(callback_retry_base_seconds=0.01)
    async with (
        serve_apps({"receiver": receiver.app}) as receiver_urls,
        run_simulators(tmp_path / "sims", SECRET, options=options) as sims,
        httpx.AsyncClient(timeout=5) as http,
    ):
        hook = receiver_urls["receiver"] + "/hook"
        national, health, bank = (sims.urls[n] for n in ("national", "health", "bank"))
        for url in (national, health, bank):
            assert (await http.get(f"{url}/_health")).json()["status"] == "ok"

        r = await http.post(
            f"{national}/learners",
            json={
                "request_id": "req-1",
                "school_id": "s-1",
                "name": "赵六",
                "id_number": id_number(9),
                "phone": "13700000000",
                "vehicle_class": "C2",
            },
        )
        assert r.status_code == 201

        # Deposit through a channel; the callback crosses real HTTP and its HMAC verifies.
        r = await http.post(
            f"{bank}/orders",
            json={
                "order_id": "o-1",
                "account_id": "s-1",
                "payer_ref": "j-1",
                "amount_fen": 50_000,
                "channel": "alipay",
                "callback_url": hook,
                "description": "培训费",
            },
        )
        assert r.json()["pay_url"] == f"{bank}/pay/o-1"
        assert (await http.post(f"{bank}/_simulate/orders/o-1/pay")).status_code == 200
        await sims.drain()
        (payload,) = receiver.payloads("payment.succeeded")
        assert payload["amount_fen"] == 50_000 and payload["order_id"] == "o-1"

        # Ten identical instructions at once move the money once.
        release = {
            "release_id": "rel-1",
            "account_id": "s-1",
            "payer_ref": "j-1",
            "amount_fen": 12_000,
        }
        refund = {
            "refund_id": "ref-1",
            "account_id": "s-1",
            "payer_ref": "j-1",
            "amount_fen": 8_000,
            "reason": "退学",
        }
        for path, body in (("/releases", release), ("/refunds", refund)):
            replies = await asyncio.gather(
                *(http.post(f"{bank}{path}", json=body) for _ in range(10))
            )
            assert sorted(r.status_code for r in replies) == [200] * 9 + [201]
            assert len({r.json()["bank_txn_id"] for r in replies}) == 1
        r = await http.get(f"{bank}/accounts/s-1/balances", params={"payer_ref": "j-1"})
        assert r.json() | {"account_id": None, "payer_ref": None} == {
            "account_id": None,
            "payer_ref": None,
            "deposited": 50_000,
            "released": 12_000,
            "refunded": 8_000,
            "held": 30_000,
        }

        # A simulated time-out: the client gives up, the simulator still does the work.
        await http.put(f"{bank}/_faults", json={"timeout_rate": 1, "timeout_seconds": 0.5})
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                f"{bank}/releases",
                timeout=0.1,
                json=release | {"release_id": "rel-2", "amount_fen": 1_000},
            )
        await http.put(f"{bank}/_faults", json={"timeout_rate": 0})
        await asyncio.sleep(0.6)
        assert (await http.get(f"{bank}/releases/rel-2")).status_code == 200

        # Health centre result callback over HTTP.
        await http.post(
            f"{health}/bookings",
            json={
                "booking_id": "b-1",
                "centre_id": "c-1",
                "learner_ref": "j-1",
                "name": "赵六",
                "id_number": id_number(9),
                "slot": "2030-01-02T08:00:00+08:00",
                "fee_fen": 5_000,
                "callback_url": hook,
            },
        )
        await http.post(
            f"{health}/bookings/b-1/pay", json={"payment_id": "p-1", "amount_fen": 5_000}
        )
        r = await http.post(f"{health}/_simulate/bookings/b-1/result", json={"passed": True})
        assert r.status_code == 200
        await sims.drain()
        (result,) = receiver.payloads("health.result")
        assert result["booking_id"] == "b-1" and result["passed"] is True
