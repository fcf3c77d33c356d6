"""Adapter for the escrow bank and its payment channels (监管账户; 云闪付/支付宝/微信)."""

from dataclasses import dataclass
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http import SubsystemClient, external_id


@dataclass
class CreateOrder:
    order_id: str
    account_id: str
    payer_ref: str
    amount_fen: int
    channel: str
    description: str


@dataclass
class CancelOrder:
    order_id: str


@dataclass
class CancelOutcome:
    """An order cannot be cancelled once paid: then the payment is reported instead, as the
    bank took it (the amount, account and channel actually paid)."""

    cancelled: bool
    amount_fen: int = 0
    bank_txn_id: str = ""
    paid_at: datetime | None = None
    account_id: str = ""
    channel: str = ""


@dataclass
class BankPayment:
    """The bank's own record of what was paid for an order: who, into which account, how much,
    through which channel."""

    order_id: str
    payer_ref: str
    account_id: str
    amount_fen: int
    channel: str
    bank_txn_id: str
    paid_at: datetime


@dataclass
class MoveHeldMoney:
    key: str  # idempotency key of the bank instruction
    account_id: str
    payer_ref: str
    amount_fen: int
    reason: str


@dataclass
class InvoiceLine:
    name: str
    amount_fen: int


@dataclass
class IssueInvoice:
    invoice_id: str
    order_id: str
    buyer_name: str
    items: list[InvoiceLine]


@dataclass
class IssuedInvoice:
    invoice_no: str
    invoice_code: str
    check_code: str
    issued_at: str
    total_fen: int


class BankActivities:
    def __init__(self, client: SubsystemClient, callback_url: str) -> None:
        self._client = client
        self._callback_url = callback_url

    @activity.defn(name="bank.create_order")
    async def create_order(self, req: CreateOrder) -> str:
        """Opens a deposit order into escrow; returns the channel's pay URL."""
        body = await self._client.call(
            "POST", "/orders", json={**vars(req), "callback_url": self._callback_url}
        )
        return str(body["pay_url"])

    @activity.defn(name="bank.cancel_order")
    async def cancel_order(self, req: CancelOrder) -> CancelOutcome:
        try:
            await self._client.call("POST", f"/orders/{req.order_id}/cancel")
        except ApplicationError as exc:
            detail = exc.details[0] if exc.details else None
            if isinstance(detail, dict) and detail.get("code") == "already_paid":
                return CancelOutcome(
                    cancelled=False,
                    amount_fen=int(detail["amount_fen"]),
                    bank_txn_id=str(detail["bank_txn_id"]),
                    paid_at=datetime.fromisoformat(detail["paid_at"]),
                    account_id=str(detail["account_id"]),
                    channel=str(detail["channel"]),
                )
            raise
        return CancelOutcome(cancelled=True)

    @activity.defn(name="bank.find_payment")
    async def find_payment(self, order_id: str) -> BankPayment | None:
        """What the bank itself took for an order; None when it took nothing (no such order,
        or not paid)."""
        try:
            row = await self._client.call("GET", f"/orders/{order_id}")
        except ApplicationError as exc:
            detail = exc.details[0] if exc.details else None
            if isinstance(detail, dict) and detail.get("code") == "not_found":
                return None
            raise
        if row["status"] != "paid":
            return None
        return BankPayment(
            order_id=order_id,
            payer_ref=str(row["payer_ref"]),
            account_id=str(row["account_id"]),
            amount_fen=int(row["paid_amount_fen"]),
            channel=str(row["paid_channel"]),
            bank_txn_id=str(row["bank_txn_id"]),
            paid_at=datetime.fromisoformat(row["paid_at"]),
        )

    @activity.defn(name="bank.release")
    async def release(self, req: MoveHeldMoney) -> str:
        """Releases held money to the school; returns the bank's transaction id."""
        return await self._move("/releases", "release_id", req)

    @activity.defn(name="bank.refund")
    async def refund(self, req: MoveHeldMoney) -> str:
        """Refunds held money to the learner; returns the bank's transaction id."""
        return await self._move("/refunds", "refund_id", req)

    @activity.defn(name="bank.claw_back")
    async def claw_back(self, req: MoveHeldMoney) -> str:
        """Pays back to the learner money already released to the school (a compensation the
        contract deducts from the school's settlement); returns the transaction id."""
        return await self._move("/clawbacks", "clawback_id", req)

    async def _move(self, path: str, key_field: str, req: MoveHeldMoney) -> str:
        body = await self._client.call(
            "POST",
            path,
            json={
                key_field: external_id(req.key),
                "account_id": req.account_id,
                "payer_ref": req.payer_ref,
                "amount_fen": req.amount_fen,
                "reason": req.reason,
            },
        )
        return str(body["bank_txn_id"])

    @activity.defn(name="bank.issue_invoice")
    async def issue_invoice(self, req: IssueInvoice) -> IssuedInvoice:
        body = await self._client.call(
            "POST",
            "/invoices",
            json={
                "invoice_id": req.invoice_id,
                "order_id": req.order_id,
                "buyer_name": req.buyer_name,
                "items": [vars(item) for item in req.items],
            },
        )
        return IssuedInvoice(
            invoice_no=body["invoice_no"],
            invoice_code=body["invoice_code"],
            check_code=body["check_code"],
            issued_at=body["issued_at"],
            total_fen=int(body["total_fen"]),
        )
