"""Checks on the data subsystems send: a bad callback is recorded and ignored, never allowed to
raise inside a signal handler (which would fail the workflow task over and over).

The webhook endpoints validate the same things first; these guard the workflow itself.
"""

from datetime import date, datetime

from workflows.journey_state import (
    EXAM_SUBJECT,
    ExamResult,
    HealthResult,
    PaymentCallback,
    PaymentOrder,
    TrainingRecord,
)

# Journeys (and late-payment refunds) started before this check payments against their order
# (issue 12) replay without it (workflow.patched); one that differs is refused and handed back.
PAYMENT_CHECK_PATCH = "payment-check-1"
RECORD_MODES = ("classroom", "remote", "practical", "simulator")
MAX_SESSION_MINUTES = 24 * 60


def _naive(moment: object) -> bool:
    return not isinstance(moment, datetime) or moment.utcoffset() is None


def _not_iso_date(value: object) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return True
    return False


def health_result_error(r: HealthResult) -> str | None:
    if _naive(r.examined_at):
        return "体检时间缺少时区"
    return None


def exam_result_error(r: ExamResult) -> str | None:
    if r.subject not in EXAM_SUBJECT.values():
        return f"考试科目无效：{r.subject}"
    if _not_iso_date(r.exam_date):
        return "考试日期格式无效"
    if r.permit_issued_at is not None and _not_iso_date(r.permit_issued_at):
        return "学习驾驶证明日期格式无效"
    if any(not isinstance(s, int) or not 0 <= s <= 100 for s in r.scores):
        return "考试成绩无效"
    return None


def training_record_error(r: TrainingRecord) -> str | None:
    if _naive(r.start) or _naive(r.end):
        return "培训记录时间缺少时区"
    if r.mode not in RECORD_MODES:
        return f"培训方式无效：{r.mode}"
    span = (r.end - r.start).total_seconds() / 60
    if not 0 <= r.valid_minutes <= MAX_SESSION_MINUTES or r.invalid_minutes < 0:
        return "培训分钟数无效"
    if span < 0 or r.valid_minutes + r.invalid_minutes > span + 1:
        return "培训分钟数超过起止时间"
    return None


def payment_error(cb: PaymentCallback) -> str | None:
    if _naive(cb.paid_at):
        return "支付时间缺少时区"
    if cb.amount_fen <= 0:
        return "支付金额无效"
    return None


def payment_mismatch(
    cb: PaymentCallback, order: PaymentOrder | None, account_id: str
) -> str | None:
    """How a payment differs from the order the journey made for it (into `account_id`, its
    school's escrow account), or None when it is what was asked for."""
    if order is None:
        return f"订单 {cb.order_id} 不是本学员的订单"
    wrong = [
        f"{what}（订单：{asked}，实付：{paid}）"
        for what, asked, paid in (
            ("金额（分）", order.amount_fen, cb.amount_fen),
            ("收款账户", account_id, cb.account_id),
            ("支付渠道", order.channel, cb.channel),
        )
        if asked != paid
    ]
    return f"订单 {cb.order_id} 支付与订单不符：{'；'.join(wrong)}" if wrong else None
