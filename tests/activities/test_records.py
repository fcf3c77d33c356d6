from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError

from activities.records import LEDGER_MISMATCH, JourneyProjection, LedgerPosting, RecordActivities
from models.journeys import JourneyRecord
from models.ledger import LedgerEntry


def projection(version: int, stage: str = "signup") -> JourneyProjection:
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    return JourneyProjection(
        workflow_id="journey-U-learner1-S371100001-C1",
        learner_id="U-learner1",
        school_id="S371100001",
        city_code="371100",
        vehicle_class="C1",
        coach_id="S371100001-K1",
        stage=stage,
        status="active",
        waiting_on="learner",
        stage_entered_at=now,
        started_at=now,
        learner_no="",
        version=version,
    )


def test_projection_ignores_an_older_version(demo_engine: Engine) -> None:
    records = RecordActivities(demo_engine)
    records.project_journey(projection(2, "payment"))
    records.project_journey(projection(1, "signup"))
    with Session(demo_engine) as session:
        row = session.get(JourneyRecord, "journey-U-learner1-S371100001-C1")
        assert row is not None and (row.stage, row.version) == ("payment", 2)


def test_ledger_posting_twice_records_once(demo_engine: Engine) -> None:
    records = RecordActivities(demo_engine)
    posting = LedgerPosting("j1:deposit:o1", "j1", "S371100001", "deposit", 500000, "T1")
    records.post_ledger(posting)
    records.post_ledger(posting)
    with Session(demo_engine) as session:
        rows = session.exec(select(LedgerEntry)).all()
    assert [(r.debit, r.credit, r.amount_fen) for r in rows] == [
        ("escrow:S371100001", "held:j1", 500000)
    ]


def test_ledger_key_reused_for_another_amount_is_refused(demo_engine: Engine) -> None:
    records = RecordActivities(demo_engine)
    records.post_ledger(LedgerPosting("k", "j1", "S371100001", "deposit", 100, "T1"))
    with pytest.raises(ApplicationError, match="reused") as refused:
        records.post_ledger(LedgerPosting("k", "j1", "S371100001", "deposit", 200, "T1"))
    # A bug, not an outage: retrying cannot help, and the journey must stop visibly.
    assert refused.value.non_retryable and refused.value.type == LEDGER_MISMATCH
