"""A journey's log in the read model: its timeline, training records and practical bookings,
and the view it closed with; written by its projection, read back into its view.

Journeys under the footprint rules (issue 9) keep in their state only what their decisions
need: the timeline entries not yet written, the open records and bookings and those closed since
the last write. The view people see is the state with the log put back (`full_view`). A closed
journey is read from here (`closed_view`) instead of replaying its history.

Each entry is stored as the journey encodes it (Temporal's JSON), so it reads back as the same
dataclass whatever fields it gains.
"""

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from models.journeys import ClosedJourneyView, JourneyItem, JourneyStep
from workflows.documents_data import TrainingRecordLine
from workflows.journey_state import Booking, JourneyView, RecordEntry, StepOutcome
from workflows.training import training_lines

T = TypeVar("T")
Entry = dict[str, Any]  # a timeline entry, record or booking as JSON
_CONVERTER = DataConverter.default.payload_converter
_ENCODING = {"encoding": b"json/plain"}
RECORD, BOOKING = "record", "booking"


def encode(value: object) -> str:
    return _CONVERTER.to_payload(value).data.decode()


def decode(data: str, kind: type[T]) -> T:
    value: T = _CONVERTER.from_payload(Payload(metadata=_ENCODING, data=data.encode()), kind)
    return value


# ---- writing (the projection activity) ----------------------------------------------------


def add_steps(session: Session, workflow_id: str, first: int, steps: Sequence[StepOutcome]) -> None:
    """Timeline entries from place `first` on; an entry already written stays as it is."""
    places = range(first, first + len(steps))
    written = set(
        session.exec(
            select(JourneyStep.seq).where(
                JourneyStep.workflow_id == workflow_id, col(JourneyStep.seq).in_(places)
            )
        ).all()
    )
    for seq, step in zip(places, steps, strict=True):
        if seq not in written:
            session.add(JourneyStep(workflow_id=workflow_id, seq=seq, data=encode(step)))


def put_items(
    session: Session,
    workflow_id: str,
    version: int,
    records: Sequence[RecordEntry],
    bookings: Sequence[Booking],
) -> None:
    """Records and bookings as the journey has them at `version`; never over a newer write."""
    items = [(RECORD, r.record_no, r.n, r.status, r) for r in records]
    items += [(BOOKING, b.booking_id, b.n, b.status, b) for b in bookings]
    for kind, item_id, n, status, value in items:
        row = session.get(JourneyItem, (workflow_id, kind, item_id))
        if row is not None and row.version >= version:
            continue
        row = row or JourneyItem(workflow_id=workflow_id, kind=kind, item_id=item_id, n=n)
        row.status, row.version, row.data = status, version, encode(value)
        session.add(row)


def put_closed_view(session: Session, view: JourneyView, version: int, at: datetime) -> None:
    row = session.get(ClosedJourneyView, view.workflow_id)
    if row is not None and row.version >= version:
        return
    row = row or ClosedJourneyView(workflow_id=view.workflow_id, version=version, closed_at=at)
    row.version, row.closed_at, row.data = version, at, encode(view)
    session.add(row)


# ---- reading (the API, the archive) --------------------------------------------------------


def written_items(session: Session, workflow_id: str) -> tuple[list[RecordEntry], list[Booking]]:
    """The journey's records and bookings as last written, in the order they came."""
    items = session.exec(
        select(JourneyItem)
        .where(JourneyItem.workflow_id == workflow_id)
        .order_by(col(JourneyItem.n))
    ).all()
    records = [decode(i.data, RecordEntry) for i in items if i.kind == RECORD]
    return records, [decode(i.data, Booking) for i in items if i.kind == BOOKING]


def training_lines_reader(engine: Engine) -> Callable[[str, str], list[TrainingRecordLine]]:
    """The archive's lines of a journey from its log (see DocumentActivities)."""

    def lines(workflow_id: str, coach_name: str) -> list[TrainingRecordLine]:
        with Session(engine) as session:
            records, bookings = written_items(session, workflow_id)
        return training_lines(records, bookings, coach_name)

    return lines


def closed_view(session: Session, workflow_id: str) -> JourneyView | None:
    """The view a journey closed with, if it closed under the footprint rules."""
    row = session.get(ClosedJourneyView, workflow_id)
    return None if row is None else decode(row.data, JourneyView)


def view_document(session: Session, view: JourneyView) -> dict[str, Any]:
    """The view with the journey's log put back, as JSON (the journey's own encoding): every
    timeline entry, record and booking, in the order they came; what the state holds is newer
    than what was written of the same. Put together from the stored JSON as it is: a closed C1
    journey has some 250 entries, and making each a dataclass first cost more than the rest of
    the request."""
    doc: dict[str, Any] = json.loads(encode(view))
    state = doc["state"]
    written = session.exec(
        select(JourneyStep.data)
        .where(
            JourneyStep.workflow_id == view.workflow_id,
            col(JourneyStep.seq) < view.state.steps_written,
        )
        .order_by(col(JourneyStep.seq))
    ).all()
    state["steps"] = [json.loads(data) for data in written] + state["steps"]
    items = session.exec(
        select(JourneyItem.kind, JourneyItem.data)
        .where(JourneyItem.workflow_id == view.workflow_id)
        .order_by(col(JourneyItem.n))
    ).all()
    for kind, field, key in ((RECORD, "records", "record_no"), (BOOKING, "bookings", "booking_id")):
        logged = [json.loads(data) for k, data in items if k == kind]
        state[field] = _merged(logged, state[field], key)
    return doc


def full_view(session: Session, view: JourneyView) -> JourneyView:
    """`view_document` as a JourneyView."""
    return decode(json.dumps(view_document(session, view)), JourneyView)


def _merged(written: list[Entry], held: list[Entry], key: str) -> list[Entry]:
    """`written` in its order, each replaced by the state's own where it holds one; then what
    only the state holds (it came last)."""
    newer = {x[key]: x for x in held}
    merged = [newer.pop(x[key], x) for x in written]
    return merged + [x for x in held if x[key] in newer]
