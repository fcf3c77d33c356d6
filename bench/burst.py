"""3. A booking burst: N learners in 科目二 race for M practical slots.

Learner i asks for slot i mod M, all N at once, by the path a booking takes in the journey:
its book_slot Update and the bookings.book activity against the database's constraints. Exactly
M must succeed, one per slot, and the rest be refused as taken; anything else is an error of the
figure. The baseline is the same burst of raw Updates on as many trivial workflows.

The burst goes to the journeys by the SDK, not through the API: with this many requests at once
the API waits on its database connection pool (see bench/README.md, item 2), which item 2
measures; here the booking path itself is what races.
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from bench.load import timed
from bench.platform import Platform
from bench.population import SCHOOL, Learner
from bench.stats import Figure
from models.training import SlotBooking, TrainingSlot
from workflows.journey import LearnerJourney
from workflows.journey_state import BookSlotRequest


def open_field_slots(engine: Engine, m: int) -> list[str]:
    """M open 科目二 slots at the school, a few hours ahead (no cut-off comes into play)."""
    soon = datetime.now(UTC) + timedelta(hours=3)
    with Session(engine) as session:
        return list(
            session.exec(
                select(TrainingSlot.id)
                .where(
                    col(TrainingSlot.school_id) == SCHOOL,
                    col(TrainingSlot.subject) == "field",
                    col(TrainingSlot.status) == "open",
                    col(TrainingSlot.start) > soon,
                )
                .order_by(col(TrainingSlot.start))
                .limit(m)
            ).all()
        )


async def measure(
    p: Platform,
    engine: Engine,
    journeys: list[tuple[Learner, str]],
    trivial_ids: list[str],
    m: int,
) -> list[Figure]:
    slots = open_field_slots(engine, m)
    if len(slots) < m:
        raise RuntimeError(f"only {len(slots)} open field slots at {SCHOOL}; the burst needs {m}")
    n = len(journeys)
    raw = [p.client.get_workflow_handle(i).execute_update("poke") for i in trivial_ids[:n]]
    raw_s, _ = await timed(partial(asyncio.gather, *raw))
    calls = [_book(p, wf_id, slots[i % m]) for i, (_, wf_id) in enumerate(journeys)]
    burst_s, answers = await timed(partial(asyncio.gather, *calls))
    outcome = Counter(answers)
    booked = Counter(_booked(engine, slots))
    errors = []
    if outcome[BOOKED] != m or set(booked) != set(slots) or max(booked.values(), default=0) > 1:
        errors.append(f"not exactly {m} bookings, one per slot: slots booked {dict(booked)}")
    if outcome[BOOKED] + outcome[TAKEN] != n:
        errors.append(f"answers other than booked and taken: {dict(outcome)}")
    bookings_per_s = m / burst_s
    return [
        Figure(
            3,
            "burst_requests_per_s",
            f"booking burst, {n} learners for {m} slots ({bookings_per_s:.1f} bookings/s): "
            "booking Updates/s",
            "/s",
            round(n / burst_s, 1),
            f"raw Updates/s, {n} at once",
            round(n / raw_s, 1),
            n=n,
            detail={
                "bookings_per_s": round(bookings_per_s, 1),
                "seconds": round(burst_s, 3),
                "answers": dict(outcome),
            },
            errors=errors,
        )
    ]


BOOKED, TAKEN = "booked", "该时段已被预约"


async def _book(p: Platform, wf_id: str, slot_id: str) -> str:
    """The journey's answer: booked, or the refusal's message."""
    try:
        await p.client.get_workflow_handle(wf_id).execute_update(
            LearnerJourney.book_slot, BookSlotRequest(slot_id)
        )
    except WorkflowUpdateFailedError as exc:
        return exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc.cause)
    return BOOKED


def _booked(engine: Engine, slots: list[str]) -> list[str]:
    """The slot of every live booking on these slots (one each, if the database held)."""
    with Session(engine) as session:
        rows = session.exec(
            select(SlotBooking.slot_id).where(
                col(SlotBooking.slot_id).in_(slots), col(SlotBooking.status) == "booked"
            )
        ).all()
    return list(rows)
