"""The journey's deadlines, as pure functions of its state and policy: unpaid orders,
practical records awaiting the learner, disputes awaiting the school or the regulator, and an
enrolment that makes no progress before training. The workflow sleeps until the next one and
applies what has fallen due."""

from datetime import datetime, timedelta

from policy.model import Timers
from workflows.journey_state import JourneyState, RecordEntry, Stage
from workflows.training import is_theory_like

BEFORE_TRAINING = (Stage.health_check, Stage.contract, Stage.payment)
OPEN_RECORD = ("pending", "disputed", "contested")


def _after(start: datetime, seconds: int) -> datetime:
    return start + timedelta(seconds=seconds)


def record_deadline(entry: RecordEntry, timers: Timers) -> datetime | None:
    """When an open practical record settles by itself: confirmed when the learner let the
    window pass, voided when the school or the regulator did."""
    if is_theory_like(entry.subject):
        return None  # confirmed with the whole stage
    if entry.status == "pending" and timers.record_confirm_window > 0:
        return _after(entry.received_at or entry.end, timers.record_confirm_window)
    if entry.status == "disputed":
        return _after(entry.disputed_at or entry.end, timers.dispute_answer_window)
    if entry.status == "contested":
        return _after(entry.contested_at or entry.end, timers.dispute_decision_window)
    return None


def lapse_at(state: JourneyState, timers: Timers) -> datetime | None:
    if state.stage not in BEFORE_TRAINING or timers.enrolment_lapse <= 0:
        return None
    if state.stage_entered_at is None:
        return None
    return _after(state.stage_entered_at, timers.enrolment_lapse)


def next_record_deadline(state: JourneyState, timers: Timers) -> datetime | None:
    return min(
        (d for r in state.records if (d := record_deadline(r, timers)) is not None),
        default=None,
    )


def next_deadline(state: JourneyState, timers: Timers) -> datetime | None:
    moments = [o.expires_at for o in state.orders if o.status == "pending"]
    for moment in (next_record_deadline(state, timers), lapse_at(state, timers)):
        if moment is not None:
            moments.append(moment)
    return min(moments, default=None)


def open_practical_records(state: JourneyState) -> list[RecordEntry]:
    return [r for r in state.records if r.status in OPEN_RECORD and not is_theory_like(r.subject)]
