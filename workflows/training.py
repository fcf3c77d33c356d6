"""The rules of training (学时), as pure functions of the journey's state and policy.

No Temporal calls here: the workflow applies these and performs the side effects, and tests
can check every rule directly.
"""

from datetime import UTC, datetime, timedelta, timezone

from policy.model import Policy
from workflows.documents_data import TrainingRecordLine
from workflows.journey_state import (
    THEORY_LIKE,
    Booking,
    CarriedHours,
    JourneyState,
    RecordEntry,
    SubjectProgress,
    TrainingRecord,
)

CHINA = timezone(timedelta(hours=8))
PRACTICAL_MODES = ("practical", "simulator")


def china_day(moment: datetime) -> str:
    """The China date of a moment; a naive one is taken as UTC, never as the worker's zone."""
    return utc(moment).astimezone(CHINA).date().isoformat()


def init_subjects(
    policy: Policy, vehicle_class: str, carried: CarriedHours | None
) -> dict[str, SubjectProgress]:
    h = policy.hours[vehicle_class]
    required = {
        "theory": (h.theory, h.theory_classroom_min),
        "field": (h.field, 0),
        "road": (h.road, 0),
        "safety": (h.safety, h.safety_classroom_min),
    }
    subjects = {}
    for subject, (hours, classroom_min) in required.items():
        p = SubjectProgress(subject, hours * 60, classroom_min * 60)
        if carried is not None:
            p.carried_minutes = carried.confirmed_minutes.get(subject, 0)
            if subject in carried.passed_subjects:
                p.exam.passed = True
                p.exam.passed_on = "carried"
        subjects[subject] = p
    return subjects


def is_theory_like(subject: str) -> bool:
    return subject in THEORY_LIKE


def hours_met(p: SubjectProgress) -> bool:
    """Theory-like subjects count what the timing platform validated (the learner confirms the
    stage as a whole); practical ones count only sessions the learner confirmed."""
    done = p.counted_minutes if is_theory_like(p.subject) else p.confirmed_minutes
    classroom_ok = p.classroom_minutes + p.carried_minutes >= p.classroom_min_minutes
    return done + p.carried_minutes >= p.required_minutes and classroom_ok


def count_record(
    state: JourneyState,
    policy: Policy,
    rec: TrainingRecord,
    booking: Booking | None,
    within_booking: bool = True,
    footprint: bool = False,
) -> RecordEntry:
    """How many of a record's valid minutes count, after the daily cap and the remote limit.

    Invalid minutes (failed face match, off-area) never count. A practical record with no
    booking on the platform counts nothing: it was not trained under the contract.
    """
    rules = policy.training
    theory_like = is_theory_like(rec.subject)
    day = china_day(rec.start)
    cap = (rules.theory_daily_cap_hours if theory_like else rules.practical_daily_cap_hours) * 60
    used = minutes_used(state, day, theory_like, footprint)
    counted = min(max(rec.valid_minutes, 0), max(cap - used, 0))
    reason = rec.invalid_reason
    p = state.subjects[rec.subject]
    if rec.mode == "remote":
        remote_allowed = p.required_minutes - p.classroom_min_minutes - p.remote_minutes
        counted = min(counted, max(remote_allowed, 0))
    if not theory_like and booking is None:
        counted, reason = 0, reason or "无平台预约记录，不计学时"
    if within_booking and booking is not None and counted > booking.hours * 60:
        counted, reason = booking.hours * 60, reason or "超出预约时长的部分不计"
    if counted < rec.valid_minutes and not reason:
        reason = "超过每日学时上限或远程学时上限，超出部分不计"
    return RecordEntry(
        record_no=rec.record_no,
        session_id=rec.session_id,
        subject=rec.subject,
        mode=rec.mode,
        day=day,
        start=rec.start,
        end=rec.end,
        valid_minutes=rec.valid_minutes,
        counted_minutes=counted,
        invalid_minutes=rec.invalid_minutes,
        invalid_reason=reason,
        rate_fen=booking.rate_fen if booking is not None else 0,
    )


def day_key(day: str, theory_like: bool) -> str:
    return f"{day}:{'theory' if theory_like else 'practical'}"


