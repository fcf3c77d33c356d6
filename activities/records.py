"""The only database writers on behalf of workflows: the journeys read model and the ledger."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from evaluation.attempts import add_exam_attempts
from models import journey_log
from models.journeys import JourneyRecord
from models.ledger import EntryKind, LedgerEntry, accounts_for
from workflows.journey_state import Booking, JourneyView, RecordEntry, StepOutcome

# A posting that contradicts the one already recorded under its key: a bug, never retried.
LEDGER_MISMATCH = "LedgerMismatch"


@dataclass
class JourneyProjection:
    workflow_id: str
    learner_id: str
    school_id: str
    city_code: str
    vehicle_class: str
    coach_id: str
    stage: str
    status: str
    waiting_on: str
    stage_entered_at: datetime
    started_at: datetime
    learner_no: str
    version: int
    # Journeys under the footprint rules also write what they let go of since the last write:
    # timeline entries from place `steps_from` on, records and bookings, and the final view
    # once closed (models/journey_log.py).
    steps: list[StepOutcome] = field(default_factory=list)
    steps_from: int = 0
    records: list[RecordEntry] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    closed_view: JourneyView | None = None


@dataclass
class LedgerPosting:
    idempotency_key: str
    journey_id: str
    school_id: str
    kind: str
    amount_fen: int
    bank_txn_id: str


class RecordActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="records.project_journey")
    def project_journey(self, p: JourneyProjection) -> None:
        """Upserts the read model, and adds to the journey's log, in one transaction; an older
        version never overwrites a newer one, and a timeline entry is written once."""
        with Session(self._engine) as session:
            row = session.get(JourneyRecord, p.workflow_id, with_for_update=True)
            if row is None or row.version < p.version:
                row = row or JourneyRecord(workflow_id=p.workflow_id, **_creation_fields(p))
                for name in ("stage", "status", "waiting_on", "learner_no", "version", "coach_id"):
                    setattr(row, name, getattr(p, name))
                row.stage_entered_at = p.stage_entered_at
                row.updated_at = datetime.now(UTC)
                session.add(row)
            journey_log.add_steps(session, p.workflow_id, p.steps_from, p.steps)
            add_exam_attempts(session, row, p.steps_from, p.steps)
            journey_log.put_items(session, p.workflow_id, p.version, p.records, p.bookings)
            if p.closed_view is not None:
                journey_log.put_closed_view(session, p.closed_view, p.version, datetime.now(UTC))
            try:
                session.commit()
            except IntegrityError:
                # A concurrent first insert won; retrying the activity applies the version rule.
                session.rollback()
                raise

    @activity.defn(name="records.ledger_has")
    def ledger_has(self, idempotency_key: str) -> bool:
        """Whether a movement is already booked under this key."""
        with Session(self._engine) as session:
            found = session.exec(
                select(LedgerEntry.id).where(LedgerEntry.idempotency_key == idempotency_key)
            ).first()
            return found is not None

    @activity.defn(name="records.post_ledger")
    def post_ledger(self, p: LedgerPosting) -> None:
        """Records a bank-confirmed movement once, however often it is retried."""
        kind = EntryKind(p.kind)
        debit, credit = accounts_for(kind, p.journey_id, p.school_id)
        with Session(self._engine) as session:
            existing = session.exec(
                select(LedgerEntry).where(LedgerEntry.idempotency_key == p.idempotency_key)
            ).first()
            if existing is not None:
                _check_same_posting(existing, p)
                return
            session.add(
                LedgerEntry(
                    idempotency_key=p.idempotency_key,
                    journey_id=p.journey_id,
                    school_id=p.school_id,
                    kind=kind,
                    amount_fen=p.amount_fen,
                    debit=debit,
                    credit=credit,
                    bank_txn_id=p.bank_txn_id,
                    created_at=datetime.now(UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise  # a concurrent twin won; the retry finds it and checks it


def _creation_fields(p: JourneyProjection) -> dict[str, object]:
    return {
        "learner_id": p.learner_id,
        "school_id": p.school_id,
        "city_code": p.city_code,
        "vehicle_class": p.vehicle_class,
        "started_at": p.started_at,
    }


def _check_same_posting(existing: LedgerEntry, p: LedgerPosting) -> None:
    if (existing.amount_fen, existing.kind, existing.journey_id) != (
        p.amount_fen,
        EntryKind(p.kind),
        p.journey_id,
    ):
        raise ApplicationError(
            f"ledger key {p.idempotency_key} reused for a different movement",
            type=LEDGER_MISMATCH,
            non_retryable=True,
        )
