"""3. A booking burst: N learners in 科目二 race through the API for M practical slots.

Learner i asks for slot i mod M, all N at once (POST …/bookings: the journey's book_slot Update
and its bookings.book activity against the database's constraints). Exactly M may succeed,
one per slot; the rest are refused (409) and nothing else may happen. The baseline is the
same burst of raw Updates on as many trivial workflows.
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bench.load import timed
from bench.platform import Platform
from bench.population import SCHOOL, Learner
from bench.stats import Figure
from models.training import SlotBooking, TrainingSlot


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
    http: httpx.AsyncClient,
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
    calls = [_book(http, journey, slots[i % m]) for i, journey in enumerate(journeys)]
    api_s, codes = await timed(partial(asyncio.gather, *calls))
    outcome = Counter(codes)
    booked = _booked(engine, slots)
    if outcome[200] != m or outcome[409] != n - m or sorted(booked) != sorted(slots):
        raise AssertionError(
            f"burst of {n} for {m} slots: HTTP {dict(outcome)}, slots booked {Counter(booked)}"
        )
    bookings_per_s = m / api_s
    return [
        Figure(
            3,
            "burst_requests_per_s",
            f"booking burst, {n} learners for {m} slots ({bookings_per_s:.0f} bookings/s): "
            "requests/s",
            "/s",
            round(n / api_s, 1),
            f"raw Updates/s, {n} at once",
            round(n / raw_s, 1),
            n=n,
            detail={
                "bookings_per_s": round(bookings_per_s, 1),
                "seconds": round(api_s, 3),
                "succeeded": outcome[200],
                "refused": outcome[409],
            },
        )
    ]


async def _book(http: httpx.AsyncClient, journey: tuple[Learner, str], slot_id: str) -> int:
    learner, wf_id = journey
    url = f"/api/learner/journeys/{wf_id}/bookings"
    r = await http.post(url, json={"slot_id": slot_id}, headers=learner.headers)
    return r.status_code


def _booked(engine: Engine, slots: list[str]) -> list[str]:
    """The slot of every live booking on these slots (one each, if the database held)."""
    with Session(engine) as session:
        rows = session.exec(
            select(SlotBooking.slot_id).where(
                col(SlotBooking.slot_id).in_(slots), col(SlotBooking.status) == "booked"
            )
        ).all()
    return list(rows)
