"""Simulator of the escrow bank, its payment channels and e-invoices.

(银行监管账户；云闪付 / 支付宝 / 微信支付；电子发票)

Each school has an escrow account (created on first use). Money is tracked per
(account_id, payer_ref) sub-ledger: `deposited` comes in through paid orders and leaves held
funds either as `released` (to the school, per confirmed hour) or `refunded` (back to the
learner); `held = deposited - released - refunded` never goes negative.

Every money movement happens in one transaction with its idempotency record, and releases and
refunds also have their own primary key, so a repeated or concurrent instruction with the same
id moves money at most once.
"""

import asyncio
import hashlib
import hmac
import html
import json
import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, StringConstraints

from core.money import yuan
from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Simulator,
    Store,
    business_router,
    create_simulator_app,
    idempotent,
    next_seq,
    not_found,
    reject,
    self_url,
    utc_now_iso,
)

MOVEMENTS_TABLE = """
CREATE TABLE IF NOT EXISTS movements (
    kind TEXT NOT NULL CHECK (kind IN ('release', 'refund', 'clawback')),
    movement_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    payer_ref TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    reason TEXT,
    bank_txn_id TEXT NOT NULL UNIQUE,
    executed_at TEXT NOT NULL,
    PRIMARY KEY (kind, movement_id)
);
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    payer_ref TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    channel TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled')),
    created_at TEXT NOT NULL,
    bank_txn_id TEXT UNIQUE,
    paid_at TEXT,
    cancelled_at TEXT,
    paid_amount_fen INTEGER,
    paid_channel TEXT
);
CREATE TABLE IF NOT EXISTS ledger (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    payer_ref TEXT NOT NULL,
    deposited INTEGER NOT NULL DEFAULT 0,
    released INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, payer_ref),
    CHECK (released >= 0 AND refunded >= 0 AND deposited - released - refunded >= 0)
);
"""
    + MOVEMENTS_TABLE
    + """
CREATE TABLE IF NOT EXISTS invoices (
    invoice_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
    invoice_no TEXT NOT NULL UNIQUE,
    invoice_code TEXT NOT NULL,
    buyer_name TEXT NOT NULL,
    items TEXT NOT NULL,
    total_fen INTEGER NOT NULL,
    check_code TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
"""
)

Channel = Literal["unionpay", "alipay", "wechat"]
CHANNEL_NAMES: dict[str, str] = {"unionpay": "云闪付", "alipay": "支付宝", "wechat": "微信支付"}
# Region code in invoice numbers: the reference deployment is in Shandong (37).
INVOICE_REGION = "37"

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrderRequest(BaseModel):
    order_id: Id
    account_id: Id
    payer_ref: Id
    amount_fen: int = Field(gt=0)
    channel: Channel
    callback_url: Annotated[str, StringConstraints(min_length=1)]
    description: Text


class MovementRequest(BaseModel):
    account_id: Id
    payer_ref: Id
    amount_fen: int = Field(gt=0)


class ReleaseRequest(MovementRequest):
    release_id: Id


class RefundRequest(MovementRequest):
    refund_id: Id
    reason: Text


class ClawbackRequest(MovementRequest):
    """Money already released to the school, paid back to the learner it came from (e.g. a
    compensation the contract deducts from the school's settlement)."""

    clawback_id: Id
    reason: Text


class InvoiceItem(BaseModel):
    name: Text
    amount_fen: int = Field(gt=0)


class InvoiceRequest(BaseModel):
    invoice_id: Id
    order_id: Id
    buyer_name: Text
    items: list[InvoiceItem] = Field(min_length=1)


router = business_router(tags=["bank"])
simulate = APIRouter(tags=["simulate (people, no faults)"])


def new_txn_id(conn: sqlite3.Connection) -> str:
    # "BT" + date + 10-digit serial: unique, sortable, readable in a statement.
    return f"BT{datetime.now(UTC):%Y%m%d}{next_seq(conn, 'bank_txn'):010d}"


