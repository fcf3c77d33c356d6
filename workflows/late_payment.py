"""A payment that reaches a journey already closed: booked into the ledger and refunded, without
the journey (which can no longer take signals). Started by the bank webhook, one per order;
every step is keyed so a retry or a duplicate callback moves no money twice."""

from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.callbacks import PAYMENT_CHECK_PATCH
from workflows.steps import business_reason, call

with workflow.unsafe.imports_passed_through():
    from activities.bank import MoveHeldMoney
    from activities.records import LedgerPosting


@dataclass
class LatePayment:
    journey_id: str
    school_id: str
    account_id: str  # the escrow account the money was paid into, as the bank says
    order_id: str
    amount_fen: int
    bank_txn_id: str


@workflow.defn(name="LatePaymentRefund")
class LatePaymentRefund:
    @workflow.run
    async def run(self, p: LatePayment) -> str:
        # The same key the journey books a deposit under: if the journey booked it before it
        # closed, it also settled it, and there is nothing left to do.
        deposit_key = f"{p.journey_id}:deposit:{p.order_id}"
        if await call("records.ledger_has", deposit_key, result_type=bool):
            return "already_booked"
        refund_key = f"{p.journey_id}:refund:late-{p.order_id}"
        refund = MoveHeldMoney(
            key=refund_key,
            account_id=p.account_id,
            payer_ref=p.journey_id,
            amount_fen=p.amount_fen,
            reason="学驾已结束后到账的支付，原路退回",
        )
        if not workflow.patched(PAYMENT_CHECK_PATCH):
            await self._post(deposit_key, p, "deposit", p.bank_txn_id)
            txn = await call("bank.refund", refund, result_type=str)
        else:
            # The refund first: only money the bank really holds there is booked at all.
            try:
                txn = await call("bank.refund", refund, result_type=str)
            except ActivityError as err:
                if business_reason(err) is None:
                    raise
                return "nothing_held"
            await self._post(deposit_key, p, "deposit", p.bank_txn_id)
        await self._post(refund_key, p, "refund", txn)
        return "refunded"

    async def _post(self, key: str, p: LatePayment, kind: str, txn: str) -> None:
        await call(
            "records.post_ledger",
            LedgerPosting(key, p.journey_id, p.school_id, kind, p.amount_fen, txn),
        )
