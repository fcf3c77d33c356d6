"""LearnerJourney: one durable workflow per enrolment, its stages in the guideline's order.

Learner, staff and regulator actions arrive as Updates (validated, answered at once);
subsystem results arrive as Signals from the webhook endpoints. Every side effect is an
activity whose idempotency key is derived from the workflow id, so retries and replays never
repeat one. Long journeys continue as new, carrying their state.
"""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

from workflows.journey_ids import journey_ids

with workflow.unsafe.imports_passed_through():
    from activities.bank import CancelOrder, CreateOrder
    from activities.national import RegisterLearner, WithdrawLearner
    from workflows.journey_state import (
        STAGE_NAMES,
        TRAINING_STAGES,
        BookExam,
        BookHealthCheck,
        BookSlotRequest,
        CancelBookingRequest,
        CancelExam,
        Channel,
        CoachChange,
        CoachChangeRequest,
        CreatePayment,
        DisputeAnswer,
        DisputeRuling,
        EndRequest,
        ExamResult,
        FollowupReview,
        HealthCheck,
        HealthResult,
        JourneyInput,
        JourneyResult,
        JourneyState,
        JourneyView,
        NoShowReport,
        PaymentCallback,
        PaymentOrder,
        RateStage,
        RecordDecision,
        Review,
        SchoolCancelled,
        SignContract,
        StaffDecision,
        Stage,
        StageReportAction,
        Status,
        StepOutcome,
        TrainingRecord,
        Transfer,
        UpdateOutcome,
        WaitingOn,
        Withdraw,
    )

from workflows import callbacks, deadlines, exams, repeats, steps, training
from workflows.money import MoneyMover
from workflows.practice import Practice
from workflows.projection import Projection

