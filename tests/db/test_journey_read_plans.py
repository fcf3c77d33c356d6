"""The regulator's reads on the journeys read model come from their own indexes (migration
0007), on SQLite and on PostgreSQL: the plans `make bench` prints, checked on a few thousand
journeys (PostgreSQL analysed, as autovacuum would)."""

import random

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bench import regulator_reads as reads

EXPECTED_INDEX = {
    "list by stage x school": "ix_journeyrecord_school_id_stage_stage_entered_at",
    "counts per stage": "ix_journeyrecord_status_city_code_stage",
    "stuck list": "ix_journeyrecord_status_stage_entered_at",
}


@pytest.fixture
def journeys(engine: Engine) -> Engine:
    reads.seed(engine, 0, 3000, random.Random(1))
    return engine


@pytest.mark.parametrize("read", list(reads.READS))
def test_each_regulator_read_uses_its_index(journeys: Engine, read: str) -> None:
    statement = reads.READS[read](reads.scope(reads.PROVINCE), random.Random(1))
    with Session(journeys) as session:
        lines = reads.plan(session, statement)
    assert any(EXPECTED_INDEX[read] in line for line in lines), lines
    assert reads.full_scans(lines) == []