def _load_order(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise not_found("支付订单")
    return row


def _held(conn: sqlite3.Connection, account_id: str, payer_ref: str) -> int:
    row = conn.execute(
        "SELECT deposited - released - refunded FROM ledger WHERE account_id = ? AND payer_ref = ?",
        (account_id, payer_ref),
    ).fetchone()
    return 0 if row is None else int(row[0])


def _released(conn: sqlite3.Connection, account_id: str, payer_ref: str) -> int:
    row = conn.execute(
        "SELECT released FROM ledger WHERE account_id = ? AND payer_ref = ?",
        (account_id, payer_ref),
    ).fetchone()
    return 0 if row is None else int(row[0])


def _ensure_account(conn: sqlite3.Connection, account_id: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO accounts (account_id, created_at) VALUES (?, ?)",
        (account_id, utc_now_iso()),
    )


def balances_view(account_id: str, payer_ref: str | None, row: sqlite3.Row | None) -> JSON:
    """`row` holds (deposited, released, refunded) first; None (or SUMs of nothing) is zero."""
    deposited, released, refunded = (
        (0, 0, 0) if row is None else (int(row[i] or 0) for i in range(3))
    )
    return {
        "account_id": account_id,
        "payer_ref": payer_ref,
        "deposited": deposited,
        "released": released,
        "refunded": refunded,
        "held": deposited - released - refunded,
    }


# ---- orders ------------------------------------------------------------------------------


@router.post("/orders", status_code=201)
async def create_order(sim: SimDep, request: Request, req: OrderRequest) -> JSONResponse:
    pay_url = f"{self_url(sim, request)}/pay/{req.order_id}"

    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        _ensure_account(conn, req.account_id)
        conn.execute(
            "INSERT INTO orders (order_id, account_id, payer_ref, amount_fen, channel,"
            " callback_url, description, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                req.order_id,
                req.account_id,
                req.payer_ref,
                req.amount_fen,
                req.channel,
                req.callback_url,
                req.description,
                utc_now_iso(),
            ),
        )
        return 201, {"order_id": req.order_id, "status": "pending", "pay_url": pay_url}

    return idempotent(sim.store, "orders", req.order_id, req, action).response()


@router.get("/orders/{order_id}")
async def get_order(sim: SimDep, order_id: str) -> JSON:
    with sim.store.tx() as conn:
        return dict(_load_order(conn, order_id))


@router.post("/orders/{order_id}/cancel")
async def cancel_order(sim: SimDep, order_id: str) -> JSON:
    with sim.store.tx() as conn:
        row = _load_order(conn, order_id)
        if row["status"] == "paid":
            # Tell the platform everything it needs to book (or refuse) the payment it missed.
            raise reject(
                409,
                "already_paid",
                "订单已支付，不能取消",
                bank_txn_id=row["bank_txn_id"],
                amount_fen=row["paid_amount_fen"],
                account_id=row["account_id"],
                channel=row["paid_channel"],
                paid_at=row["paid_at"],
            )
        if row["status"] == "pending":
            conn.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = ? WHERE order_id = ?",
                (utc_now_iso(), order_id),
            )
    return {"order_id": order_id, "status": "cancelled"}


@simulate.post("/_simulate/orders/{order_id}/pay", response_model=None)
async def simulate_pay(
    sim: SimDep,
    order_id: str,
    redirect: bool = False,
    amount_fen: Annotated[int | None, Query(gt=0)] = None,
    channel: Channel | None = None,
) -> JSON | Response:
    """The learner confirms the payment in the channel's app (or on the demo pay page).

    `amount_fen` and `channel` make the channel settle otherwise than ordered (a tampered
    client, a misrouted payment): the bank books and reports what was actually paid."""
    payload: JSON | None = None
    with sim.store.tx() as conn:
        row = _load_order(conn, order_id)
        if row["status"] == "cancelled":
            raise reject(409, "order_cancelled", "订单已取消，不能支付")
        if row["status"] == "pending":
            txn, paid_at = new_txn_id(conn), utc_now_iso()
            paid_fen, paid_channel = amount_fen or row["amount_fen"], channel or row["channel"]
            conn.execute(
                "UPDATE orders SET status = 'paid', bank_txn_id = ?, paid_at = ?,"
                " paid_amount_fen = ?, paid_channel = ? WHERE order_id = ?",
                (txn, paid_at, paid_fen, paid_channel, order_id),
            )
            conn.execute(
                "INSERT INTO ledger (account_id, payer_ref, deposited) VALUES (?, ?, ?)"
                " ON CONFLICT (account_id, payer_ref) DO UPDATE SET deposited = deposited + ?",
                (row["account_id"], row["payer_ref"], paid_fen, paid_fen),
            )
            payload = {
                "event": "payment.succeeded",
                "order_id": order_id,
                "payer_ref": row["payer_ref"],
                "account_id": row["account_id"],
                "amount_fen": paid_fen,
                "channel": paid_channel,
                "bank_txn_id": txn,
                "paid_at": paid_at,
            }
        row = _load_order(conn, order_id)
    if payload is not None:
        sim.callbacks.send(row["callback_url"], payload)
    if redirect:
        return RedirectResponse(f"/pay/{order_id}", status_code=303)
    return dict(row)


