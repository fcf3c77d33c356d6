"""The journey's escrow movements: every one a bank instruction with an idempotency key,
then a ledger posting with the same key, then the journey's own running balances."""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.steps import business_reason, call

with workflow.unsafe.imports_passed_through():
    from activities.bank import BankPayment, CancelOrder, CancelOutcome, CreateOrder, MoveHeldMoney
    from activities.records import LEDGER_MISMATCH, LedgerPosting
    from workflows.journey_state import JourneyInput, JourneyState, PaymentCallback
    from workflows.training import unreleased_due_fen


class MoneyMover:
    def __init__(self, inp: JourneyInput, state: JourneyState) -> None:
        self._in = inp
        self._s = state

    def _key(self, what: str) -> str:
        return f"{workflow.info().workflow_id}:{what}"

    async def create_order(self, order: CreateOrder) -> str:
        return await call("bank.create_order", order, result_type=str, interactive=True)

    async def cancel_order(self, req: CancelOrder) -> CancelOutcome:
        return await call("bank.cancel_order", req, result_type=CancelOutcome)

    async def deposit(self, cb: PaymentCallback) -> None:
        await self._post(f"deposit:{cb.order_id}", "deposit", cb.amount_fen, cb.bank_txn_id)
        self._s.money.deposited_fen += cb.amount_fen

    @property
    def _per_hour(self) -> bool:
        return self._in.policy.release.model == "per_hour"

    async def on_enrolment(self) -> None:
        """The fixed fees are due now under either model. Per hour: they are paid now;
        staged: the policy's enrolment share is."""
        self._s.due.services_fen = self._in.fees.services_fen
        if self._per_hour:
            await self.release_due("enrolment")
            return
        share = self._in.policy.release.enrolment_share_pct
        await self.release("enrolment", self._s.tuition_fen * share // 100, "报名缴费后按比例拨付")

    async def on_stage_approved(self, subject: str) -> None:
        """Staged model: the subject's share once its stage report is approved."""
        if self._per_hour:
            return
        share = self._in.policy.release.stage_share_pct.get(subject, 0)
        await self.release(
            f"stage-{subject}",
            self._s.tuition_fen * share // 100,
            f"{subject} 阶段报审通过后按比例拨付",
        )

    async def release_due(self, what: str) -> None:
        """Per hour: pays the school what it has earned and not yet received."""
        if self._per_hour:
            amount = min(unreleased_due_fen(self._s), self._s.money.held_fen)
            await self.release(f"{what}-{self._s.money.moves}", amount, "按合同拨付已确认的培训费")

    async def settle(self, what: str, new_rules: bool = True) -> None:
        """At the end (graduation, withdrawal, transfer): the school gets what it is due under
        the contract, whatever the release model, and the learner gets back everything else."""
        owed = min(unreleased_due_fen(self._s), self._s.money.held_fen)
        await self.release(f"{what}-settle", owed, "结算：拨付已确认未拨付的培训费")
        if new_rules:
            await self._claw_back_credit(what)
        await self.refund_all_held(what)

    async def _claw_back_credit(self, what: str) -> None:
        """School-side cancellation credits come off what the school is paid; where it has
        already been paid more than it earned less the credits, the difference (never more
        than the credits) goes back to the learner from the school's settlement."""
        s = self._s
        earned = max(s.due.total_fen - s.credit_fen, 0)
        amount = min(s.money.released_fen - earned, s.credit_fen)
        if amount <= 0:
            return
        s.money.moves += 1
        key = self._key(f"clawback:{what}")
        instruction = self._instruction(key, amount, "驾校取消课时补偿，从已拨付款中退还学员")
        txn = await call("bank.claw_back", instruction, result_type=str)
        await self._post(f"clawback:{what}", "clawback", amount, txn)
        s.money.released_fen -= amount
        s.money.refunded_fen += amount

    async def refund_unreserved(self, what: str, reserved_fen: int) -> None:
        """At a withdrawal or transfer, pays back at once what is neither owed to the school nor
        reserved for records still being settled; `settle` does the rest."""
        owed = min(unreleased_due_fen(self._s), self._s.money.held_fen)
        await self.refund(
            f"{what}-early",
            self._s.money.held_fen - owed - reserved_fen,
            "先行退还不涉及待确认学时的培训费",
        )

    async def release(self, what: str, amount_fen: int, reason: str) -> None:
        if amount_fen <= 0:
            return
        self._s.money.moves += 1
        key = self._key(f"release:{what}")
        txn = await call(
            "bank.release", self._instruction(key, amount_fen, reason), result_type=str
        )
        await self._post(f"release:{what}", "release", amount_fen, txn)
        self._s.money.released_fen += amount_fen

    async def refund(self, what: str, amount_fen: int, reason: str) -> None:
        if amount_fen <= 0:
            return
        self._s.money.moves += 1
        key = self._key(f"refund:{what}")
        txn = await call("bank.refund", self._instruction(key, amount_fen, reason), result_type=str)
        await self._post(f"refund:{what}", "refund", amount_fen, txn)
        self._s.money.refunded_fen += amount_fen

    async def refund_all_held(self, what: str) -> None:
        await self.refund(what, self._s.money.held_fen, "退还未拨付的培训费")

    async def refund_surplus(self, cb: PaymentCallback, still_collecting: bool) -> None:
        """Pays back what a payment brought beyond the tuition: all of it once the journey has
        moved past payment or ended, else the excess over the tuition."""
        surplus = cb.amount_fen
        if still_collecting:
            surplus = max(0, self._s.money.deposited_fen - self._s.tuition_fen)
        if surplus > 0:
            await self.refund(f"surplus:{cb.order_id}", surplus, "重复或逾期支付，原路退回")

    async def find_payment(self, order_id: str) -> BankPayment | None:
        """What the bank itself took for an order (None: nothing, or the bank refuses to say —
        a business answer, after which nothing is moved on the callback's word alone)."""
        try:
            payment: BankPayment | None = await call(
                "bank.find_payment",
                order_id,
                result_type=BankPayment | None,  # type: ignore[arg-type]
            )
        except ActivityError as err:
            if business_reason(err) is None:
                raise
            return None
        return payment

    async def return_refused(self, p: BankPayment) -> bool:
        """Money the bank took on a payment the journey refused goes straight back to the
        learner, as the bank's own record has it (never as a callback claims): from the
        account it was paid into, booked as deposited and refunded at once, so the ledger
        keeps equal to the bank's books; it is never held for the journey, and nothing is
        released from it. False if the bank refuses (it does not hold it): nothing is booked."""
        self._s.money.moves += 1
        key = self._key(f"refund:refused-{p.order_id}")
        instruction = self._instruction(key, p.amount_fen, "支付与订单不符，原路退回")
        instruction.account_id = p.account_id
        try:
            txn = await call("bank.refund", instruction, result_type=str)
        except ActivityError as err:
            if business_reason(err) is None:
                raise
            return False
        await self._post(f"deposit:refused-{p.order_id}", "deposit", p.amount_fen, p.bank_txn_id)
        await self._post(f"refund:refused-{p.order_id}", "refund", p.amount_fen, txn)
        self._s.money.returned_fen += p.amount_fen
        return True

    def _instruction(self, key: str, amount_fen: int, reason: str) -> MoveHeldMoney:
        return MoveHeldMoney(
            key=key,
            account_id=self._in.school.escrow_account,
            payer_ref=workflow.info().workflow_id,
            amount_fen=amount_fen,
            reason=reason,
        )

    async def _post(self, what: str, kind: str, amount_fen: int, bank_txn_id: str) -> None:
        try:
            await call(
                "records.post_ledger",
                LedgerPosting(
                    idempotency_key=self._key(what),
                    journey_id=workflow.info().workflow_id,
                    school_id=self._in.school.id,
                    kind=kind,
                    amount_fen=amount_fen,
                    bank_txn_id=bank_txn_id,
                ),
            )
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError) and err.cause.type == LEDGER_MISMATCH:
                # A bug, not a refusal: fail the workflow task so the journey stops where it
                # is, visibly in the Temporal UI, until ops fix it; no money moves meanwhile.
                raise LedgerMismatchError(err.cause.message) from err
            raise


class LedgerMismatchError(RuntimeError):
    """Fails the workflow task (not the workflow): the journey waits for a fix."""