_Req = TypeVar("_Req")  # an Update's argument


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
        self._s = inp.resume or JourneyState(coach_id=inp.coach_id)
        self._lock = asyncio.Lock()
        # Decided once per run, at its start: a run begun before the footprint rules keeps the
        # old ways for its whole life (its next run, if any, takes the new ones).
        self._footprint = workflow.patched(FOOTPRINT_PATCH)
        if self._footprint:
            training.adopt_footprint(self._s)
        self._money = MoneyMover(inp, self._s)
        self._practice = Practice(
            inp, self._s, self._money, self._record, self._new_rules, self._footprint
        )
        self._projection = Projection(inp, self._s, self.view, self._footprint)

    # ---- the journey, read top to bottom -------------------------------------------------

    @workflow.run
    async def run(self, inp: JourneyInput) -> JourneyResult:
        try:
            if inp.resume is None:
                self._s.stage_entered_at = workflow.now()
                self._s.enrolled_at = workflow.now()
                await self._sign_up()
                await self._health_check()
                await self._in_person_signing()
                while self._health_expired():
                    self._record("health_check", "expired", "体检结果已过有效期，请重新体检")
                    await self._health_check()
                await self._contract()
                await self._payment()
                self._s.subjects = training.init_subjects(
                    inp.policy, inp.vehicle_class, inp.carried
                )
                if inp.carried is not None and inp.carried.permit_issued_at is not None:
                    self._s.permit_issued_at = inp.carried.permit_issued_at
            for stage in TRAINING_STAGES[
                TRAINING_STAGES.index(self._s.stage) if self._s.stage in TRAINING_STAGES else 0 :
            ]:
                if inp.resume is None or stage != self._s.stage:
                    await self._enter(stage, WaitingOn.learner)
                await self._train(stage.value)
            await self._graduate()
            await self._follow_up()
        except JourneyEnded as ended:
            await self._end(ended)
        except _ContinueAsNew:
            await workflow.wait_condition(workflow.all_handlers_finished)
            self._s.runs += 1
            workflow.continue_as_new(replace(self._in, resume=self._s))
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._footprint:
            await self._project()  # what the last handlers changed, into the closed view
        return self._result()

    def _result(self) -> JourneyResult:
        s = self._s
        return JourneyResult(
            status=s.status,
            stage=s.stage,
            end_reason=s.end_reason,
            learner_no=s.learner_no,
            certificate_no=s.certificate_no,
            archive=s.archive,
            transferred_to=s.transferred_to,
            money=s.money,
            runs=s.runs,
        )

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
            await self._await_pending_order()
        await self._money.on_enrolment()
        await self._issue_invoice()
        await steps.file_with_timing(self._in, self._s, once=self._footprint)

    async def _await_pending_order(self) -> None:
        order = self._pending_order()
        if order is None:
            return
        remaining = (order.expires_at - workflow.now()).total_seconds()
        try:
            await self._wait(lambda o=order: o.status != "pending", timeout=max(remaining, 1))
        except TimeoutError:
            await self._expire(order)

    async def _train(self, subject: str) -> None:
        """One subject: hours, then the stage report, then the exam (学时个个满，把住考试关)."""
        p = self._s.subjects[subject]
        while not p.exam.passed:
            if not p.exam.eligible:
                await self._set_waiting(WaitingOn.learner)
                await self._wait(lambda: self._stage_hours_done(p))
                await self._stage_report(subject)
            # Booking and result may land in one activation: count results, not bookings.
            sat = len(p.exam.results)
            if not p.exam.booking_id:
                await self._set_waiting(WaitingOn.learner)
            await self._wait(lambda sat=sat: len(p.exam.results) > sat or p.exam.passed)
            if exams.attempts_exhausted(self._s, self._in.policy, subject):
                raise JourneyEnded(Status.failed, f"{subject} 考试预约次数用尽，学习驾驶证明作废")
        self._record(subject, "passed", p.exam.passed_on)

    def _stage_hours_done(self, p) -> bool:  # type: ignore[no-untyped-def]
        if training.is_theory_like(p.subject):
            return p.stage_confirmed
        return training.hours_met(p)

    async def _stage_report(self, subject: str) -> None:
        """阶段报审: the school submits, the learner confirms, the regulator approves."""
        p = self._s.subjects[subject]
        report = p.report
        auto = self._in.policy.timers.stage_report_auto_approve
        while report.status != "approved":
            if not self._new_rules():
                await self._set_waiting(
                    WaitingOn.school if report.status in ("none", "rejected") else WaitingOn.learner
                )
                await self._wait(lambda: report.status == "confirmed")
            elif report.status != "confirmed":
                # Each hand may act while a read-model write is in flight: wait for any change,
                # never for one exact status that may already have passed.
                status = report.status
                await self._set_waiting(REPORT_WAITING_ON[REPORT_TURNS[status]])
                await self._wait(lambda status=status: report.status != status)
                continue
            await self._set_waiting(WaitingOn.regulator)
            try:
                await self._wait(lambda: report.status != "confirmed", timeout=auto or None)
            except TimeoutError:
                report.status, report.reviewed_by = "approved", "auto"
                self._record(subject, "report_auto_approved")
        await self._money.on_stage_approved(subject)
        await steps.push_eligibility(self._in, self._s, subject)
        p.exam.eligible = True
        self._exam_event(subject, "exam_open")

    async def _graduate(self) -> None:
        await self._enter(Stage.graduation, WaitingOn.platform)
        run = workflow.info().run_id.replace("-", "")[:8].upper()
        self._s.certificate_no = f"JY{workflow.now():%Y%m%d}{run}"
        new_rules = self._new_rules()
        if new_rules:
            for order in self._s.orders:  # an open top-up is not needed any more
                await self._expire(order)
        async with self._lock:
            await self._cancel_open_bookings("结业")
            if not new_rules:
                await self._money.settle("graduation", new_rules=False)
        if new_rules:
            await self._resolve_open_records()
            async with self._lock:
                await self._money.settle("graduation")
        if self._footprint:  # every record into the read model: the archive is made from it
            await self._projection.write(everything=True)
        self._s.archive = await steps.render_archive(self._in, self._s, self._footprint)
        await steps.report_graduation(self._in, self._s)
        self._record("graduation", "graduated", self._s.certificate_no)

    async def _follow_up(self) -> None:
        await self._enter(Stage.followup, WaitingOn.learner)
        try:
            await self._wait(
                lambda: self._s.followup_review is not None,
                timeout=self._in.policy.timers.followup_window,
            )
        except TimeoutError:
            self._record("followup", "window_closed")
        self._s.status = Status.completed
        await self._enter(Stage.closed, WaitingOn.nobody)

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
            if order.purpose == "tuition":
                await self._set_waiting(WaitingOn.learner)
        else:
            await self._book_payment(
                PaymentCallback(
                    order.order_id,
                    outcome.amount_fen,
                    outcome.bank_txn_id,
                    outcome.paid_at or workflow.now(),
                    outcome.account_id,
                    outcome.channel,
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
        new_rules = self._new_rules()
        what = ended.status.value
        async with self._lock:
            await self._cancel_open_bookings(
                "退学" if ended.status != Status.transferred else "转校"
            )
            if not new_rules:
                await self._money.settle(what, new_rules=False)
        if new_rules:
            # Everything not earned and not awaiting a record's settlement goes back now.
            open_records = deadlines.open_practical_records(self._s)
            if open_records:
                reserved = sum(training.record_cost_fen(r) for r in open_records)
                async with self._lock:
                    await self._money.refund_unreserved(what, reserved)
                await self._resolve_open_records()
            async with self._lock:
                await self._money.settle(what)
        if self._s.learner_no:
            await steps.call(
                "national.withdraw_learner",
                WithdrawLearner(self._key("withdraw"), self._s.learner_no),
            )
        request = self._s.end_requested
        if ended.status == Status.transferred and request and request.transfer_to is not None:
            await self._start_new_school_journey(request.transfer_to)
        self._record(self._s.stage.value, ended.status.value, ended.reason)
        await self._enter(Stage.closed, WaitingOn.nobody)

    async def _start_new_school_journey(self, new: JourneyInput) -> None:
        """转校: the new school's journey starts with the hours and passes carried over; it
        outlives this one (the parent closes, the child goes on)."""
        carried = training.carried_from(self._s, self._wf_id())
        for child_id in journey_ids(new.learner_id, new.school.id, new.vehicle_class):
            try:
                await workflow.start_child_workflow(
                    LearnerJourney.run,
                    replace(new, carried=carried),
                    id=child_id,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                continue  # an earlier enrolment (or this one: A→B→A) holds the id
            self._s.transferred_to = child_id
            return
        self._record("transfer", "refused", "转校次数已达上限")

    async def _cancel_open_bookings(self, reason: str) -> None:
        """At the end, future sessions are cancelled free of charge; sessions already begun
        are settled by the policy as missed (a refusal is recorded, never fatal)."""
        for booking in self._s.bookings:
            if booking.status != "booked":
                continue
            if self._new_rules():
                await self._practice.close_at_end(booking, reason)
            else:
                await self._practice.cancel(booking, "school", reason, free=True)

    # ---- updates: learner, staff and regulator actions -------------------------------------

    @workflow.update
    async def book_health_check(self, req: BookHealthCheck) -> UpdateOutcome:
        async with self._lock:
            if self._answered(
                repeats.health_booking(self._s, req), self._validate_book_health, req
            ):
                return self._health_booked(repeat=True)
            booking_id = self._key(f"health-{self._s.health.attempts + 1}")
            # A booking's key is spent only once the centre has taken it: a booking that failed
            # (the centre down, or its answer lost) is retried under the same key, so a centre
            # that did book and charge the first time is not asked a second time.
            keep_key = workflow.patched(HEALTH_BOOKING_PATCH)
            if not keep_key:
                self._s.health.attempts += 1
            await steps.book_health(self._in, booking_id, req)
            if keep_key:
                self._s.health.attempts += 1
            self._s.health.booking_id = booking_id
            self._s.health.centre_id = req.centre_id
            self._s.health.centre_name = req.centre_name
            self._s.health.slot = req.slot
            self._s.health.fee_fen = req.fee_fen
            self._record("health_check", "booked", f"{req.centre_id} {req.slot}")
            await self._set_waiting(WaitingOn.health_centre)
            return self._health_booked()

    @book_health_check.validator
    def _validate_book_health(self, req: BookHealthCheck) -> None:
        self._require_stage(Stage.health_check)
        if repeats.health_booking(self._s, req):
            return
        if self._s.health.booking_id:
            raise ValueError("已预约体检，请等待体检结果")
        if req.fee_fen <= 0:
            raise ValueError("体检费用必须大于零")

    @workflow.update
    async def approve_signing(self, decision: StaffDecision) -> UpdateOutcome:
        if self._repeat(bool(self._s.signing_approved_by)):
            return self._outcome("signing_approved", repeat=True)
        self._check_signing_open()
        self._s.signing_approved_by = decision.staff_id
        self._record("signing", "approved", decision.staff_id)
        return self._outcome("signing_approved")

    @approve_signing.validator
    def _validate_approve(self, decision: StaffDecision) -> None:
        self._require_active()
        if self._s.signing_approved_by:
            return  # approved already (the journey may have moved on): the same answer
        self._require_stage(Stage.signing)

    def _check_signing_open(self) -> None:
        """Approve and reject may pass their validators in one activation: the first handler
        decides, the second is refused."""
        if self._s.signing_approved_by or self._pending_end is not None:
            raise ApplicationError("面签已处理", type="AlreadyDecided")

    @workflow.update
    async def reject_signing(self, decision: StaffDecision) -> UpdateOutcome:
        reason = f"面签未通过：{decision.reason}"
        if self._repeat(repeats.end(self._s, Status.rejected, reason)):
            return self._outcome("signing_rejected", repeat=True)
        self._check_signing_open()
        self._fail_pending(Status.rejected, reason)
        self._record("signing", "rejected", decision.reason)
        return self._outcome("signing_rejected")

    @reject_signing.validator
    def _validate_reject(self, decision: StaffDecision) -> None:
        if repeats.end(self._s, Status.rejected, f"面签未通过：{decision.reason}"):
            return
        self._require_stage(Stage.signing)
        if not decision.reason.strip():
            raise ValueError("驳回时请填写理由")

    @workflow.update
    async def sign_contract(self, req: SignContract) -> UpdateOutcome:
        async with self._lock:
            if self._answered(repeats.signature(self._s, req), self._validate_sign, req):
                return self._outcome("contract_signed", repeat=True)
            self._s.contract.signed_at = workflow.now()
            self._s.contract.signed_sha256 = await steps.render_contract(
                self._in, self._s, req.signature_png_b64
            )
            self._s.contract.signature_sha256 = repeats.signature_digest(req)
            self._record("contract", "signed", self._s.contract.signed_sha256)
            return self._outcome("contract_signed")

    @sign_contract.validator
    def _validate_sign(self, req: SignContract) -> None:
        self._require_active()
        if repeats.signature(self._s, req):
            return  # signed with this signature (the journey may have moved on)
        self._require_stage(Stage.contract)
        if not self._s.contract.preview_sha256:
            raise ValueError("合同正在生成，请稍后再签")
        if self._s.contract.signed_sha256:
            raise ValueError("合同已签署")
        if not req.signature_png_b64:
            raise ValueError("请先手写签名")

    @workflow.update
    async def create_payment(self, req: CreatePayment) -> UpdateOutcome:
        async with self._lock:
            if self._answered(repeats.order(self._s, req), self._validate_payment, req):
                return self._order_created(repeat=True)
            topup = self._s.stage != Stage.payment
            amount = req.amount_fen if topup else self._s.tuition_fen - self._s.money.deposited_fen
            n = len(self._s.orders) + 1
            order_id = self._key(f"pay-{n}")
            pay_url = await self._money.create_order(
                CreateOrder(
                    order_id=order_id,
                    account_id=self._in.school.escrow_account,
                    payer_ref=self._wf_id(),
                    amount_fen=amount,
                    channel=req.channel,
                    description=f"{self._in.school.name} {self._in.vehicle_class} "
                    + ("培训费充值" if topup else "培训费"),
                )
            )
            expires = workflow.now() + timedelta(seconds=self._in.policy.timers.payment_expiry)
            self._s.orders.append(
                PaymentOrder(
                    order_id,
                    req.channel,
                    amount,
                    pay_url,
                    expires,
                    purpose="topup" if topup else "tuition",
                )
            )
            self._record("payment", "order_created", order_id)
            if not topup:
                await self._set_waiting(WaitingOn.bank)
            return self._order_created()

    @create_payment.validator
    def _validate_payment(self, req: CreatePayment) -> None:
        if self._s.stage not in (Stage.payment, *TRAINING_STAGES):
            self._require_stage(Stage.payment)
        self._require_active()
        if req.channel not in Channel.__members__:
            raise ValueError(f"支付渠道须为以下之一：{'、'.join(Channel.__members__)}")
        if repeats.order(self._s, req):
            return
        if self._pending_order() is not None:
            raise ValueError("已有待支付订单，请先完成支付或等待其过期")
        if self._s.stage == Stage.payment and self._s.money.deposited_fen >= self._s.tuition_fen:
            raise ValueError("学费已缴清")
        if self._s.stage != Stage.payment and req.amount_fen <= 0:
            raise ValueError("充值金额必须大于零")

    @workflow.update
    async def withdraw(self, req: Withdraw) -> UpdateOutcome:
        reason = f"学员退学：{req.reason}"
        repeat = repeats.end(self._s, Status.withdrawn, reason)
        self._s.withdraw_requested = req.reason
        self._fail_pending(Status.withdrawn, reason)
        return self._outcome("withdrawal_requested", repeat)

    @withdraw.validator
    def _validate_withdraw(self, req: Withdraw) -> None:
        if repeats.end(self._s, Status.withdrawn, f"学员退学：{req.reason}"):
            return
        self._require_active()
        if self._s.stage in (Stage.graduation, Stage.followup):
            raise ValueError("已结业，不能退学")
        if not req.reason.strip():
            raise ValueError("请填写理由")

    @workflow.update
    async def transfer(self, req: Transfer) -> UpdateOutcome:
        reason = f"转校：{req.reason}"
        repeat = repeats.end(self._s, Status.transferred, reason, req.new_journey)
        self._s.withdraw_requested = req.reason
        self._fail_pending(Status.transferred, reason, req.new_journey)
        return self._outcome("transfer_requested", repeat)

    @transfer.validator
    def _validate_transfer(self, req: Transfer) -> None:
        if repeats.end(self._s, Status.transferred, f"转校：{req.reason}", req.new_journey):
            return
        self._require_active()
        if self._s.stage not in TRAINING_STAGES:
            raise ValueError("缴费并开始培训后方可转校；此前请直接退学")
        if req.new_journey.school.id == self._in.school.id:
            raise ValueError("转入驾校不能与当前驾校相同")
        new = req.new_journey
        if (new.learner_id, new.applicant.id_number) != (
            self._in.learner_id,
            self._in.applicant.id_number,
        ):
            raise ValueError("转校须由同一学员本人办理")

    # Training: theory confirmation, practical bookings, records, coach changes.

    @workflow.update
    async def confirm_theory(self, req: RateStage) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.theory_confirmation(self._s, req)
            if not self._answered(repeat, self._validate_confirm_theory, req):
                await self._practice.confirm_theory_stage(req)
                await self._store_review(req.subject, self._s.subjects[req.subject].rating)
            return self._outcome("stage_confirmed", repeat)

    @confirm_theory.validator
    def _validate_confirm_theory(self, req: RateStage) -> None:
        self._require_stage(Stage(req.subject))
        if repeats.theory_confirmation(self._s, req):
            return
        refusal = self._practice.theory_refusal(req)
        if refusal:
            raise ValueError(refusal)

    @workflow.update
    async def rate_practical_stage(self, req: RateStage) -> UpdateOutcome:
        """科目二/科目三: the learner rates the school and the coach of the stage they are in,
        before confirming its report (the hours are confirmed record by record there); once,
        later changes are edits of the review. A new Update: recorded histories never call it."""
        async with self._lock:
            p = self._s.subjects[req.subject]
            repeat = p.rating is not None and _same_rating(p.rating, req)
            # Two different ratings at once both passed the validator: the second is refused.
            if not self._answered(repeat, self._validate_rate_practical_stage, req):
                p.rating = Review(req.school_stars, req.coach_stars, req.comment, workflow.now())
                self._record(req.subject, "rated", f"{req.school_stars}/{req.coach_stars} 星")
                await self._store_review(req.subject, p.rating)
            return self._outcome("stage_rated", repeat)

    @rate_practical_stage.validator
    def _validate_rate_practical_stage(self, req: RateStage) -> None:
        self._require_training()
        if req.subject not in ("field", "road"):
            raise ValueError("只有科目二、科目三在阶段报审前单独评价")
        if req.subject != self._s.stage.value:
            raise ValueError(f"只能评价当前阶段（{STAGE_NAMES[self._s.stage]}）")
        rating = self._s.subjects[req.subject].rating
        if rating is not None and not _same_rating(rating, req):
            raise ValueError("该阶段已评价；修改请编辑评价")
        if not (1 <= req.school_stars <= 5 and 1 <= req.coach_stars <= 5):
            raise ValueError("评分须为 1 至 5 星")

    @workflow.update
    async def book_slot(self, req: BookSlotRequest) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.booking(self._s, req)
            if not self._answered(repeat, self._validate_book_slot, req):
                await self._practice.book(req)
            booking = next(b for b in reversed(self._s.bookings) if b.slot_id == req.slot_id)
            return self._booking_outcome("slot_booked", booking.booking_id, repeat)

    @book_slot.validator
    def _validate_book_slot(self, req: BookSlotRequest) -> None:
        self._require_training()
        if repeats.booking(self._s, req):
            return
        if self._s.stage not in (Stage.field, Stage.road):
            raise ValueError("当前阶段无需预约实操训练")

    @workflow.update
    async def cancel_booking(self, req: CancelBookingRequest) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.booking_now(self._s, req.booking_id, "cancelled")
            if not self._answered(repeat, self._validate_cancel_booking, req):
                booking = self._practice.booking(req.booking_id)
                await self._practice.cancel(booking, "learner", req.reason or "学员取消")
            return self._booking_outcome("booking_cancelled", req.booking_id, repeat)

    @cancel_booking.validator
    def _validate_cancel_booking(self, req: CancelBookingRequest) -> None:
        self._require_training()
        if repeats.booking_now(self._s, req.booking_id, "cancelled"):
            return
        booking = self._practice.find_booking(req.booking_id)
        if booking is None or booking.status != "booked":
            raise ValueError("没有该编号的有效预约")

    @workflow.update
    async def confirm_record(self, req: RecordDecision) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.decision(self._s, req)
            if not self._answered(repeat, self._validate_confirm_record, req):
                await self._practice.decide_record(req)
            return self._record_outcome("record_decided", req.record_no, repeat)

    @confirm_record.validator
    def _validate_confirm_record(self, req: RecordDecision) -> None:
        # Records stay open to the learner while a withdrawal or graduation settles them.
        if self._s.stage not in (*TRAINING_STAGES, Stage.graduation):
            raise ValueError(f"当前阶段不能办理此项（当前阶段：{STAGE_NAMES[self._s.stage]}）")
        if repeats.decision(self._s, req):
            return
        refusal = self._practice.record_refusal(req)
        if refusal:
            raise ValueError(refusal)

    @workflow.update
    async def answer_dispute(self, req: DisputeAnswer) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.dispute_answer(self._s, req)
            if not self._answered(repeat, self._validate_answer_dispute, req):
                await self._practice.answer_dispute(req)
            return self._record_outcome("dispute_answered", req.record_no, repeat)

    @answer_dispute.validator
    def _validate_answer_dispute(self, req: DisputeAnswer) -> None:
        if repeats.dispute_answer(self._s, req):
            return
        refusal = self._practice.dispute_refusal(req.record_no, "disputed")
        if refusal:
            raise ValueError(refusal)
        if not req.answer.strip():
            raise ValueError("请填写答复意见")

    @workflow.update
    async def rule_dispute(self, req: DisputeRuling) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.ruling(self._s, req)
            if not self._answered(repeat, self._validate_rule_dispute, req):
                await self._practice.rule_dispute(req)
            return self._record_outcome("dispute_ruled", req.record_no, repeat)

    @rule_dispute.validator
    def _validate_rule_dispute(self, req: DisputeRuling) -> None:
        if repeats.ruling(self._s, req):
            return
        refusal = self._practice.dispute_refusal(req.record_no, "contested")
        if refusal:
            raise ValueError(refusal)
        if not req.reason.strip():
            raise ValueError("请填写裁决理由")

    @workflow.update
    async def report_no_show(self, req: NoShowReport) -> UpdateOutcome:
        async with self._lock:
            repeat = repeats.booking_now(self._s, req.booking_id, "no_show")
            if not self._answered(repeat, self._validate_no_show, req):
                await self._practice.no_show(req)
            return self._booking_outcome("no_show_reported", req.booking_id, repeat)

    @report_no_show.validator
    def _validate_no_show(self, req: NoShowReport) -> None:
        self._require_training()
        if repeats.booking_now(self._s, req.booking_id, "no_show"):
            return
        booking = self._practice.find_booking(req.booking_id)
        if booking is None or booking.status != "booked":
            raise ValueError("没有该编号的有效预约")
        if booking.end > workflow.now():
            raise ValueError("未到预约结束时间，不能登记缺席")

    @workflow.update
    async def request_coach_change(self, req: CoachChangeRequest) -> UpdateOutcome:
        if self._repeat(repeats.coach_request(self._s, req)):
            return self._coach_change_outcome("coach_change_requested", repeat=True)
        self._s.coach_change = CoachChange(req.coach_id, req.coach_name, req.reason)
        self._record("coach_change", "requested", req.coach_id)
        return self._coach_change_outcome("coach_change_requested")

    @request_coach_change.validator
    def _validate_coach_change(self, req: CoachChangeRequest) -> None:
        self._require_training()
        if repeats.coach_request(self._s, req):
            return
        if self._s.coach_change is not None and self._s.coach_change.status == "requested":
            raise ValueError("已有待审批的更换教练申请")
        if req.coach_id == self._s.coach_id:
            raise ValueError("该教练已是您的教练")

    @workflow.update
    async def decide_coach_change(self, decision: StageReportAction) -> UpdateOutcome:
        if self._repeat(repeats.coach_decision(self._s, decision)):
            return self._coach_change_outcome("coach_change_decided", repeat=True)
        change = self._s.coach_change
        assert change is not None
        change.status = "approved" if decision.approve else "rejected"
        change.decided_by = decision.actor_id
        if decision.approve:
            self._s.coach_id = change.coach_id
        self._record("coach_change", change.status, decision.reason)
        return self._coach_change_outcome("coach_change_decided")

    @decide_coach_change.validator
    def _validate_decide_coach(self, decision: StageReportAction) -> None:
        self._require_training()
        if repeats.coach_decision(self._s, decision):
            return
        if self._s.coach_change is None or self._s.coach_change.status != "requested":
            raise ValueError("没有待审批的更换教练申请")
        if not decision.approve and not decision.reason.strip():
            raise ValueError("驳回时请填写理由")

    # Stage report (阶段报审) and exams.

    @workflow.update
    async def stage_report(self, action: StageReportAction) -> UpdateOutcome:
        """One Update for the report's three hands; the validator checks whose turn it is."""
        report = self._s.subjects[action.subject].report
        if self._repeat(repeats.report_action(self._s, action)):
            return self._outcome("stage_report_acted", True, item_status=report.status)
        turn = REPORT_TURNS[report.status]
        if turn == "submit":
            report.status, report.submitted_by = "submitted", action.actor_id
            report.submitted_at, report.reason = workflow.now(), ""
        elif turn == "confirm":
            report.status = "confirmed"
        else:
            report.status = "approved" if action.approve else "rejected"
            report.reviewed_by, report.reason = action.actor_id, action.reason
        self._record(action.subject, f"report_{report.status}", action.reason)
        return self._outcome("stage_report_acted", item_status=report.status)

    @stage_report.validator
    def _validate_stage_report(self, action: StageReportAction) -> None:
        self._require_training()
        if action.subject != self._s.stage.value:
            raise ValueError(f"只能办理当前阶段（{STAGE_NAMES[self._s.stage]}）的科目")
        p = self._s.subjects[action.subject]
        if not self._stage_hours_done(p):
            raise ValueError("学时未满，不能报审")
        if repeats.report_action(self._s, action):
            return
        if p.report.status == "approved":
            raise ValueError("阶段报审已通过")
        turn = REPORT_TURNS[p.report.status]
        if action.role != REPORT_ROLES[turn]:
            raise ValueError(f"阶段报审当前等待{REPORT_WHO[turn]}处理")
        if not action.approve and not action.reason.strip():
            raise ValueError("驳回时请填写理由")

    @workflow.update
    async def book_exam(self, req: BookExam) -> UpdateOutcome:
        async with self._lock:
            if self._answered(repeats.exam_booking(self._s, req), self._validate_book_exam, req):
                return self._exam_booked(req.subject, repeat=True)
            await steps.book_exam(self._in, self._s, req)
            self._exam_event(req.subject, "exam_booked", req.exam_date)
            await self._set_waiting(WaitingOn.exam_centre)
            return self._exam_booked(req.subject)

    @book_exam.validator
    def _validate_book_exam(self, req: BookExam) -> None:
        self._require_training()
        if req.subject != self._s.stage.value:
            raise ValueError(f"只能办理当前阶段（{STAGE_NAMES[self._s.stage]}）的科目")
        try:
            exam_date = date.fromisoformat(req.exam_date)
        except ValueError as exc:
            raise ValueError("考试日期格式应为 YYYY-MM-DD") from exc
        if repeats.exam_booking(self._s, req):
            return
        refusal = exams.booking_refusal(
            self._s, self._in.policy, req.subject, exam_date, workflow.now()
        )
        if refusal:
            raise ValueError(refusal)

    @workflow.update
    async def cancel_exam(self, req: CancelExam) -> UpdateOutcome:
        async with self._lock:
            if self._answered(
                repeats.exam_cancellation(self._s, req), self._validate_cancel_exam, req
            ):
                return self._outcome("exam_cancelled", repeat=True)
            if not self._s.subjects[req.subject].exam.booking_id:
                raise ApplicationError("该科目没有待考的预约", type="NothingToCancel")
            await steps.cancel_exam(self._s, req.subject)
            self._exam_event(req.subject, "exam_cancelled")
            await self._set_waiting(WaitingOn.learner)
            return self._outcome("exam_cancelled")

    @cancel_exam.validator
    def _validate_cancel_exam(self, req: CancelExam) -> None:
        self._require_training()
        if repeats.exam_cancellation(self._s, req):
            return
        p = self._s.subjects.get(req.subject)
        if p is None or not p.exam.booking_id:
            raise ValueError("该科目没有待考的预约")

    @workflow.update
    async def add_followup_review(self, req: FollowupReview) -> UpdateOutcome:
        self._s.followup_review = Review(
            req.school_stars, req.coach_stars, req.comment, workflow.now()
        )
        self._record("followup", "reviewed", req.comment[:50])
        await self._store_review("followup", self._s.followup_review)
        return self._outcome("followup_reviewed")

    @add_followup_review.validator
    def _validate_followup(self, req: FollowupReview) -> None:
        self._require_stage(Stage.followup)
        if self._s.followup_review is not None:
            raise ValueError("已追评")
        for stars in (req.school_stars, req.coach_stars):
            if not 1 <= stars <= 5:
                raise ValueError("评分须为 1 至 5 星")

    async def _store_review(self, stage: str, review: Review | None) -> None:
        """Since REVIEWS_PATCH a rating also goes to the review table, where the index counts
        it and the learner edits it; the state keeps the first one (for a repeated click)."""
        if review is not None and workflow.patched(REVIEWS_PATCH):
            await steps.record_review(self._in, self._s, stage, review)

    # ---- signals: subsystem callbacks (duplicates are harmless) ------------------------------

    @workflow.signal
    async def health_result(self, result: HealthResult) -> None:
        if self._bad_data("health_check", callbacks.health_result_error(result)):
            return
        h = self._s.health
        if result.booking_id != h.booking_id or h.passed is not None:
            return
        h.passed, h.examined_at, h.reason = result.passed, result.examined_at, result.reason
        self._record("health_check", "passed" if result.passed else "failed", result.reason)

    @workflow.signal
    async def payment_callback(self, cb: PaymentCallback) -> None:
        if self._bad_data("payment", callbacks.payment_error(cb)):
            return
        async with self._lock:
            await self._book_payment(cb)

    async def _book_payment(self, cb: PaymentCallback) -> None:
        order = next((o for o in self._s.orders if o.order_id == cb.order_id), None)
        if workflow.patched(callbacks.PAYMENT_CHECK_PATCH):
            mismatch = callbacks.payment_mismatch(cb, order, self._in.school.escrow_account)
            if mismatch is not None:
                await self._refuse_payment(cb, order, mismatch)
                return
        if order is None or order.status in ("paid", "refused"):
            return
        order.status = "paid"
        await self._money.deposit(cb)
        self._record("payment", "paid", f"{cb.order_id} {cb.amount_fen}")
        # Paid twice, or after the journey moved on or ended: the surplus goes straight back.
        settled = self._s.status != Status.active or (
            self._s.stage in (Stage.graduation, Stage.followup, Stage.closed) and self._new_rules()
        )
        if settled or order.purpose == "tuition":
            collecting = self._s.stage == Stage.payment and self._s.status == Status.active
            await self._money.refund_surplus(cb, still_collecting=collecting)

    async def _refuse_payment(
        self, cb: PaymentCallback, order: PaymentOrder | None, mismatch: str
    ) -> None:
        """A payment that differs from the order the journey made (its id, amount, account or
        channel) is recorded, for the school and ops to see, and refused: not booked as paid.

        The callback is only a claim: what the bank itself took for the order decides, once per
        order (one paid or refused already has had its one payment). Taken as ordered (only the
        callback was wrong), it is booked from the bank's record; taken otherwise, it goes
        straight back to the learner and the order is refused (the learner pays anew); nothing
        taken, nothing moves and the order stays as it was (it may still be paid)."""
        self._record("payment", "refused", mismatch)
        if order is None:
            if cb.order_id in self._s.foreign_orders:
                return
            self._s.foreign_orders.append(cb.order_id)
        elif order.status in ("paid", "refused"):
            return
        taken = await self._money.find_payment(cb.order_id)
        if taken is None or taken.payer_ref != self._wf_id():
            self._record("payment", "nothing_held", cb.order_id)
            return
        as_taken = PaymentCallback(
            taken.order_id,
            taken.amount_fen,
            taken.bank_txn_id,
            taken.paid_at,
            taken.account_id,
            taken.channel,
        )
        escrow = self._in.school.escrow_account
        if order is not None and callbacks.payment_mismatch(as_taken, order, escrow) is None:
            await self._book_payment(as_taken)
            return
        if order is not None:
            order.status = "refused"
        returned = await self._money.return_refused(taken)
        self._record("payment", "returned" if returned else "nothing_held", cb.order_id)
        if order is not None and order.purpose == "tuition" and self._s.stage == Stage.payment:
            await self._set_waiting(WaitingOn.learner)

    @workflow.signal
    async def training_record(self, rec: TrainingRecord) -> None:
        if self._bad_data(rec.subject, callbacks.training_record_error(rec)):
            return
        async with self._lock:
            if self._s.status == Status.active and self._s.subjects:
                await self._practice.add_record(rec)

    @workflow.signal
    async def school_cancelled(self, req: SchoolCancelled) -> None:
        async with self._lock:
            booking = self._practice.find_booking(req.booking_id)
            if booking is not None and booking.status == "booked":
                try:
                    await self._practice.cancel(booking, "school", req.reason)
                except ActivityError as err:
                    # e.g. the session has already started: the booking stands.
                    self._record(booking.subject, "school_cancel_refused", str(err.cause))

    @workflow.signal
    async def exam_result(self, result: ExamResult) -> None:
        if self._bad_data("exam", callbacks.exam_result_error(result)):
            return
        subject = exams.subject_of(result.subject)
        p = self._s.subjects.get(subject)
        if p is None or result.booking_id != p.exam.booking_id:
            return
        p.exam.booking_id = ""
        p.exam.results.append(
            f"{result.exam_date} {'pass' if result.passed else 'fail'} "
            f"{'/'.join(map(str, result.scores))}"
        )
        if result.passed:
            p.exam.passed, p.exam.passed_on = True, result.exam_date
            if result.permit_issued_at and self._s.permit_issued_at is None:
                self._s.permit_issued_at = training.start_of_china_day(result.permit_issued_at)
        else:
            p.exam.last_failed_on = result.exam_date
        self._exam_event(
            subject, "exam_passed" if result.passed else "exam_failed", result.exam_date
        )

    def _bad_data(self, step: str, error: str | None) -> bool:
        """Records a callback whose data cannot be used; the journey goes on without it."""
        if error is not None:
            self._record(str(step)[:20], "bad_data", error)
        return error is not None

    # ---- what Updates answer -------------------------------------------------------------------

    def _outcome(self, action: str, repeat: bool = False, **what: Any) -> UpdateOutcome:
        """The answer to an Update: what it did and where the journey stands now. A repeat is
        answered from the state, as the first request was."""
        s = self._s
        return UpdateOutcome(
            action, s.stage.value, s.status.value, s.waiting_on.value, s.version, repeat, **what
        )

    def _health_booked(self, repeat: bool = False) -> UpdateOutcome:
        health = self._s.health
        return self._outcome("health_check_booked", repeat, booking_id=health.booking_id)

    def _order_created(self, repeat: bool = False) -> UpdateOutcome:
        order = self._pending_order() or self._s.orders[-1]
        return self._outcome(
            "order_created",
            repeat,
            order_id=order.order_id,
            pay_url=order.pay_url,
            amount_fen=order.amount_fen,
            expires_at=order.expires_at,
            item_status=order.status,
        )

    def _booking_outcome(self, action: str, booking_id: str, repeat: bool) -> UpdateOutcome:
        booking = self._practice.find_booking(booking_id) or self._s.closed_bookings[booking_id]
        return self._outcome(
            action,
            repeat,
            booking_id=booking_id,
            amount_fen=booking.fee_fen,
            item_status=booking.status,
        )

    def _record_outcome(self, action: str, record_no: str, repeat: bool) -> UpdateOutcome:
        entry = next((r for r in self._s.records if r.record_no == record_no), None)
        status = entry.status if entry else self._s.settled_records[record_no].status
        return self._outcome(action, repeat, record_no=record_no, item_status=status)

    def _coach_change_outcome(self, action: str, repeat: bool = False) -> UpdateOutcome:
        change = self._s.coach_change
        return self._outcome(action, repeat, item_status=change.status if change else "")

    def _exam_booked(self, subject: str, repeat: bool = False) -> UpdateOutcome:
        exam = self._s.subjects[subject].exam
        return self._outcome("exam_booked", repeat, booking_id=exam.booking_id)

    # ---- queries ------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> JourneyView:
        return JourneyView(
            workflow_id=self._wf_id(),
            learner_id=self._in.learner_id,
            school_id=self._in.school.id,
            city_code=self._in.school.city_code,
            vehicle_class=self._in.vehicle_class,
            coach_id=self._s.coach_id or self._in.coach_id,
            state=self._s,
        )

    # ---- plumbing ----------------------------------------------------------------------------

    def _wf_id(self) -> str:
        return workflow.info().workflow_id

    def _key(self, what: str) -> str:
        return f"{self._wf_id()}:{what}"

    def _new_rules(self) -> bool:
        """True for journeys that run the money-and-lifecycle rules (all new ones); never call
        it from a validator or a query."""
        return workflow.patched(LIFECYCLE_PATCH)

    def _require_active(self) -> None:
        s = self._s
        if s.status != Status.active or s.withdraw_requested or s.end_requested is not None:
            raise ValueError("旅程已结束")

    def _repeat(self, is_repeat: bool) -> bool:
        """True when an Update repeats what an identical one has already done (a second
        click): its handler answers with the state as it is, the first one's answer. Journeys
        recorded before this rule keep their old path."""
        return is_repeat and workflow.patched(DOUBLE_CLICK_PATCH)

    def _answered(self, is_repeat: bool, validate: Callable[[_Req], None], req: _Req) -> bool:
        """For a handler that waited for the lock: its validator passed before the handler
        holding the lock changed the state, so two clicks at once both passed. Under the lock:
        True when this one repeats what is done now (see `_repeat`); otherwise the validator
        runs again and a request that no longer holds (a conflicting one, a journey ending)
        is refused."""
        if self._repeat(is_repeat):
            return True
        try:
            validate(req)
        except ValueError as err:
            if workflow.patched(DOUBLE_CLICK_PATCH):
                raise ApplicationError(str(err), type="Conflict") from err
        return False

    def _require_stage(self, stage: Stage) -> None:
        self._require_active()
        if self._s.stage != stage:
            raise ValueError(f"当前阶段不能办理此项（当前阶段：{STAGE_NAMES[self._s.stage]}）")

    def _require_training(self) -> None:
        self._require_active()
        if self._s.stage not in TRAINING_STAGES:
            raise ValueError(f"当前阶段不能办理此项（当前阶段：{STAGE_NAMES[self._s.stage]}）")

    def _record(self, step: str, outcome: str, detail: str = "") -> None:
        self._s.steps.append(StepOutcome(step, outcome, workflow.now(), detail))
        self._s.version += 1

    def _exam_event(self, subject: str, event: str, detail: str = "") -> None:
        """An exam event, also kept as the subject's last (the timeline may be written away)."""
        self._s.subjects[subject].exam.last_event = event
        self._record(subject, event, detail)

    def _fail_pending(
        self, status: Status, reason: str, transfer_to: JourneyInput | None = None
    ) -> None:
        if self._s.end_requested is None:
            self._s.end_requested = EndRequest(status.value, reason, transfer_to)

    @property
    def _pending_end(self) -> "JourneyEnded | None":
        """The end asked for, kept in the state so that continuing as new carries it."""
        r = self._s.end_requested
        return None if r is None else JourneyEnded(Status(r.status), r.reason)

    def _pending_order(self) -> PaymentOrder | None:
        return next((o for o in self._s.orders if o.status == "pending"), None)

    async def _wait(
        self,
        done: Callable[[], bool],
        timeout: float | None = None,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        """Waits for `done`, leaving the stage sequence at once if the journey is ended, and
        ending it when the learning permit runs out or the enrolment lapses. Meanwhile every
        deadline that falls due is applied: orders expire, records settle.

        With `on_timeout`, a time-out calls it and returns; without, it raises TimeoutError.
        """
        if not self._new_rules():
            await self._wait_without_deadlines(done, timeout, on_timeout)
            return
        ends_at = workflow.now() + timedelta(seconds=timeout) if timeout is not None else None

        def finished() -> bool:
            return done() or self._pending_end is not None or self._history_full()

        while True:
            if self._projection.due():
                await self._project()
            # Sleep to the next moment that matters; an Update or Signal that adds or removes a
            # deadline (a new order, a new record) wakes the plan up, and so does a timeline
            # that should be written (footprint rules).
            planned = self._next_deadline(), self._permit_expiry()
            moments = [m for m in (ends_at, *planned) if m is not None]
            limit = max((min(moments) - workflow.now()).total_seconds(), 0.001) if moments else None
            try:
                await workflow.wait_condition(
                    lambda planned=planned: (
                        finished()
                        or (self._next_deadline(), self._permit_expiry()) != planned
                        or self._projection.due()
                    ),
                    timeout=limit,
                )
            except TimeoutError:
                await self._apply_deadlines()
                if finished():
                    break
                if ends_at is not None and ends_at <= workflow.now():
                    if on_timeout is None:
                        raise
                    on_timeout()
                    break
                continue
            if finished():
                break
        await self._after_wait(done)

    def _next_deadline(self) -> datetime | None:
        return deadlines.next_deadline(self._s, self._in.policy.timers)

    async def _apply_deadlines(self) -> None:
        now = workflow.now()
        expires = self._permit_expiry()
        # Timers fire to the millisecond: within a second of expiry is expiry.
        if expires is not None and (expires - now).total_seconds() < 1:
            raise JourneyEnded(Status.failed, "学习驾驶证明已过有效期，未完成的科目作废")
        lapse = deadlines.lapse_at(self._s, self._in.policy.timers)
        if lapse is not None and lapse <= now:
            raise JourneyEnded(Status.rejected, "报名后长期未推进，报名已失效")
        async with self._lock:
            for order in self._s.orders:
                if order.status == "pending" and order.expires_at <= now:
                    await self._expire_locked(order)
            await self._practice.apply_deadlines()

    async def _resolve_open_records(self) -> None:
        """At the end, records still open settle by the learner, the school, the regulator or
        their deadlines before the money is settled."""
        timers = self._in.policy.timers
        while (due := deadlines.next_record_deadline(self._s, timers)) is not None:
            try:
                await workflow.wait_condition(
                    lambda due=due: deadlines.next_record_deadline(self._s, timers) != due,
                    timeout=max((due - workflow.now()).total_seconds(), 0.001),
                )
            except TimeoutError:
                async with self._lock:
                    await self._practice.apply_deadlines()
            await self._project()

    async def _wait_without_deadlines(
        self,
        done: Callable[[], bool],
        timeout: float | None = None,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        """How journeys started before the deadline rules wait (kept for their replay)."""
        while True:
            permit_left = self._permit_seconds_left()
            limit = timeout if permit_left is None else min(timeout or permit_left, permit_left)
            try:
                await workflow.wait_condition(
                    lambda: done() or self._pending_end is not None or self._history_full(),
                    timeout=limit,
                )
            except TimeoutError:
                left = self._permit_seconds_left()
                # Timers fire to the millisecond: within a second of expiry is expiry.
                if left is not None and left < 1:
                    raise JourneyEnded(
                        Status.failed, "学习驾驶证明已过有效期，未完成的科目作废"
                    ) from None
                if timeout is None or limit != timeout:
                    continue
                if on_timeout is None:
                    raise
                on_timeout()
            break
        await self._after_wait(done)

    async def _after_wait(self, done: Callable[[], bool]) -> None:
        ended = self._pending_end
        if ended is not None:
            raise ended
        if self._history_full() and not done():
            raise _ContinueAsNew
        await self._project()

    def _permit_expiry(self) -> datetime | None:
        if self._s.stage not in TRAINING_STAGES:
            return None
        return exams.permit_expires(self._s, self._in.policy)

    def _permit_seconds_left(self) -> float | None:
        expires = self._permit_expiry()
        if expires is None:
            return None
        return max((expires - workflow.now()).total_seconds(), 0)

    def _history_full(self) -> bool:
        return (
            self._s.stage in TRAINING_STAGES
            and workflow.info().get_current_history_length() > self._in.history_limit
        )

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
        if self._s.waiting_on != waiting_on:
            self._s.waiting_on = waiting_on
            self._s.version += 1
        await self._project()

    async def _project(self) -> None:
        """Mirrors the state into search attributes and the read model, when it changed."""
        await self._projection.write()


class _ContinueAsNew(Exception):
    """The history is long: leave the run at a safe point and continue as new."""


# Whose turn it is on a stage report, by its status, and which role takes it.
REPORT_TURNS = {
    "none": "submit",
    "rejected": "submit",
    "submitted": "confirm",
    "confirmed": "review",
}
REPORT_ROLES = {"submit": "school_staff", "confirm": "learner", "review": "regulator"}
REPORT_WHO = {"submit": "驾校提交", "confirm": "学员确认", "review": "监管部门审核"}
REPORT_WAITING_ON = {
    "submit": WaitingOn.school,
    "confirm": WaitingOn.learner,
    "review": WaitingOn.regulator,
}
# Running journeys started before these rules replay the old code paths (workflow.patched).
LIFECYCLE_PATCH = "money-and-lifecycle-1"
DOUBLE_CLICK_PATCH = "double-click-answers-1"
# Journeys started under this one keep only what their decisions need (issue 9): the timeline,
# settled records and closed bookings go to the read model (workflows/projection.py).
FOOTPRINT_PATCH = "journey-footprint-1"
# Ratings are stored in the review table (issue 10), not only in the state.
REVIEWS_PATCH = "reviews-table-1"
# A failed health-check booking keeps its key for the learner's next try (issue 12, faults).
HEALTH_BOOKING_PATCH = "health-booking-key-1"


def _same_rating(rating: Review, req: RateStage) -> bool:
    return (rating.school_stars, rating.coach_stars, rating.comment) == (
        req.school_stars,
        req.coach_stars,
        req.comment,
    )
