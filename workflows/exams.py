"""The exam rules (公安部令第162号) as pure functions: when a subject's exam may be booked, and
what a result means for the journey."""

from datetime import date, datetime, timedelta

from policy.model import Policy
from workflows.journey_state import EXAM_SUBJECT, JourneyState, Subject
from workflows.training import CHINA, hours_met

LIMITED = (Subject.field, Subject.road)  # at most `max_bookings` per permit, 10-day wait


def permit_expires(state: JourneyState, policy: Policy) -> datetime | None:
    if state.permit_issued_at is None:
        return None
    return state.permit_issued_at + timedelta(seconds=policy.exams.permit_validity)


def booking_refusal(
    state: JourneyState, policy: Policy, subject: str, exam_date: date, now: datetime
) -> str | None:
    """Why this exam may not be booked on `exam_date`, or None when it may."""
    p = state.subjects[subject]
    rules = policy.exams
    if p.exam.passed:
        return "该科目已考试合格"
    if not hours_met(p):
        return "学时未满，不能预约考试（学时个个满，把住考试关）"
    if not p.exam.eligible:
        return "阶段报审尚未通过，考试未开放"
    if p.exam.booking_id:
        return "已有待考的预约"
    today = now.astimezone(CHINA).date()
    if exam_date < today:
        return "考试日期不能早于今天"
    if exam_date > today + timedelta(days=rules.booking_horizon_days):
        return f"考试日期须在 {rules.booking_horizon_days} 天以内"
    if subject != Subject.theory:
        if state.permit_issued_at is None:
            return "科目一合格取得学习驾驶证明后方可预约"
        wait = timedelta(seconds=rules.earliest_after_permit.get(subject, 0))
        if datetime.combine(exam_date, datetime.max.time(), CHINA) < state.permit_issued_at + wait:
            return f"须在取得学习驾驶证明 {wait.days} 天后预约"
        expires = permit_expires(state, policy)
        if (
            expires is not None
            and datetime.combine(exam_date, datetime.min.time(), CHINA) > expires
        ):
            return "考试日期超出学习驾驶证明有效期"
    if subject in LIMITED:
        if p.exam.bookings >= rules.max_bookings:
            return f"本学习驾驶证明有效期内该科目已预约考试 {rules.max_bookings} 次"
        if p.exam.last_failed_on:
            earliest = datetime.fromisoformat(p.exam.last_failed_on).date() + timedelta(
                seconds=rules.retake_wait
            )
            if exam_date < earliest:
                return f"考试不合格后须于 {earliest.isoformat()} 及以后重新预约"
    return None


def subject_of(exam_no: int) -> str:
    return next(s.value for s, n in EXAM_SUBJECT.items() if n == exam_no)


def attempts_exhausted(state: JourneyState, policy: Policy, subject: str) -> bool:
    p = state.subjects[subject]
    return subject in LIMITED and not p.exam.passed and p.exam.bookings >= policy.exams.max_bookings