def minutes_used(state: JourneyState, day: str, theory_like: bool, footprint: bool) -> int:
    """Minutes already counted on a China day toward its cap (theory-like or practical). Under
    the footprint rules the state keeps the sums, not every record."""
    if footprint:
        return state.day_minutes.get(day_key(day, theory_like), 0)
    return sum(
        r.counted_minutes
        for r in state.records
        if r.day == day and is_theory_like(r.subject) == theory_like
    )


def adopt_footprint(state: JourneyState) -> None:
    """A run taking over a state carried from a run before the footprint rules: its day sums
    and its booking count, from the records and bookings it still holds in full."""
    if not state.day_minutes:
        for r in state.records:
            key = day_key(r.day, is_theory_like(r.subject))
            state.day_minutes[key] = state.day_minutes.get(key, 0) + r.counted_minutes
    state.bookings_made = max(state.bookings_made, len(state.bookings))
    state.records_received = max(state.records_received, len(state.records))


def training_lines(
    records: list[RecordEntry], bookings: list[Booking], coach_name: str
) -> list[TrainingRecordLine]:
    """The archive's lines (电子教学日志): a practical record's session is its booking, with
    that session's coach and car; other lessons are the learner's own coach's."""
    sessions = {b.booking_id: b for b in bookings}
    return [_line(r, sessions.get(r.session_id), coach_name) for r in records]


def _line(r: RecordEntry, session: Booking | None, coach_name: str) -> TrainingRecordLine:
    return TrainingRecordLine(
        record_no=r.record_no,
        subject=r.subject,
        mode=r.mode,
        start=r.start.isoformat(),
        end=r.end.isoformat(),
        total_minutes=r.valid_minutes + r.invalid_minutes,
        valid_minutes=r.counted_minutes,
        invalid_minutes=r.invalid_minutes,
        invalid_reason=r.invalid_reason,
        coach_name=session.coach_name if session else coach_name,
        vehicle_plate=session.vehicle_plate if session else "",
        status=r.status,
        rate_fen=r.rate_fen,
        paid_fen=r.paid_fen,
    )


def add_counted(p: SubjectProgress, entry: RecordEntry) -> None:
    p.counted_minutes += entry.counted_minutes
    if entry.mode == "remote":
        p.remote_minutes += entry.counted_minutes
    elif entry.mode == "classroom":
        p.classroom_minutes += entry.counted_minutes


def remove_counted(p: SubjectProgress, entry: RecordEntry) -> None:
    p.counted_minutes -= entry.counted_minutes
    if entry.mode == "remote":
        p.remote_minutes -= entry.counted_minutes
    elif entry.mode == "classroom":
        p.classroom_minutes -= entry.counted_minutes


def record_cost_fen(entry: RecordEntry) -> int:
    """What a confirmed practical record earns the school: counted hours at the booked rate."""
    return entry.counted_minutes * entry.rate_fen // 60


def committed_fen(state: JourneyState) -> int:
    """Escrow already spoken for: booked sessions not yet trained, records not yet confirmed."""
    booked = sum(b.hours * b.rate_fen for b in state.bookings if b.status == "booked")
    pending = sum(
        record_cost_fen(r)
        for r in state.records
        if r.status in ("pending", "disputed", "contested")
    )
    return booked + pending


def unreleased_due_fen(state: JourneyState) -> int:
    return max(state.due.total_fen - state.credit_fen - state.money.released_fen, 0)


def available_fen(state: JourneyState) -> int:
    """What a new booking may still use: the learner's money in escrow (whether still held or
    released ahead under a staged model) less what training has earned or committed."""
    m = state.money
    earned = state.due.total_fen - state.credit_fen
    return m.deposited_fen - m.refunded_fen - earned - committed_fen(state)


def carried_from(state: JourneyState, journey_id: str) -> CarriedHours:
    minutes = {}
    for subject, p in state.subjects.items():
        done = p.counted_minutes if is_theory_like(subject) else p.confirmed_minutes
        minutes[subject] = done + p.carried_minutes
    return CarriedHours(
        from_journey=journey_id,
        confirmed_minutes=minutes,
        passed_subjects=[s for s, p in state.subjects.items() if p.exam.passed],
        permit_issued_at=state.permit_issued_at,
    )


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_of_china_day(iso_date: str) -> datetime:
    """An ISO date (as 12123 reports it) as the moment that day began in China."""
    day = datetime.fromisoformat(iso_date).date()
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)
