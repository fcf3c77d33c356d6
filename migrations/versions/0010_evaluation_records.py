"""What the service-quality index and the regulator's lists count (issue 10): consultations,
complaints, reviews and their edits, administrative penalties, graduates' driving record.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consultation",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("learner_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("question", sa.String(2000), nullable=False),
        sa.Column("asked_at", _tz(), nullable=False),
        sa.Column("due_at", _tz(), nullable=False),
        sa.Column("answer", sa.String(2000), nullable=True),
        sa.Column("answered_at", _tz(), nullable=True),
        sa.Column("answered_by", sa.String(32), nullable=True),
    )
    op.create_index("ix_consultation_learner_id", "consultation", ["learner_id"])
    op.create_index("ix_consultation_school_id_asked_at", "consultation", ["school_id", "asked_at"])
    op.create_index(
        "ix_consultation_city_code_answered_at_due_at",
        "consultation",
        ["city_code", "answered_at", "due_at"],
    )
    op.create_table(
        "complaint",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workflow_id", sa.String(128), nullable=False, unique=True),
        sa.Column("learner_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("journey_id", sa.String(128), nullable=True),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=True),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(160), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("content", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("case_no", sa.String(40), nullable=True),
        sa.Column("filed_at", _tz(), nullable=False),
        sa.Column("deadline_at", _tz(), nullable=True),
        sa.Column("answered_at", _tz(), nullable=True),
        sa.Column("closed_at", _tz(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_complaint_learner_id", "complaint", ["learner_id"])
    op.create_index("ix_complaint_school_id_filed_at", "complaint", ["school_id", "filed_at"])
    op.create_index("ix_complaint_coach_id_filed_at", "complaint", ["coach_id", "filed_at"])
    op.create_index("ix_complaint_city_code_status", "complaint", ["city_code", "status"])
    op.create_table(
        "review",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("journey_id", sa.String(128), nullable=False),
        sa.Column("learner_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("school_stars", sa.Integer(), nullable=False),
        sa.Column("coach_stars", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("reply", sa.String(2000), nullable=True),
        sa.Column("replied_at", _tz(), nullable=True),
        sa.Column("replied_by", sa.String(32), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sa.String(500), nullable=True),
        sa.Column("hidden_by", sa.String(32), nullable=True),
        sa.Column("hidden_at", _tz(), nullable=True),
        sa.UniqueConstraint("journey_id", "stage", name="uq_review_journey_id_stage"),
    )
    op.create_index("ix_review_learner_id", "review", ["learner_id"])
    op.create_index("ix_review_school_id_created_at", "review", ["school_id", "created_at"])
    op.create_index("ix_review_coach_id_created_at", "review", ["coach_id", "created_at"])
    op.create_table(
        "review_edit",
        sa.Column("review_id", sa.String(160), sa.ForeignKey("review.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("school_stars", sa.Integer(), nullable=False),
        sa.Column("coach_stars", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("edited_at", _tz(), nullable=False),
    )
    op.create_table(
        "penalty",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=True),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("decided_at", _tz(), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
    )
    op.create_index("ix_penalty_school_id_decided_at", "penalty", ["school_id", "decided_at"])
    op.create_index("ix_penalty_coach_id_decided_at", "penalty", ["coach_id", "decided_at"])
    op.create_table(
        "graduate_incident",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("learner_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("licensed_at", _tz(), nullable=False),
        sa.Column("occurred_at", _tz(), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
    )
    op.create_index("ix_graduate_incident_learner_id", "graduate_incident", ["learner_id"])
    op.create_index(
        "ix_graduate_incident_school_id_occurred_at",
        "graduate_incident",
        ["school_id", "occurred_at"],
    )


def downgrade() -> None:
    for table in ("graduate_incident", "penalty", "review_edit", "review"):
        op.drop_table(table)
    op.drop_table("complaint")
    op.drop_table("consultation")
