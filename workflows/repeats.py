"""Whether an Update repeats what an identical one has already done (a second click, a retry
under a new id): pure functions of the journey's state.

A repeat is answered with the journey as it is, the first one's answer; a request that differs
(another channel, another centre, another signature) is not a repeat and meets the refusals.
"""

import hashlib

from workflows.journey_state import (
    BookExam,
    BookHealthCheck,
    BookSlotRequest,
    CancelExam,
    CoachChangeRequest,
    CreatePayment,
    DisputeAnswer,
    DisputeRuling,
    EndRequest,
    JourneyInput,
    JourneyState,
    RateStage,
    RecordDecision,
    RecordEntry,
    SettledRecord,
    SignContract,
    Stage,
    StageReportAction,
    Status,
)
from workflows.training import is_theory_like

# Who took a stage report to each status, and whether they approved.
REPORT_LAST_HAND = {
    "submitted": ("school_staff", True),
    "confirmed": ("learner", True),
    "approved": ("regulator", True),
    "rejected": ("regulator", False),
}


def signature_digest(req: SignContract) -> str:
    return hashlib.sha256(req.signature_png_b64.encode()).hexdigest()


def health_booking(s: JourneyState, req: BookHealthCheck) -> bool:
    h = s.health
    return bool(h.booking_id) and (h.centre_id, h.slot) == (req.centre_id, req.slot)


def signature(s: JourneyState, req: SignContract) -> bool:
    c = s.contract
    return bool(c.signed_sha256) and c.signature_sha256 == signature_digest(req)


def order(s: JourneyState, req: CreatePayment) -> bool:
    """An order like this one waits to be paid: the tuition on the same channel, or a top-up
    of the same amount on it."""
    pending = next((o for o in s.orders if o.status == "pending"), None)
    if pending is None or pending.channel != req.channel:
        return False
    return s.stage == Stage.payment or pending.amount_fen == req.amount_fen


def end(
    s: JourneyState, status: Status, reason: str, transfer_to: JourneyInput | None = None
) -> bool:
    """This end (withdrawal, transfer, rejection) is the one already asked for."""
    return s.end_requested == EndRequest(status.value, reason, transfer_to)


def theory_confirmation(s: JourneyState, req: RateStage) -> bool:
    """The stage is confirmed already, with this very rating."""
    p = s.subjects.get(req.subject)
    if p is None or not p.stage_confirmed or p.rating is None:
        return False
    given = (p.rating.school_stars, p.rating.coach_stars, p.rating.comment)
    return given == (req.school_stars, req.coach_stars, req.comment)


def booking(s: JourneyState, req: BookSlotRequest) -> bool:
    """The journey holds this slot already."""
    return any(b.slot_id == req.slot_id and b.status == "booked" for b in s.bookings)


def booking_now(s: JourneyState, booking_id: str, status: str) -> bool:
    """The booking is already where this Update would take it (cancelled, no-show)."""
    closed = s.closed_bookings.get(booking_id)
    return any(b.booking_id == booking_id and b.status == status for b in s.bookings) or (
        closed is not None and closed.status == status
    )


def _record(s: JourneyState, record_no: str) -> RecordEntry | SettledRecord | None:
    """The record, or the note the state keeps of it once settled and written."""
    entry = next((r for r in s.records if r.record_no == record_no), None)
    return entry or s.settled_records.get(record_no)


def decision(s: JourneyState, req: RecordDecision) -> bool:
    """The record is already confirmed, or disputed for this very reason."""
    entry = _record(s, req.record_no)
    if entry is None or is_theory_like(entry.subject):
        return False
    reason = req.dispute_reason.strip()
    if reason:
        return isinstance(entry, RecordEntry) and (entry.status, entry.dispute_reason) == (
            "disputed",
            reason,
        )
    return entry.status == "confirmed"


def dispute_answer(s: JourneyState, req: DisputeAnswer) -> bool:
    """The school has given this answer already: conceded, or contested before the regulator."""
    entry = _record(s, req.record_no)
    if entry is None or entry.answer != req.answer:
        return False
    if req.concede:
        return (entry.status, entry.decided_by) == ("voided", req.staff_id)
    if isinstance(entry, SettledRecord):
        return entry.contested
    return entry.contested_at is not None


def ruling(s: JourneyState, req: DisputeRuling) -> bool:
    entry = _record(s, req.record_no)
    outcome = "confirmed" if req.uphold_record else "voided"
    return entry is not None and (entry.status, entry.decided_by) == (outcome, req.regulator_id)


def coach_request(s: JourneyState, req: CoachChangeRequest) -> bool:
    c = s.coach_change
    return c is not None and (c.status, c.coach_id, c.reason) == (
        "requested",
        req.coach_id,
        req.reason,
    )


def coach_decision(s: JourneyState, action: StageReportAction) -> bool:
    c = s.coach_change
    return c is not None and c.status == ("approved" if action.approve else "rejected")


def report_action(s: JourneyState, action: StageReportAction) -> bool:
    """The stage report's last step was this role's, decided the same way."""
    report = s.subjects[action.subject].report
    return REPORT_LAST_HAND.get(report.status) == (action.role, action.approve)


def exam_booking(s: JourneyState, req: BookExam) -> bool:
    p = s.subjects.get(req.subject)
    return p is not None and bool(p.exam.booking_id) and p.exam.exam_date == req.exam_date


def exam_cancellation(s: JourneyState, req: CancelExam) -> bool:
    """No exam is booked and the subject's last exam event was a cancellation (states carried
    from before the exam kept its last event: the timeline they hold in full says)."""
    p = s.subjects.get(req.subject)
    if p is None or p.exam.booking_id:
        return False
    if p.exam.last_event:
        return p.exam.last_event == "exam_cancelled"
    events = (step.outcome for step in reversed(s.steps) if step.step == req.subject)
    return next((e for e in events if e.startswith("exam_")), "") == "exam_cancelled"