@simulate.get("/pay/{order_id}", response_class=HTMLResponse)
async def pay_page(sim: SimDep, order_id: str) -> HTMLResponse:
    row = sim.store.one("SELECT * FROM orders WHERE order_id = ?", (order_id,))
    if row is None:
        return HTMLResponse(_page("订单不存在", "<p>找不到该支付订单。</p>"), status_code=404)
    esc = html.escape
    summary = (
        f"<p>{esc(row['description'])}</p>"
        f"<p class='amount'>¥ {yuan(row['amount_fen'])}</p>"
        f"<p>订单号：{esc(order_id)}<br>收款方：{esc(row['account_id'])}（资金监管账户）</p>"
    )
    if row["status"] == "pending":
        action = f"/_simulate/orders/{esc(order_id)}/pay?redirect=true"
        body = (
            f"{summary}<form method='post' action='{action}'>"
            "<button type='submit'>确认支付</button></form>"
        )
    elif row["status"] == "paid":
        body = f"{summary}<p class='ok'>支付成功　交易流水号：{esc(row['bank_txn_id'])}</p>"
    else:
        body = f"{summary}<p class='bad'>订单已取消</p>"
    return HTMLResponse(_page(CHANNEL_NAMES[row["channel"]], body))


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}"
        ".amount{font-size:2rem;font-weight:bold}.ok{color:#1a7f37}.bad{color:#b42318}"
        "button{width:100%;padding:.8rem;font-size:1.1rem;background:#1677ff;color:#fff;"
        "border:0;border-radius:.4rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


# ---- releases and refunds -----------------------------------------------------------------


class MovementHold:
    """A test control (PUT /_hold): the next release, refund or clawback is executed and
    committed, then its answer is held back until POST /_hold/release. A test kills the caller
    in that window: the instruction has happened, its receipt never arrived."""

    def __init__(self) -> None:
        self.armed = False
        self.held: list[str] = []
        self._released = asyncio.Event()

    def arm(self) -> None:
        self.armed, self.held, self._released = True, [], asyncio.Event()

    def release(self) -> None:
        self.armed = False
        self._released.set()

    async def after_execution(self, movement_id: str) -> None:
        if self.armed:
            self.armed = False
            self.held.append(movement_id)
            await self._released.wait()

    def view(self) -> JSON:
        return {"armed": self.armed, "executed": self.held}


def get_hold(request: Request) -> MovementHold:
    hold: MovementHold = request.app.state.hold
    return hold


HoldDep = Annotated[MovementHold, Depends(get_hold)]


@simulate.put("/_hold")
async def arm_hold(hold: HoldDep) -> JSON:
    hold.arm()
    return hold.view()


@simulate.get("/_hold")
async def read_hold(hold: HoldDep) -> JSON:
    return hold.view()


@simulate.post("/_hold/release")
async def release_hold(hold: HoldDep) -> JSON:
    hold.release()
    return hold.view()


@simulate.get("/_movements")
async def list_movements(sim: SimDep) -> list[JSON]:
    """Every release, refund and clawback executed, in order (a test checks none is doubled)."""
    return [dict(r) for r in sim.store.all("SELECT * FROM movements ORDER BY bank_txn_id")]


MOVEMENT_NAMES = {"release": "划拨指令", "refund": "退款指令", "clawback": "追回指令"}
# What each movement adds to the payer's balances: (released, refunded).
MOVEMENT_EFFECT = {"release": (1, 0), "refund": (0, 1), "clawback": (-1, 1)}


