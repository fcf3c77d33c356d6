"""Training as the journey lives it: records from the timing platform, the learner's
confirmations and disputes, practical bookings, no-shows, and what each costs.

The rules are in training.py (pure); this class applies them to the journey's state and runs
the side effects (bookings, national platform, escrow) as activities.
"""

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import deadlines, steps, training
from workflows.money import MoneyMover

with workflow.unsafe.imports_passed_through():
    from activities.bookings import (
        BookedSlot,
        BookSlot,
        CancelBooking,
        CancelledBooking,
        CompleteBooking,
        NoShow,
    )
    from activities.national import UploadRecord
    from workflows.journey_state import (
        Booking,
        BookSlotRequest,
        DisputeAnswer,
        DisputeRuling,
        JourneyInput,
        JourneyState,
        NoShowReport,
        RateStage,
        RecordDecision,
        RecordEntry,
        Review,
        TrainingRecord,
    )


class Practice:
    def __init__(
        self,
        inp: JourneyInput,
        state: JourneyState,
        money: MoneyMover,
        record: Callable[..., None],
        new_rules: Callable[[], bool],
        footprint: bool,
    ) -> None:
        self._in = inp
        self._new_rules = new_rules
        self._footprint = footprint
        self._s = state
        self._money = money
        self._record = record

    def _key(self, what: str) -> str:
        return f"{workflow.info().workflow_id}:{what}"

    # ---- theory-like subjects: counted by the platform, confirmed as a stage ------------------

    def theory_refusal(self, req: RateStage) -> str | None:
        p = self._s.subjects.get(req.subject)
        if p is None or not training.is_theory_like(req.subject):
            return "只有科目一和安全文明阶段按整个阶段确认"
        if p.stage_confirmed:
            return "该阶段已确认"
        if p.counted_minutes + p.carried_minutes < p.required_minutes:
            return "学时未满，不能确认"
        if p.classroom_minutes + p.carried_minutes < p.classroom_min_minutes:
            return "课堂教学学时不足"
        if not (1 <= req.school_stars <= 5 and 1 <= req.coach_stars <= 5):
            return "评分须为 1 至 5 星"
        return None

    async def confirm_theory_stage(self, req: RateStage) -> None:
        p = self._s.subjects[req.subject]
        p.rating = Review(req.school_stars, req.coach_stars, req.comment, workflow.now())
        p.stage_confirmed = True
        p.confirmed_minutes = p.counted_minutes
        for entry in self._s.records:
            if entry.subject == req.subject and entry.status == "pending":
                entry.status = "confirmed"
                await self._upload(entry)
        if req.subject == "theory":
            self._s.due.theory_fen = self._in.fees.theory_fen
        self._record(req.subject, "confirmed", f"{p.confirmed_minutes} 分钟")
        await self._money.release_due(f"stage-{req.subject}")

    # ---- records ------------------------------------------------------------------------------

    async def add_record(self, rec: TrainingRecord) -> None:
        if rec.subject not in self._s.subjects:
            return
        if self._record_status(rec.record_no) is not None:
            return  # the timing platform sent it again
        booking = self.find_booking(rec.session_id)
        if booking is not None and booking.status not in ("booked", "completed"):
            booking = None  # a cancelled booking earns nothing
        new_rules = self._new_rules()
        if new_rules and booking is not None and booking.status == "completed":
            booking = None  # one booked session, one record
        entry = training.count_record(
            self._s, self._in.policy, rec, booking, new_rules, self._footprint
        )
        entry.received_at = workflow.now()
        if self._footprint:
            self._s.records_received += 1
            entry.n = self._s.records_received
            day = training.day_key(entry.day, training.is_theory_like(entry.subject))
            self._s.day_minutes[day] = self._s.day_minutes.get(day, 0) + entry.counted_minutes
        self._s.records.append(entry)
        training.add_counted(self._s.subjects[rec.subject], entry)
        if booking is not None and booking.status == "booked":
            booking.status = "completed"
            await steps.call(
                "bookings.complete",
                CompleteBooking(booking.booking_id, rec.record_no),
                local=self._footprint,  # a short write to the bookings table
            )
        self._record(
            rec.subject,
            "record",
            f"{rec.record_no} {entry.counted_minutes}/{rec.valid_minutes} 分钟",
        )

    def record_refusal(self, req: RecordDecision) -> str | None:
        known = self._record_status(req.record_no)
        if known is None:
            return "没有该编号的培训记录"
        subject, status = known
        if training.is_theory_like(subject):
            return "理论学时在阶段确认时一并确认"
        if status != "pending":
            return f"该培训记录{RECORD_STATUS_TEXT[status]}"
        return None

    def _record_status(self, record_no: str) -> tuple[str, str] | None:
        """A record's subject and status, whether the state still holds it or only its note
        of it (settled and written, footprint rules)."""
        entry = self._find_record(record_no)
        if entry is not None:
            return entry.subject, entry.status
        settled = self._s.settled_records.get(record_no)
        return None if settled is None else (settled.subject, settled.status)

    async def decide_record(self, req: RecordDecision) -> None:
        entry = self._find_record(req.record_no)
        assert entry is not None
        if req.dispute_reason.strip():
            entry.status, entry.dispute_reason = "disputed", req.dispute_reason.strip()
            entry.disputed_at = workflow.now()
            self._record(
                entry.subject, "record_disputed", f"{entry.record_no} {req.dispute_reason}"
            )
            return
        await self._confirm(entry, "learner")

    async def _confirm(self, entry: RecordEntry, by: str) -> None:
        """The record is owed: the school earns its hours at the booked rate."""
        entry.status, entry.decided_by = "confirmed", by
        entry.paid_fen = training.record_cost_fen(entry)
        self._s.subjects[entry.subject].confirmed_minutes += entry.counted_minutes
        self._s.due.practical_fen += entry.paid_fen
        self._record(entry.subject, "record_confirmed", f"{entry.record_no} {by}")
        await self._money.release_due(f"record-{entry.record_no}")
        await self._upload(entry)

    def _void(self, entry: RecordEntry, by: str, reason: str) -> None:
        """The record is not owed: its minutes no longer count and nothing is paid for it."""
        entry.status, entry.decided_by = "voided", by
        training.remove_counted(self._s.subjects[entry.subject], entry)
        self._record(entry.subject, "record_voided", f"{entry.record_no} {reason}")

    # ---- disputes: the school answers, the regulator rules, deadlines decide the rest ---------

    def dispute_refusal(self, record_no: str, status: str) -> str | None:
        entry = self._find_record(record_no)
        if entry is None or entry.status != status:
            return "该培训记录没有待处理的异议"
        return None

    async def answer_dispute(self, req: DisputeAnswer) -> None:
        entry = self._find_record(req.record_no)
        assert entry is not None
        entry.answer = req.answer
        if req.concede:
            self._void(entry, req.staff_id, f"驾校认可异议：{req.answer}")
            return
        entry.status, entry.contested_at = "contested", workflow.now()
        self._record(entry.subject, "dispute_contested", f"{entry.record_no} {req.answer}")

    async def rule_dispute(self, req: DisputeRuling) -> None:
        entry = self._find_record(req.record_no)
        assert entry is not None
        if req.uphold_record:
            await self._confirm(entry, req.regulator_id)
        else:
            self._void(entry, req.regulator_id, f"监管部门裁定：{req.reason}")

    async def apply_deadlines(self) -> None:
        """Settles every record whose deadline has passed: a learner's silence confirms it, a
        school's or a regulator's silence decides for the learner."""
        timers = self._in.policy.timers
        for entry in self._s.records:
            due = deadlines.record_deadline(entry, timers)
            if due is None or due > workflow.now():
                continue
            if entry.status == "pending":
                await self._confirm(entry, "auto")
            elif entry.status == "disputed":
                self._void(entry, "auto", "驾校逾期未答复异议")
            else:
                self._void(entry, "auto", "监管部门逾期未裁决，按有利于学员处理")

    async def _upload(self, entry: RecordEntry) -> None:
        if entry.counted_minutes > 0:
            await steps.call(
                "national.upload_record",
                UploadRecord(
                    request_id=self._key(f"upload-{entry.record_no}"),
                    learner_no=self._s.learner_no,
                    record_no=entry.record_no,
                    subject=entry.subject,
                    valid_minutes=entry.counted_minutes,
                ),
            )

    def _find_record(self, record_no: str) -> RecordEntry | None:
        return next((r for r in self._s.records if r.record_no == record_no), None)

    # ---- bookings -----------------------------------------------------------------------------

    def find_booking(self, booking_id: str) -> Booking | None:
        return next((b for b in self._s.bookings if b.booking_id == booking_id), None)

    def booking(self, booking_id: str) -> Booking:
        found = self.find_booking(booking_id)
        assert found is not None
        return found

    async def book(self, req: BookSlotRequest) -> None:
        rules = self._in.policy.training
        # The booking's number, part of its key: a refused one leaves it to the next.
        n = (self._s.bookings_made if self._footprint else len(self._s.bookings)) + 1
        booked: BookedSlot = await steps.call(
            "bookings.book",
            BookSlot(
                booking_id=self._key(f"booking-{n}"),
                slot_id=req.slot_id,
                journey_id=workflow.info().workflow_id,
                learner_id=self._in.learner_id,
                school_id=self._in.school.id,
                subject=self._s.stage.value,
                now=workflow.now(),
                horizon_days=rules.booking_horizon_days,
                daily_cap_hours=rules.practical_daily_cap_hours,
                available_fen=training.available_fen(self._s),
            ),
            result_type=BookedSlot,
            interactive=True,
            local=self._footprint,  # one transaction on the bookings table; its answer is awaited
        )
        self._s.bookings.append(
            Booking(
                booking_id=booked.booking_id,
                slot_id=booked.slot_id,
                subject=booked.subject,
                kind=booked.kind,
                start=booked.start,
                end=booked.end,
                hours=booked.hours,
                rate_fen=booked.rate_fen,
                rate_kind=booked.rate_kind,
                coach_id=booked.coach_id,
                vehicle_id=booked.vehicle_id,
                coach_name=booked.coach_name,
                vehicle_plate=booked.vehicle_plate,
                n=n if self._footprint else 0,
            )
        )
        if self._footprint:
            self._s.bookings_made = n
        self._record(booked.subject, "booked", f"{booked.slot_id} {booked.rate_kind}")
        await steps.file_with_timing(self._in, self._s, booked, once=self._footprint)

    async def cancel(self, booking: Booking, by: str, reason: str, free: bool = False) -> None:
        """A learner's late cancellation costs the policy's fee; the school's costs nothing and
        credits the learner (unless the journey itself is ending: `free`)."""
        rules = self._in.policy.training
        outcome: CancelledBooking = await steps.call(
            "bookings.cancel",
            CancelBooking(
                booking_id=booking.booking_id,
                by=by,
                reason=reason,
                now=workflow.now(),
                cutoff_hours=rules.cancel_cutoff_hours,
                late_fee_pct=0 if free or by != "learner" else rules.late_cancel_fee_pct,
            ),
            result_type=CancelledBooking,
            interactive=by == "learner",
        )
        booking.status, booking.cancelled_by, booking.fee_fen = "cancelled", by, outcome.fee_fen
        self._s.due.fees_fen += outcome.fee_fen
        if by == "school" and not free:
            self._s.credit_fen += rules.school_cancel_credit_fen
        self._record(
            booking.subject,
            f"cancelled_by_{by}",
            f"{booking.booking_id} 费用 {outcome.fee_fen} 分 {reason}",
        )
        await self._money.release_due(f"cancel-{booking.booking_id}")

    async def close_at_end(self, booking: Booking, reason: str) -> None:
        """The journey is ending: a session still ahead is cancelled free of charge, one that
        has begun with no record is settled as missed. A refusal (say the record arrived at the
        bookings table first) is recorded; the journey still ends."""
        try:
            if booking.start > workflow.now():
                await self.cancel(booking, "school", reason, free=True)
            else:
                await self.no_show(NoShowReport(booking.booking_id, "platform"), at_end=True)
        except ActivityError as err:
            refusal = steps.business_reason(err)
            if refusal is None:
                raise
            self._record(booking.subject, "booking_unsettled", f"{booking.booking_id} {refusal}")

    async def no_show(self, req: NoShowReport, at_end: bool = False) -> None:
        booking = self.booking(req.booking_id)
        fee: int = await steps.call(
            "bookings.no_show",
            NoShow(
                booking.booking_id,
                self._in.policy.training.no_show_fee_pct,
                workflow.now(),
                begun_is_enough=at_end,
            ),
            result_type=int,
            interactive=not at_end,
        )
        booking.status, booking.fee_fen = "no_show", fee
        self._s.due.fees_fen += fee
        self._record(booking.subject, "no_show", f"{booking.booking_id} 费用 {fee} 分")
        await self._money.release_due(f"noshow-{booking.booking_id}")


RECORD_STATUS_TEXT = {
    "confirmed": "已确认",
    "disputed": "已提出异议，等待驾校答复",
    "contested": "已提出异议，等待监管部门裁决",
    "voided": "已作废",
}
