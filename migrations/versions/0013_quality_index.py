"""The service-quality index (issue 10): exam attempts as the statistics count them (filled from
the timelines already written), the index's publications with their per-school scores, per-item
values and per-coach statistics, and the training ground's filed area.

Revision ID: 0013
Revises: 0012
"""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

EXAM_OUTCOMES = ("exam_passed", "exam_failed")


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _publication_fk() -> sa.Column:
    return sa.Column(
        "publication_id", sa.String(160), sa.ForeignKey("index_publication.id"), primary_key=True
    )


def upgrade() -> None:
    with op.batch_alter_table("trainingground") as batch:
        batch.add_column(sa.Column("area_m2", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "exam_attempt",
        sa.Column("workflow_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("learner_id", sa.String(32), nullable=False),
        sa.Column("school_id", sa.String(32), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("exam_date", sa.String(10), nullable=False),
        sa.Column("examined_at", _tz(), nullable=False),
    )
    op.create_index(
        "ix_exam_attempt_city_code_examined_at",
        "exam_attempt",
        ["city_code", "examined_at", "school_id", "subject", "passed", "first", "workflow_id"],
    )
    op.create_index(
        "ix_exam_attempt_coach_id_examined_at", "exam_attempt", ["coach_id", "examined_at"]
    )
    op.create_table(
        "index_publication",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("as_of", _tz(), nullable=False),
        sa.Column("window_start", _tz(), nullable=False),
        sa.Column("computed_at", _tz(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_index_publication_city_code_as_of", "index_publication", ["city_code", "as_of"]
    )
    op.create_table(
        "index_school_score",
        _publication_fk(),
        sa.Column("school_id", sa.String(32), primary_key=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("level", sa.String(4), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("red_list", sa.Boolean(), nullable=False),
        sa.Column("black_list", sa.Boolean(), nullable=False),
        sa.Column("list_reason", sa.String(200), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
    )
    op.create_index("ix_index_school_score_school_id", "index_school_score", ["school_id"])
    op.create_table(
        "index_item_value",
        _publication_fk(),
        sa.Column("school_id", sa.String(32), primary_key=True),
        sa.Column("measure", sa.String(40), primary_key=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=False),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("normalised", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
    )
    op.create_table(
        "index_coach_stats",
        _publication_fk(),
        sa.Column("coach_id", sa.String(32), primary_key=True),
        sa.Column("school_id", sa.String(32), nullable=False),
        sa.Column("learners_taught", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("penalties", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_index_coach_stats_school_id", "index_coach_stats", ["publication_id", "school_id"]
    )
    _backfill_exam_attempts()


def _backfill_exam_attempts() -> None:
    """The exam results already in written timelines (journeys under the footprint rules)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT s.workflow_id, s.seq, s.data, r.learner_id, r.school_id, r.coach_id, "
            "r.city_code FROM journeystep s JOIN journeyrecord r "
            "ON r.workflow_id = s.workflow_id "
            "WHERE s.data LIKE '%exam_passed%' OR s.data LIKE '%exam_failed%' "
            "ORDER BY s.workflow_id, s.seq"
        )
    ).all()
    attempts, seen = [], set()
    for wf_id, seq, data, learner_id, school_id, coach_id, city_code in rows:
        step = json.loads(data)
        if step.get("outcome") not in EXAM_OUTCOMES:
            continue
        subject = step["step"]
        attempts.append(
            {
                "workflow_id": wf_id,
                "seq": seq,
                "learner_id": learner_id,
                "school_id": school_id,
                "coach_id": coach_id,
                "city_code": city_code,
                "subject": subject,
                "passed": step["outcome"] == "exam_passed",
                "first": (wf_id, subject) not in seen,
                "exam_date": str(step.get("detail", ""))[:10],
                "examined_at": datetime.fromisoformat(step["at"]),
            }
        )
        seen.add((wf_id, subject))
    if attempts:
        table = sa.table("exam_attempt", *(sa.column(name) for name in attempts[0]), schema=None)
        op.bulk_insert(table, attempts)


def downgrade() -> None:
    for table in ("index_coach_stats", "index_item_value", "index_school_score"):
        op.drop_table(table)
    op.drop_table("index_publication")
    op.drop_table("exam_attempt")
    with op.batch_alter_table("trainingground") as batch:
        batch.drop_column("area_m2")