async def _move(
    sim: Simulator,
    hold: MovementHold,
    kind: Literal["release", "refund", "clawback"],
    key: str,
    req: ReleaseRequest | RefundRequest | ClawbackRequest,
) -> JSONResponse:
    released_sign, refunded_sign = MOVEMENT_EFFECT[kind]
    reason = getattr(req, "reason", None)

    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        if kind == "clawback":
            source, message = "released", "该学员已划拨给驾校的金额不足"
            available = _released(conn, req.account_id, req.payer_ref)
        else:
            source, message = "held", "监管账户中该学员的余额不足"
            available = _held(conn, req.account_id, req.payer_ref)
        if req.amount_fen > available:
            detail = {f"{source}_fen": available, "requested_fen": req.amount_fen}
            raise reject(422, f"insufficient_{source}", message, **detail)
        txn, executed_at = new_txn_id(conn), utc_now_iso()
        conn.execute(
            "INSERT INTO movements (kind, movement_id, account_id, payer_ref, amount_fen,"
            " reason, bank_txn_id, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, key, req.account_id, req.payer_ref, req.amount_fen, reason, txn, executed_at),
        )
        conn.execute(
            "UPDATE ledger SET released = released + ?, refunded = refunded + ?"
            " WHERE account_id = ? AND payer_ref = ?",
            (
                released_sign * req.amount_fen,
                refunded_sign * req.amount_fen,
                req.account_id,
                req.payer_ref,
            ),
        )
        return 201, {
            f"{kind}_id": key,
            "status": "succeeded",
            "bank_txn_id": txn,
            "account_id": req.account_id,
            "payer_ref": req.payer_ref,
            "amount_fen": req.amount_fen,
            "executed_at": executed_at,
        }

    outcome = idempotent(sim.store, f"{kind}s", key, req, action)
    if not outcome.replayed:
        await hold.after_execution(key)
    return outcome.response()


def _movement_view(sim: Simulator, kind: str, key: str) -> JSON:
    row = sim.store.one("SELECT * FROM movements WHERE kind = ? AND movement_id = ?", (kind, key))
    if row is None:
        raise not_found(MOVEMENT_NAMES[kind])
    data = dict(row)
    data[f"{kind}_id"] = data.pop("movement_id")
    data["status"] = "succeeded"
    return data


@router.post("/releases", status_code=201)
async def create_release(sim: SimDep, hold: HoldDep, req: ReleaseRequest) -> JSONResponse:
    return await _move(sim, hold, "release", req.release_id, req)


@router.get("/releases/{release_id}")
async def get_release(sim: SimDep, release_id: str) -> JSON:
    return _movement_view(sim, "release", release_id)


@router.post("/refunds", status_code=201)
async def create_refund(sim: SimDep, hold: HoldDep, req: RefundRequest) -> JSONResponse:
    return await _move(sim, hold, "refund", req.refund_id, req)


@router.get("/refunds/{refund_id}")
async def get_refund(sim: SimDep, refund_id: str) -> JSON:
    return _movement_view(sim, "refund", refund_id)


@router.post("/clawbacks", status_code=201)
async def create_clawback(sim: SimDep, hold: HoldDep, req: ClawbackRequest) -> JSONResponse:
    return await _move(sim, hold, "clawback", req.clawback_id, req)


@router.get("/clawbacks/{clawback_id}")
async def get_clawback(sim: SimDep, clawback_id: str) -> JSON:
    return _movement_view(sim, "clawback", clawback_id)


# ---- balances -----------------------------------------------------------------------------


@router.get("/accounts/{account_id}/balances")
async def get_balances(sim: SimDep, account_id: str, payer_ref: str | None = None) -> JSON:
    if payer_ref is None:
        row = sim.store.one(
            "SELECT SUM(deposited), SUM(released), SUM(refunded) FROM ledger WHERE account_id = ?",
            (account_id,),
        )
    else:
        row = sim.store.one(
            "SELECT deposited, released, refunded FROM ledger"
            " WHERE account_id = ? AND payer_ref = ?",
            (account_id, payer_ref),
        )
    return balances_view(account_id, payer_ref, row)


@router.get("/reconciliation")
async def reconciliation(sim: SimDep, account_id: str | None = None) -> list[JSON]:
    where, params = ("WHERE account_id = ?", (account_id,)) if account_id else ("", ())
    rows = sim.store.all(
        "SELECT deposited, released, refunded, account_id, payer_ref FROM ledger"
        f" {where} ORDER BY account_id, payer_ref",
        params,
    )
    return [balances_view(r["account_id"], r["payer_ref"], r) for r in rows]


# ---- e-invoices ---------------------------------------------------------------------------


