"""Every simulator over real HTTP (uvicorn on free ports), as the runner serves them."""

import asyncio
from pathlib import Path

import httpx
import pytest

from subsystems.common import SimOptions
from subsystems.runner import DEFAULT_PORTS, parse_args, run_simulators, serve_apps
from tests.subsystems.helpers import SECRETS, Receiver, id_number


async def test_simulators_over_http(tmp_path: Path):
    receiver = Receiver()
    options = SimOptions(callback_retry_base_seconds=0.01)
    async with (
        serve_apps({"receiver": receiver.app}) as receiver_urls,
        run_simulators(tmp_path / "sims", SECRETS, options=options) as sims,
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


async def test_timing_and_exam_over_http(tmp_path: Path):
    receiver = Receiver()
    options = SimOptions(callback_retry_base_seconds=0.01)
    async with (
        serve_apps({"receiver": receiver.app}) as receiver_urls,
        run_simulators(
            tmp_path / "sims", SECRETS, options=options, exam_auto_pass_seconds=0.05
        ) as sims,
        httpx.AsyncClient(timeout=5) as http,
    ):
        hook = receiver_urls["receiver"] + "/hook"
        expected = {"national", "health", "bank", "timing", "exam", "complaints", "enforcement"}
        expected |= {"sms"}
        assert set(sims.urls) == expected
        timing, exam, national = (sims.urls[n] for n in ("timing", "exam", "national"))

        # File, train one lesson, and pass the record on to the national platform.
        filings = {
            "/learners": {"learner_no": "L1", "name": "赵六", "vehicle_class": "C1"},
            "/coaches": {"coach_id": "c-1", "name": "刘"},
            "/vehicles": {"vehicle_id": "v-1", "plate": "鲁L1234学"},
        }
        for path, body in filings.items():
            r = await http.post(
                f"{timing}{path}", json={"request_id": path, "school_id": "s-1", **body}
            )
            assert r.status_code == 201, r.text
        r = await http.post(
            f"{timing}/_simulate/sessions",
            json={
                "session_id": "s-1",
                "learner_no": "L1",
                "journey_ref": "j-1",
                "coach_id": "c-1",
                "vehicle_id": "v-1",
                "subject": "field",
                "mode": "practical",
                "start": "2030-03-04T09:00:00+08:00",
                "minutes": 50,
                "invalid_minutes": 5,
                "invalid_reason": "超出教学区域",
                "callback_url": hook,
            },
        )
        assert r.status_code == 201, r.text
        await sims.drain()
        (record,) = receiver.payloads("training.record")
        assert record["valid_minutes"] == 45 and record["status"] == "partly_valid"

        r = await http.post(
            f"{national}/learners",
            json={
                "request_id": "req-1",
                "school_id": "s-1",
                "name": "赵六",
                "id_number": id_number(9),
                "phone": "13700000000",
                "vehicle_class": "C1",
            },
        )
        learner_no = r.json()["learner_no"]
        r = await http.post(
            f"{national}/training-records",
            json={
                "request_id": "tr-1",
                "learner_no": learner_no,
                "record_no": record["record_no"],
                "subject": record["subject"],
                "valid_minutes": record["valid_minutes"],
            },
        )
        assert r.status_code == 201
        hours = (await http.get(f"{national}/learners/{learner_no}/hours")).json()
        assert hours["minutes"]["field"] == 45

        # The runner's auto-pass setting: the booking passes on its own.
        eligibility = {
            "request_id": "e-1",
            "learner_no": learner_no,
            "journey_ref": "j-1",
            "subject": 1,
            "vehicle_class": "C1",
            "school_id": "s-1",
            "stage_report_id": "sr-1",
        }
        assert (await http.post(f"{exam}/eligibility", json=eligibility)).status_code == 201
        r = await http.post(
            f"{exam}/bookings",
            json={
                "booking_id": "b-1",
                "learner_no": learner_no,
                "subject": 1,
                "exam_date": "2030-03-10",
                "venue": "考场",
                "callback_url": hook,
            },
        )
        assert r.status_code == 201
        await sims.drain()
        (result,) = receiver.payloads("exam.result")
        assert result["passed"] is True and result["permit_issued_at"] == "2030-03-10"
        assert result["journey_ref"] == "j-1"


def test_runner_flags():
    assert DEFAULT_PORTS == {
        "national": 8101,
        "health": 8102,
        "bank": 8103,
        "timing": 8104,
        "exam": 8105,
        "complaints": 8106,
        "enforcement": 8107,
        "sms": 8108,
    }
    args = parse_args(["--timing-port", "9104", "--exam-auto-pass-seconds", "2.5"])
    assert (args.timing_port, args.exam_port, args.exam_auto_pass_seconds) == (9104, 8105, 2.5)


async def test_a_subset_of_the_simulators(tmp_path: Path):
    """`--only` runs some simulators in a process, so a test can take one down alone (and
    `--callback-attempts` has their callbacks outlast a platform down for a while)."""
    args = parse_args(["--only", "bank", "--only", "health", "--callback-attempts", "8"])
    assert (args.only, args.callback_attempts) == (["bank", "health"], 8)
    assert parse_args([]).callback_attempts == 5
    async with run_simulators(tmp_path, SECRETS, only=args.only) as sims:
        assert sorted(sims.urls) == ["bank", "health"]
