"""Mirrors the journey into its search attributes and the read model.

Under the footprint rules (FOOTPRINT_PATCH, issue 9) one write carries everything since the
last: the journey's row, the timeline entries, the records and bookings the state holds, and the
final view once the journey has closed. It is a local activity (a marker in the history, not
three events and a workflow task), search attributes are upserted only when they change, and
afterwards the state lets go of what was written and is closed for good: the timeline entries,
the settled records and the closed bookings (a small index of each stays, for repeats). Journeys
started before keep the old write (a projection activity per change) and their whole state.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair

from workflows import search_attributes as sa
from workflows import steps

with workflow.unsafe.imports_passed_through():
    from activities.records import JourneyProjection
    from workflows.journey_state import (
        ClosedBooking,
        JourneyInput,
        JourneyState,
        JourneyView,
        SettledRecord,
        Stage,
    )

# The state holds at most this many unwritten timeline entries: the journey writes them when a
# wait would otherwise let them pile up (a subject's training adds a hundred or so).
FLUSH_AT = 16
SETTLED = ("confirmed", "voided")


@dataclass
class _Written:
    """What one write took from the state, as it was then."""

    steps: int
    settled: set[str]
    closed: set[str]


class Projection:
    def __init__(
        self,
        inp: JourneyInput,
        state: JourneyState,
        view: Callable[[], JourneyView],
        footprint: bool,
    ) -> None:
        self._in = inp
        self._s = state
        self._view = view
        self._footprint = footprint
        self._version = -1
        self._written_row: tuple[object, ...] = ()
        self._lock = asyncio.Lock()

    def due(self) -> bool:
        """Enough is unwritten that the journey should write it now, even mid-wait."""
        return self._footprint and len(self._s.steps) >= FLUSH_AT

    async def write(self, everything: bool = False) -> None:
        """Writes the journey to the read model, when it changed since the last write. Under the
        footprint rules, a change that only adds to the timeline (and the records and bookings
        it tells of) waits for the next write, until `due` or the journey closes; `everything`
        writes it now."""
        if not self._footprint:
            await self._write_row()
            return
        async with self._lock:  # one write at a time: each takes what the last one left
            s = self._s
            row = self._row()
            if s.version == self._version:
                return
            if not (everything or row != self._written_row or self.due() or self._closed()):
                return
            self._version, self._written_row = s.version, row
            self._upsert_changed_attributes()
            taken = _Written(
                steps=len(s.steps),
                settled={r.record_no for r in s.records if r.status in SETTLED},
                closed={b.booking_id for b in s.bookings if b.status != "booked"},
            )
            await steps.call(
                "records.project_journey",
                self._projection(
                    steps=list(s.steps),
                    steps_from=s.steps_written,
                    records=list(s.records),
                    bookings=list(s.bookings),
                    closed_view=self._view() if self._closed() else None,
                ),
                local=True,  # its input is not kept in the history, only a marker
            )
            self._let_go(taken)

    def _row(self) -> tuple[object, ...]:
        """What the journey's row and search attributes show."""
        s = self._s
        return s.stage, s.status, s.waiting_on, s.stage_entered_at, s.coach_id, s.learner_no

    def _closed(self) -> bool:
        return self._s.stage == Stage.closed

    def _let_go(self, taken: _Written) -> None:
        s = self._s
        s.steps, s.steps_written = s.steps[taken.steps :], s.steps_written + taken.steps
        for r in s.records:
            if r.record_no in taken.settled:
                contested = r.contested_at is not None
                s.settled_records[r.record_no] = SettledRecord(
                    r.subject, r.status, r.decided_by, r.answer, contested
                )
        s.records = [r for r in s.records if r.record_no not in taken.settled]
        for b in s.bookings:
            if b.booking_id in taken.closed:
                s.closed_bookings[b.booking_id] = ClosedBooking(b.status, b.fee_fen)
        s.bookings = [b for b in s.bookings if b.booking_id not in taken.closed]

    def _upsert_changed_attributes(self) -> None:
        current = workflow.info().typed_search_attributes
        changed = [pair for pair in self._attributes() if current.get(pair.key) != pair.value]
        if changed:
            workflow.upsert_search_attributes([p.key.value_set(p.value) for p in changed])

    def _attributes(self) -> list[SearchAttributePair[Any]]:
        s, school = self._s, self._in.school
        return [
            SearchAttributePair(sa.STAGE, s.stage.value),
            SearchAttributePair(sa.STATUS, s.status.value),
            SearchAttributePair(sa.SCHOOL, school.id),
            SearchAttributePair(sa.CITY, school.city_code),
            SearchAttributePair(sa.VEHICLE_CLASS, self._in.vehicle_class),
            SearchAttributePair(sa.WAITING_ON, s.waiting_on.value),
            SearchAttributePair(sa.STAGE_ENTERED_AT, s.stage_entered_at or workflow.now()),
        ]

    async def _write_row(self) -> None:
        """The write of journeys started before the footprint rules: every attribute, then the
        row, as an activity (kept for their replay)."""
        s = self._s
        if s.version == self._version:
            return
        self._version = s.version
        workflow.upsert_search_attributes([p.key.value_set(p.value) for p in self._attributes()])
        await steps.call("records.project_journey", self._projection())

    def _projection(self, **log: Any) -> JourneyProjection:
        s, inp = self._s, self._in
        return JourneyProjection(
            workflow_id=workflow.info().workflow_id,
            learner_id=inp.learner_id,
            school_id=inp.school.id,
            city_code=inp.school.city_code,
            vehicle_class=inp.vehicle_class,
            coach_id=s.coach_id or inp.coach_id,
            stage=s.stage.value,
            status=s.status.value,
            waiting_on=s.waiting_on.value,
            stage_entered_at=s.stage_entered_at or workflow.now(),
            started_at=s.enrolled_at or workflow.info().start_time,
            learner_no=s.learner_no,
            version=s.version,
            **log,
        )
