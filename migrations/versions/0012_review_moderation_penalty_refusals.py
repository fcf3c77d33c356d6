"""The regulator's review moderation log, penalties refused at ingestion, and the 12123 driving
records' read position per school (issue 10, part B).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_moderation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.String(160), sa.ForeignKey("review.id"), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=False),
        sa.Column("at", _tz(), nullable=False),
    )
    op.create_index("ix_review_moderation_review_id_at", "review_moderation", ["review_id", "at"])
    op.create_table(
        "penalty_refusal",
        sa.Column("case_no", sa.String(64), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("coach_id", sa.String(64), nullable=True),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
    )
    op.create_table(
        "graduate_record_cursor",
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), primary_key=True),
        sa.Column("after", sa.Integer(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )


def downgrade() -> None:
    for table in ("graduate_record_cursor", "penalty_refusal", "review_moderation"):
        op.drop_table(table)