def _invoice_numbers(sim: Simulator, conn: sqlite3.Connection) -> tuple[str, str, str]:
    now = datetime.now(UTC)
    serial = next_seq(conn, "invoice")
    invoice_no = f"{now:%y}{INVOICE_REGION}{serial:016d}"  # 20 digits, as 全电发票 numbers
    invoice_code = f"0{INVOICE_REGION}00{now:%y%m}0001"  # 12 digits
    # The check code must not be guessable from the number alone, as on a real invoice.
    mac = hmac.new(sim.secret.encode(), invoice_no.encode(), hashlib.sha256)
    check_code = str(int(mac.hexdigest(), 16))[-20:].zfill(20)
    return invoice_no, invoice_code, check_code


@router.post("/invoices", status_code=201)
async def create_invoice(sim: SimDep, req: InvoiceRequest) -> JSONResponse:
    def action(conn: sqlite3.Connection) -> tuple[int, JSON]:
        order = _load_order(conn, req.order_id)
        if order["status"] != "paid":
            raise reject(409, "order_not_paid", "订单未支付，不能开票", status=order["status"])
        existing = conn.execute(
            "SELECT invoice_id, invoice_no FROM invoices WHERE order_id = ?", (req.order_id,)
        ).fetchone()
        if existing is not None:
            raise reject(409, "already_invoiced", "该订单已开具发票", **dict(existing))
        total = sum(item.amount_fen for item in req.items)
        if total != order["paid_amount_fen"]:
            raise reject(
                422,
                "amount_mismatch",
                "发票明细合计与实付金额不符",
                expected_fen=order["paid_amount_fen"],
                total_fen=total,
            )
        invoice_no, invoice_code, check_code = _invoice_numbers(sim, conn)
        issued_at = utc_now_iso()
        items = [item.model_dump() for item in req.items]
        conn.execute(
            "INSERT INTO invoices (invoice_id, order_id, invoice_no, invoice_code, buyer_name,"
            " items, total_fen, check_code, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                req.invoice_id,
                req.order_id,
                invoice_no,
                invoice_code,
                req.buyer_name,
                json.dumps(items, ensure_ascii=False),
                total,
                check_code,
                issued_at,
            ),
        )
        return 201, {
            "invoice_id": req.invoice_id,
            "order_id": req.order_id,
            "invoice_no": invoice_no,
            "invoice_code": invoice_code,
            "issued_at": issued_at,
            "total_fen": total,
            "check_code": check_code,
        }

    return idempotent(sim.store, "invoices", req.invoice_id, req, action).response()


@router.get("/invoices/{invoice_id}")
async def get_invoice(sim: SimDep, invoice_id: str) -> JSON:
    row = sim.store.one("SELECT * FROM invoices WHERE invoice_id = ?", (invoice_id,))
    if row is None:
        raise not_found("发票")
    return {**dict(row), "items": json.loads(row["items"])}


def _upgraded(store: Store) -> Store:
    """A database made before clawbacks existed gets the movements table that allows them;
    one made before orders kept what was actually paid gets those columns (what was ordered,
    for the orders paid then)."""
    table = store.one("SELECT sql FROM sqlite_master WHERE name = 'movements'")
    if table is not None and "clawback" not in table["sql"]:
        with store.tx() as conn:
            conn.execute("ALTER TABLE movements RENAME TO movements_old")
            conn.execute(MOVEMENTS_TABLE)
            conn.execute("INSERT INTO movements SELECT * FROM movements_old")
            conn.execute("DROP TABLE movements_old")
    orders = store.one("SELECT sql FROM sqlite_master WHERE name = 'orders'")
    if orders is not None and "paid_amount_fen" not in orders["sql"]:
        with store.tx() as conn:
            conn.execute("ALTER TABLE orders ADD COLUMN paid_amount_fen INTEGER")
            conn.execute("ALTER TABLE orders ADD COLUMN paid_channel TEXT")
            conn.execute(
                "UPDATE orders SET paid_amount_fen = amount_fen, paid_channel = channel"
                " WHERE status = 'paid'"
            )
    return store


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    """The app; `db_path` is a SQLite file (or ':memory:'), `secret` signs callbacks."""
    app = create_simulator_app(
        "bank",
        "银行资金监管 / 支付渠道 / 电子发票 (simulator)",
        _upgraded(Store(db_path, SCHEMA)),
        secret,
        options,
    )
    app.state.hold = MovementHold()
    app.include_router(router)
    app.include_router(simulate)
    return app
