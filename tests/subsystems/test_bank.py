"""Escrow bank: orders and channel payments, cancellation, releases, refunds, invoices."""

import asyncio
import sqlite3

import httpx
from fastapi import FastAPI

from subsystems import bank
from tests.subsystems.conftest import HOOK
from tests.subsystems.helpers import Receiver

ACCOUNT = "school-1"


def order(order_id: str = "o-1", amount: int = 10_000, payer: str = "learner-1") -> dict:
    return {
        "order_id": order_id,
        "account_id": ACCOUNT,
        "payer_ref": payer,
        "amount_fen": amount,
        "channel": "unionpay",
        "callback_url": HOOK,
        "description": "C1 培训费",
    }


def move(kind: str, key: str, amount: int, payer: str = "learner-1") -> dict:
    body = {f"{kind}_id": key, "account_id": ACCOUNT, "payer_ref": payer, "amount_fen": amount}
    return body | ({"reason": "退学"} if kind in ("refund", "clawback") else {})


async def deposit(client: httpx.AsyncClient, order_id: str, amount: int, payer: str) -> None:
    assert (await client.post("/orders", json=order(order_id, amount, payer))).status_code == 201
    assert (await client.post(f"/_simulate/orders/{order_id}/pay")).status_code == 200


async def balances(client: httpx.AsyncClient, payer: str | None = "learner-1") -> dict:
    params = {"payer_ref": payer} if payer else {}
    r = await client.get(f"/accounts/{ACCOUNT}/balances", params=params)
    return {k: r.json()[k] for k in ("deposited", "released", "refunded", "held")}


async def test_order_idempotency_and_validation(bank_client: httpx.AsyncClient):
    r = await bank_client.post("/orders", json=order())
    assert r.status_code == 201
    assert r.json() == {"order_id": "o-1", "status": "pending", "pay_url": "http://sim/pay/o-1"}
    again = await bank_client.post("/orders", json=order())
    assert (again.status_code, again.json()) == (200, r.json())
    assert (await bank_client.post("/orders", json=order(amount=1))).status_code == 409
    assert (await bank_client.post("/orders", json=order("o-2", amount=0))).status_code == 422
    bad_channel = order("o-3") | {"channel": "paypal"}
    assert (await bank_client.post("/orders", json=bad_channel)).status_code == 422
    assert (await bank_client.get("/orders/o-1")).json()["status"] == "pending"
    assert (await bank_client.get("/orders/nope")).status_code == 404


