"""LearnerJourney: one durable workflow per enrolment, its stages in the guideline's order.

Learner and staff actions arrive as Updates (validated, answered at once); subsystem results
arrive as Signals from the webhook endpoints. Every side effect is an activity whose
idempotency key is derived from the workflow id, so retries and replays never repeat one.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

from workflows import search_attributes as sa

with workflow.unsafe.imports_passed_through():
    from activities.bank import CancelOrder, CreateOrder
    from activities.national import RegisterLearner, WithdrawLearner
    from activities.records import JourneyProjection
    from workflows.journey_state import (
        BookHealthCheck,
        Channel,
        CreatePayment,
        HealthCheck,
        HealthResult,
        JourneyInput,
        JourneyState,
        JourneyView,
        PaymentCallback,
        PaymentOrder,
        SignContract,
        StaffDecision,
        Stage,
        Status,
        StepOutcome,
        WaitingOn,
        Withdraw,
    )

from workflows import steps
from workflows.money import MoneyMover


class JourneyEnded(Exception):
    """Raised inside the run to leave the stage sequence: withdrawal, rejection or failure."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@workflow.defn(name="LearnerJourney")
class LearnerJourney:
    @workflow.init
    def __init__(self, inp: JourneyInput) -> None:
        self._in = inp
        self._s = JourneyState()
        self._lock = asyncio.Lock()
        self._pending_end: JourneyEnded | None = None
        self._projected_version = -1
        self._money = MoneyMover(inp, self._s)

    # ---- the journey, read top to bottom -------------------------------------------------

    @workflow.run
    async def run(self, inp: JourneyInput) -> JourneyState:
        self._s.stage_entered_at = workflow.now()
        try:
            await self._sign_up()
            await self._health_check()
            await self._in_person_signing()
            while self._health_expired():
                self._record("health_check", "expired", "体检结果已过有效期，请重新体检")
                await self._health_check()
            await self._contract()
            await self._payment()
            await self._enter(Stage.theory, WaitingOn.learner)
            # Part 2 of the journey (training, exams, graduation) continues from here.
            await self._wait(lambda: False)
        except JourneyEnded as ended:
            await self._end(ended)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._s

    async def _sign_up(self) -> None:
        a = self._in.applicant
        self._s.learner_no = await steps.call(
            "national.register_learner",
            RegisterLearner(
                request_id=self._key("register"),
                school_id=self._in.school.id,
                name=a.name,
                id_number=a.id_number,
                phone=a.phone,
                vehicle_class=self._in.vehicle_class,
            ),
            result_type=str,
            on_rejection=lambda reason: JourneyEnded(Status.rejected, reason),
        )
        self._record("signup", "registered", self._s.learner_no)

    async def _health_check(self) -> None:
        self._s.health = HealthCheck(attempts=self._s.health.attempts)
        await self._enter(Stage.health_check, WaitingOn.learner)
        while self._s.health.passed is None:
            await self._wait(
                lambda: self._s.health.passed is not None,
                timeout=self._in.policy.timers.health_result_wait,
                on_timeout=lambda: self._record("health_check", "reminder"),
            )
        if not self._s.health.passed:
            raise JourneyEnded(Status.failed, f"体检不合格：{self._s.health.reason}")

    async def _in_person_signing(self) -> None:
        await self._enter(Stage.signing, WaitingOn.school)
        timers = self._in.policy.timers
        try:
            await self._wait(
                lambda: bool(self._s.signing_approved_by), timeout=timers.signing_reminder
            )
        except TimeoutError:
            self._record("signing", "reminder", "面签提醒已发送给驾校")
            try:
                await self._wait(
                    lambda: bool(self._s.signing_approved_by),
                    timeout=max(timers.signing_expiry - timers.signing_reminder, 1),
                )
            except TimeoutError as exc:
                raise JourneyEnded(Status.rejected, "面签超时未完成，报名失效") from exc

    async def _contract(self) -> None:
        await self._enter(Stage.contract, WaitingOn.platform)
        self._s.tuition_fen = steps.tuition_fen(self._in)
        # Unique per enrolment run: the same learner may enrol again after withdrawing.
        run = workflow.info().run_id.replace("-", "")[:8].upper()
        self._s.contract.contract_no = f"HT{workflow.now():%Y%m%d}{run}"
        self._s.contract.preview_sha256 = await steps.render_contract(self._in, self._s, None)
        await self._set_waiting(WaitingOn.learner)
        await self._wait(lambda: bool(self._s.contract.signed_sha256))

    async def _payment(self) -> None:
        await self._enter(Stage.payment, WaitingOn.learner)
        while self._s.money.deposited_fen < self._s.tuition_fen:
            await self._wait(
                lambda: (
                    self._pending_order() is not None
                    or self._s.money.deposited_fen >= self._s.tuition_fen
                )
            )
            order = self._pending_order()
            if order is None:
                continue
            remaining = (order.expires_at - workflow.now()).total_seconds()
            try:
                await self._wait(lambda o=order: o.status != "pending", timeout=max(remaining, 1))
            except TimeoutError:
                await self._expire(order)
        await self._money.on_enrolment()
        await self._issue_invoice()

    async def _expire(self, order: PaymentOrder) -> None:
        """Cancels an unpaid order; if the bank says it was paid after all, books that."""
        async with self._lock:
            if order.status == "pending":
                await self._expire_locked(order)

    async def _expire_locked(self, order: PaymentOrder) -> None:
        outcome = await self._money.cancel_order(CancelOrder(order.order_id))
        if outcome.cancelled:
            order.status = "expired"
            self._record("payment", "expired", order.order_id)
            await self._set_waiting(WaitingOn.learner)
        else:
            await self._book_payment(
                PaymentCallback(
                    order.order_id,
                    outcome.amount_fen,
                    outcome.bank_txn_id,
                    outcome.paid_at or workflow.now(),
                )
            )

    async def _issue_invoice(self) -> None:
        self._s.invoice_no, self._s.invoice_sha256 = await steps.issue_invoice(self._in, self._s)
        self._record("payment", "invoiced", self._s.invoice_no)

    async def _end(self, ended: JourneyEnded) -> None:
        self._s.end_reason = ended.reason
        self._s.status = ended.status
        for order in self._s.orders:
            await self._expire(order)
        async with self._lock:
            await self._money.refund_all_held(
                "withdrawal" if ended.status == Status.withdrawn else "journey_ended"
            )
        if self._s.learner_no:
            await steps.call(
                "national.withdraw_learner",
                WithdrawLearner(self._key("withdraw"), self._s.learner_no),
            )
        self._record(self._s.stage.value, ended.status.value, ended.reason)
        await self._enter(Stage.closed, WaitingOn.nobody)

    # ---- updates: learner and staff actions ------------------------------------------------

    @workflow.update
    async def book_health_check(self, req: BookHealthCheck) -> JourneyState:
        async with self._lock:
            self._s.health.attempts += 1
            booking_id = self._key(f"health-{self._s.health.attempts}")
            await steps.book_health(self._in, booking_id, req)
            self._s.health.booking_id = booking_id
            self._s.health.centre_id = req.centre_id
            self._s.health.slot = req.slot
            self._s.health.fee_fen = req.fee_fen
            self._record("health_check", "booked", f"{req.centre_id} {req.slot}")
            await self._set_waiting(WaitingOn.health_centre)
            return self._s

    @book_health_check.validator
    def _validate_book_health(self, req: BookHealthCheck) -> None:
        self._require_stage(Stage.health_check)
        if self._s.health.booking_id:
            raise ValueError("已预约体检，请等待体检结果")
        if req.fee_fen <= 0:
            raise ValueError("fee_fen must be positive")

    @workflow.update
    async def approve_signing(self, decision: StaffDecision) -> JourneyState:
        self._s.signing_approved_by = decision.staff_id
        self._record("signing", "approved", decision.staff_id)
        return self._s

    @approve_signing.validator
    def _validate_approve(self, decision: StaffDecision) -> None:
        self._require_stage(Stage.signing)

    @workflow.update
    async def reject_signing(self, decision: StaffDecision) -> JourneyState:
        self._fail_pending(JourneyEnded(Status.rejected, f"面签未通过：{decision.reason}"))
        self._record("signing", "rejected", decision.reason)
        return self._s

    @reject_signing.validator
    def _validate_reject(self, decision: StaffDecision) -> None:
        self._require_stage(Stage.signing)
        if not decision.reason.strip():
            raise ValueError("reason is required when rejecting")

    @workflow.update
    async def sign_contract(self, req: SignContract) -> JourneyState:
        async with self._lock:
            self._s.contract.signed_at = workflow.now()
            self._s.contract.signed_sha256 = await steps.render_contract(
                self._in, self._s, req.signature_png_b64
            )
            self._record("contract", "signed", self._s.contract.signed_sha256)
            return self._s

    @sign_contract.validator
    def _validate_sign(self, req: SignContract) -> None:
        self._require_stage(Stage.contract)
        if not self._s.contract.preview_sha256:
            raise ValueError("合同正在生成，请稍后再签")
        if self._s.contract.signed_sha256:
            raise ValueError("合同已签署")
        if not req.signature_png_b64:
            raise ValueError("signature is required")

    @workflow.update
    async def create_payment(self, req: CreatePayment) -> JourneyState:
        async with self._lock:
            n = len(self._s.orders) + 1
            order_id = self._key(f"pay-{n}")
            pay_url = await self._money.create_order(
                CreateOrder(
                    order_id=order_id,
                    account_id=self._in.school.escrow_account,
                    payer_ref=workflow.info().workflow_id,
                    amount_fen=self._s.tuition_fen - self._s.money.deposited_fen,
                    channel=req.channel,
                    description=f"{self._in.school.name} {self._in.vehicle_class} 培训费",
                )
            )
            expires = workflow.now() + timedelta(seconds=self._in.policy.timers.payment_expiry)
            self._s.orders.append(
                PaymentOrder(
                    order_id,
                    req.channel,
                    self._s.tuition_fen - self._s.money.deposited_fen,
                    pay_url,
                    expires,
                )
            )
            self._record("payment", "order_created", order_id)
            await self._set_waiting(WaitingOn.bank)
            return self._s

    @create_payment.validator
    def _validate_payment(self, req: CreatePayment) -> None:
        self._require_stage(Stage.payment)
        if req.channel not in Channel.__members__:
            raise ValueError(f"channel must be one of {', '.join(Channel.__members__)}")
        if self._pending_order() is not None:
            raise ValueError("已有待支付订单，请先完成支付或等待其过期")

    @workflow.update
    async def withdraw(self, req: Withdraw) -> JourneyState:
        self._s.withdraw_requested = req.reason
        self._fail_pending(JourneyEnded(Status.withdrawn, f"学员退学：{req.reason}"))
        return self._s

    @withdraw.validator
    def _validate_withdraw(self, req: Withdraw) -> None:
        if self._s.status != Status.active:
            raise ValueError("旅程已结束")
        if self._s.withdraw_requested:
            raise ValueError("已申请退学")
        if not req.reason.strip():
            raise ValueError("reason is required")

    # ---- signals: subsystem callbacks (duplicates are harmless) ------------------------------

    @workflow.signal
    async def health_result(self, result: HealthResult) -> None:
        h = self._s.health
        if result.booking_id != h.booking_id or h.passed is not None:
            return
        h.passed, h.examined_at, h.reason = result.passed, result.examined_at, result.reason
        self._record("health_check", "passed" if result.passed else "failed", result.reason)

    @workflow.signal
    async def payment_callback(self, cb: PaymentCallback) -> None:
        async with self._lock:
            await self._book_payment(cb)

    async def _book_payment(self, cb: PaymentCallback) -> None:
        order = next((o for o in self._s.orders if o.order_id == cb.order_id), None)
        if order is None or order.status == "paid":
            return
        order.status = "paid"
        await self._money.deposit(cb)
        self._record("payment", "paid", f"{cb.order_id} {cb.amount_fen}")
        # Paid twice, or after the journey moved on or ended: the surplus goes straight back.
        collecting = self._s.stage == Stage.payment and self._s.status == Status.active
        await self._money.refund_surplus(cb, still_collecting=collecting)

    # ---- queries ------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> JourneyView:
        return JourneyView(
            workflow_id=workflow.info().workflow_id,
            learner_id=self._in.learner_id,
            school_id=self._in.school.id,
            city_code=self._in.school.city_code,
            vehicle_class=self._in.vehicle_class,
            coach_id=self._in.coach_id,
            state=self._s,
        )

    # ---- plumbing ----------------------------------------------------------------------------

    def _key(self, what: str) -> str:
        return f"{workflow.info().workflow_id}:{what}"

    def _require_stage(self, stage: Stage) -> None:
        if self._s.status != Status.active or self._s.withdraw_requested:
            raise ValueError("旅程已结束")
        if self._s.stage != stage:
            raise ValueError(f"wrong stage: the journey is at {self._s.stage.value}")

    def _record(self, step: str, outcome: str, detail: str = "") -> None:
        self._s.steps.append(StepOutcome(step, outcome, workflow.now(), detail))
        self._s.version += 1

    def _fail_pending(self, ended: JourneyEnded) -> None:
        self._pending_end = self._pending_end or ended

    def _pending_order(self) -> PaymentOrder | None:
        return next((o for o in self._s.orders if o.status == "pending"), None)

    async def _wait(
        self,
        done: Callable[[], bool],
        timeout: float | None = None,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        """Waits for `done`, leaving the stage sequence at once if the journey is ended.

        With `on_timeout`, a time-out calls it and returns; without, it raises TimeoutError.
        """
        try:
            await workflow.wait_condition(
                lambda: done() or self._pending_end is not None, timeout=timeout
            )
        except TimeoutError:
            if on_timeout is None:
                raise
            on_timeout()
        if self._pending_end is not None:
            raise self._pending_end
        await self._project()

    def _health_expired(self) -> bool:
        examined = self._s.health.examined_at
        validity = timedelta(seconds=self._in.policy.timers.health_validity)
        return examined is None or workflow.now() - examined > validity

    async def _enter(self, stage: Stage, waiting_on: WaitingOn) -> None:
        self._s.stage = stage
        self._s.stage_entered_at = workflow.now()
        self._s.waiting_on = waiting_on
        self._s.version += 1
        await self._project()

    async def _set_waiting(self, waiting_on: WaitingOn) -> None:
        self._s.waiting_on = waiting_on
        self._s.version += 1
        await self._project()

    async def _project(self) -> None:
        """Mirrors the state into search attributes and the SQL read model, when it changed."""
        s = self._s
        if s.version == self._projected_version:
            return
        self._projected_version = s.version
        workflow.upsert_search_attributes(
            [
                sa.STAGE.value_set(s.stage.value),
                sa.STATUS.value_set(s.status.value),
                sa.SCHOOL.value_set(self._in.school.id),
                sa.CITY.value_set(self._in.school.city_code),
                sa.VEHICLE_CLASS.value_set(self._in.vehicle_class),
                sa.WAITING_ON.value_set(s.waiting_on.value),
                sa.STAGE_ENTERED_AT.value_set(s.stage_entered_at or workflow.now()),
            ]
        )
        await steps.call(
            "records.project_journey",
            JourneyProjection(
                workflow_id=workflow.info().workflow_id,
                learner_id=self._in.learner_id,
                school_id=self._in.school.id,
                city_code=self._in.school.city_code,
                vehicle_class=self._in.vehicle_class,
                coach_id=self._in.coach_id,
                stage=s.stage.value,
                status=s.status.value,
                waiting_on=s.waiting_on.value,
                stage_entered_at=s.stage_entered_at or workflow.now(),
                started_at=workflow.info().start_time,
                learner_no=s.learner_no,
                version=s.version,
            ),
        )
