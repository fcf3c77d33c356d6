"""Issue 9, one journey's footprint: what the read model has been given leaves the journey's
state (the timeline, settled records, closed bookings), and the journey's decisions stay what
they were: a record sent again counts once, a day at its cap stays there, a repeated action
gets the first answer. The view people see still has everything (the log put back)."""

from datetime import timedelta

from temporalio.client import WorkflowHandle

from tests.factories import current_view, until
from tests.workflows.conftest import Harness
from tests.workflows.drive import (
    book,
    finish_subject,
    next_hour,
    send_record,
    to_field,
    to_training,
)
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    CancelBookingRequest,
    JourneyState,
    RecordDecision,
    TrainingRecord,
)
from workflows.projection import FLUSH_AT


async def held_state(h: Harness, handle: WorkflowHandle, ready: object) -> JourneyState:
    """The state the journey itself holds (its query alone, without the read model), once
    `ready` holds for it."""
    own = h.env.client.get_workflow_handle(handle.id)
    return (await until(own, ready)).state  # type: ignore[arg-type]


async def test_settled_records_and_closed_bookings_leave_the_state_and_stay_known(
    harness: Harness,
) -> None:
    handle = await to_field(harness)
    ahead = await next_hour(harness, days=3, hour=14)
    cancelled = await book(harness, handle, ahead)  # two days ahead: cancelled free of charge
    await handle.execute_update(LearnerJourney.cancel_booking, CancelBookingRequest(cancelled))
    await finish_subject(harness, handle, "field")

    held = await held_state(
        harness, handle, lambda v: v.state.stage == "road" and not v.state.bookings
    )
    full = (await current_view(handle)).state
    field = [r for r in full.records if r.subject == "field"]
    assert len(field) == 4 and {r.status for r in field} == {"confirmed"}
    assert [b.status for b in full.bookings] == ["cancelled", *["completed"] * 4]
    assert held.records == [] and len(held.steps) < FLUSH_AT <= len(full.steps)
    assert set(held.settled_records) == {r.record_no for r in full.records}
    assert set(held.closed_bookings) == {b.booking_id for b in full.bookings}

    ledger = harness.ledger(handle.id)
    first = field[0]
    # The timing platform sends a record again: the journey knows it, nothing counts twice.
    await handle.signal(
        LearnerJourney.training_record,
        TrainingRecord(
            first.record_no,
            first.session_id,
            "field",
            "practical",
            first.start,
            first.end,
            first.valid_minutes,
        ),
    )
    # The learner confirms it again, and cancels the cancelled booking again (retries): each
    # gets the first answer, not a refusal.
    confirmed = await handle.execute_update(
        LearnerJourney.confirm_record, RecordDecision(first.record_no)
    )
    assert (confirmed.repeat, confirmed.item_status) == (True, "confirmed")
    again = await handle.execute_update(
        LearnerJourney.cancel_booking, CancelBookingRequest(cancelled)
    )
    assert (again.repeat, again.item_status, again.amount_fen) == (True, "cancelled", 0)
    after = (await current_view(handle)).state
    assert after.records == full.records and after.subjects == full.subjects
    assert harness.ledger(handle.id) == ledger
    harness.assert_ledger_matches_bank(handle.id, held=after.money.held_fen)
    await harness.keep_history(handle, "footprint_written_away")


async def test_a_day_at_its_cap_stays_there_once_its_records_leave_the_state(
    harness: Harness,
) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await held_state(harness, handle, lambda v: v.state.stage == "field" and not v.state.records)
    first = (await current_view(handle)).state.records[0]
    assert first.counted_minutes == 240  # the policy's daily cap for theory: four hours
    # A lesson of that same day, reported late: the day is full, it counts nothing.
    morning = first.start - timedelta(hours=10)
    late = await send_record(harness, handle, "theory", "classroom", morning, 60)
    entry = next(r for r in (await current_view(handle)).state.records if r.record_no == late)
    assert (entry.day, entry.counted_minutes) == (first.day, 0)
    assert "上限" in entry.invalid_reason