async def test_pay_credits_once_and_calls_back(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    await bank_client.post("/orders", json=order())
    assert "确认支付" in (await bank_client.get("/pay/o-1")).text
    assert (await bank_client.get("/pay/nope")).status_code == 404
    paid = (await bank_client.post("/_simulate/orders/o-1/pay")).json()
    assert paid["status"] == "paid" and paid["bank_txn_id"].startswith("BT")
    again = await bank_client.post("/_simulate/orders/o-1/pay")
    assert again.status_code == 200 and again.json()["bank_txn_id"] == paid["bank_txn_id"]
    assert "支付成功" in (await bank_client.get("/pay/o-1")).text
    await bank_app.state.callbacks.drain()

    (payload,) = receiver.payloads()
    assert payload == {
        "event": "payment.succeeded",
        "order_id": "o-1",
        "payer_ref": "learner-1",
        "account_id": ACCOUNT,
        "amount_fen": 10_000,
        "channel": "unionpay",
        "bank_txn_id": paid["bank_txn_id"],
        "paid_at": paid["paid_at"],
    }
    assert await balances(bank_client) == {
        "deposited": 10_000,
        "released": 0,
        "refunded": 0,
        "held": 10_000,
    }


async def test_cancel_pending_then_cancel_after_pay(bank_client: httpx.AsyncClient):
    await bank_client.post("/orders", json=order("o-1"))
    for _ in range(2):
        r = await bank_client.post("/orders/o-1/cancel")
        assert (r.status_code, r.json()) == (200, {"order_id": "o-1", "status": "cancelled"})
    refused = await bank_client.post("/_simulate/orders/o-1/pay")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "order_cancelled"
    assert "订单已取消" in (await bank_client.get("/pay/o-1")).text

    await deposit(bank_client, "o-2", 8_000, "learner-1")
    paid = (await bank_client.get("/orders/o-2")).json()
    r = await bank_client.post("/orders/o-2/cancel")
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail["code"] == "already_paid"
    assert (detail["bank_txn_id"], detail["amount_fen"], detail["paid_at"]) == (
        paid["bank_txn_id"],
        8_000,
        paid["paid_at"],
    )
    assert (await bank_client.post("/orders/nope/cancel")).status_code == 404


async def test_a_channel_that_settles_otherwise_is_booked_and_reported_as_paid(
    bank_app: FastAPI, bank_client: httpx.AsyncClient, receiver: Receiver
):
    """A tampered client pays 1 fen through another channel: the bank books and reports what
    was actually paid, in the callback and when the order is then cancelled, never the order's
    own amount; the platform decides what to do with it."""
    await bank_client.post("/orders", json=order())
    paid = {"amount_fen": 1, "channel": "wechat"}
    assert (await bank_client.post("/_simulate/orders/o-1/pay", params=paid)).status_code == 200
    await bank_app.state.callbacks.drain()
    (payload,) = receiver.payloads()
    assert (payload["amount_fen"], payload["channel"], payload["account_id"]) == (
        1,
        "wechat",
        ACCOUNT,
    )
    detail = (await bank_client.post("/orders/o-1/cancel")).json()["detail"]
    assert (detail["amount_fen"], detail["channel"], detail["account_id"]) == (1, "wechat", ACCOUNT)
    assert (await balances(bank_client))["held"] == 1


async def test_releases_refunds_and_balance_arithmetic(bank_client: httpx.AsyncClient):
    await deposit(bank_client, "o-1", 10_000, "learner-1")
    await deposit(bank_client, "o-2", 4_000, "learner-2")

    r = await bank_client.post("/releases", json=move("release", "rel-1", 3_000))
    assert r.status_code == 201
    rel = r.json()
    assert rel["release_id"] == "rel-1" and rel["status"] == "succeeded"
    again = await bank_client.post("/releases", json=move("release", "rel-1", 3_000))
    assert (again.status_code, again.json()) == (200, rel)
    changed = await bank_client.post("/releases", json=move("release", "rel-1", 3_001))
    assert changed.status_code == 409

    r = await bank_client.post("/refunds", json=move("refund", "ref-1", 2_000))
    assert r.status_code == 201 and r.json()["refund_id"] == "ref-1"
    assert (await bank_client.get("/refunds/ref-1")).json()["reason"] == "退学"
    assert (await bank_client.get("/releases/rel-1")).json()["bank_txn_id"] == rel["bank_txn_id"]

    over = await bank_client.post("/releases", json=move("release", "rel-2", 5_001))
    assert over.status_code == 422
    assert over.json()["detail"] | {"reason": None} == {
        "code": "insufficient_held",
        "reason": None,
        "held_fen": 5_000,
        "requested_fen": 5_001,
    }
    over = await bank_client.post("/refunds", json=move("refund", "ref-2", 1, payer="nobody"))
    assert over.status_code == 422

    assert await balances(bank_client) == {
        "deposited": 10_000,
        "released": 3_000,
        "refunded": 2_000,
        "held": 5_000,
    }
    assert await balances(bank_client, None) == {
        "deposited": 14_000,
        "released": 3_000,
        "refunded": 2_000,
        "held": 9_000,
    }
    assert await balances(bank_client, "nobody") == {
        "deposited": 0,
        "released": 0,
        "refunded": 0,
        "held": 0,
    }
    rows = (await bank_client.get("/reconciliation")).json()
    assert [(r["payer_ref"], r["held"]) for r in rows] == [
        ("learner-1", 5_000),
        ("learner-2", 4_000),
    ]
    for row in rows:
        assert row["held"] == row["deposited"] - row["released"] - row["refunded"]


async def test_clawback_moves_released_money_back_to_the_learner(
    bank_client: httpx.AsyncClient,
):
    await deposit(bank_client, "o-1", 10_000, "learner-1")
    assert (await bank_client.post("/releases", json=move("release", "rel-1", 3_000))).is_success
    r = await bank_client.post("/clawbacks", json=move("clawback", "cb-1", 2_000))
    assert r.status_code == 201 and r.json()["clawback_id"] == "cb-1"
    again = await bank_client.post("/clawbacks", json=move("clawback", "cb-1", 2_000))
    assert (again.status_code, again.json()) == (200, r.json())
    assert (await bank_client.get("/clawbacks/cb-1")).json()["amount_fen"] == 2_000
    assert await balances(bank_client) == {
        "deposited": 10_000,
        "released": 1_000,
        "refunded": 2_000,
        "held": 7_000,
    }
    over = await bank_client.post("/clawbacks", json=move("clawback", "cb-2", 1_001))
    assert over.status_code == 422
    assert over.json()["detail"]["code"] == "insufficient_released"


async def test_invoices(bank_client: httpx.AsyncClient):
    await bank_client.post("/orders", json=order("o-1", 10_000))
    invoice = {
        "invoice_id": "inv-1",
        "order_id": "o-1",
        "buyer_name": "王五",
        "items": [{"name": "培训费", "amount_fen": 9_000}, {"name": "教材费", "amount_fen": 1_000}],
    }
    unpaid = await bank_client.post("/invoices", json=invoice)
    assert unpaid.status_code == 409 and unpaid.json()["detail"]["code"] == "order_not_paid"
    await bank_client.post("/_simulate/orders/o-1/pay")

    short = invoice | {"items": [{"name": "培训费", "amount_fen": 9_000}]}
    r = await bank_client.post("/invoices", json=short)
    assert r.status_code == 422 and r.json()["detail"]["expected_fen"] == 10_000

    r = await bank_client.post("/invoices", json=invoice)
    assert r.status_code == 201
    issued = r.json()
    assert issued["total_fen"] == 10_000
    assert len(issued["invoice_no"]) == 20 and issued["invoice_no"].isdigit()
    assert issued["invoice_code"] and issued["check_code"] and issued["issued_at"]
    again = await bank_client.post("/invoices", json=invoice)
    assert (again.status_code, again.json()) == (200, issued)
    second = await bank_client.post("/invoices", json=invoice | {"invoice_id": "inv-2"})
    assert second.status_code == 409 and second.json()["detail"]["code"] == "already_invoiced"
    stored = (await bank_client.get("/invoices/inv-1")).json()
    assert stored["items"] == invoice["items"]


async def test_a_database_from_before_paid_amounts_reports_what_was_ordered(tmp_path):
    path = tmp_path / "bank.db"
    old = sqlite3.connect(path)
    before = bank.SCHEMA.replace(",\n    paid_amount_fen INTEGER,\n    paid_channel TEXT", "")
    assert "paid_amount_fen" not in before
    old.executescript(before)
    old.execute("INSERT INTO accounts VALUES (?, '2026-11-01T00:00:00+00:00')", (ACCOUNT,))
    old.execute(
        "INSERT INTO orders (order_id, account_id, payer_ref, amount_fen, channel, callback_url,"
        " description, status, created_at, bank_txn_id, paid_at) VALUES ('o-1', ?, 'learner-1',"
        " 10000, 'alipay', ?, 'C1', 'paid', '2026-11-01', 'BT1', '2026-11-01T08:00:00+00:00')",
        (ACCOUNT, HOOK),
    )
    old.commit()
    old.close()
    app = bank.create_app(str(path), "secret")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        detail = (await client.post("/orders/o-1/cancel")).json()["detail"]
    assert (detail["amount_fen"], detail["channel"]) == (10000, "alipay")


async def test_a_held_answer_after_the_movement_is_executed(bank_client: httpx.AsyncClient):
    """The fault tests' control: the next movement happens, its answer waits for a release;
    a repeat of it meanwhile is answered at once from the idempotency record."""
    await deposit(bank_client, "o-1", 10_000, "learner-1")
    assert (await bank_client.put("/_hold")).json() == {"armed": True, "executed": []}
    first = asyncio.create_task(bank_client.post("/releases", json=move("release", "r-1", 4000)))
    while not (await bank_client.get("/_hold")).json()["executed"]:
        await asyncio.sleep(0.01)
    assert (await balances(bank_client))["released"] == 4000 and not first.done()
    repeat = await bank_client.post("/releases", json=move("release", "r-1", 4000))
    assert repeat.status_code == 200
    held = await bank_client.post("/_hold/release")
    assert held.json() == {"armed": False, "executed": ["r-1"]}
    answer = await first
    assert answer.status_code == 201 and answer.json() == repeat.json()
    (movement,) = (await bank_client.get("/_movements")).json()
    assert (movement["movement_id"], movement["bank_txn_id"]) == (
        "r-1",
        answer.json()["bank_txn_id"],
    )
