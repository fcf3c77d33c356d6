"""The complaint workflow's own columns (the school's answer, when the deadline is due soon)
and each complaint's timeline of deliveries, reminders, escalation and handling (issue 10).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("answer", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("due_soon_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "complaint_event",
        sa.Column("complaint_id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("party", sa.String(32), nullable=True),
        sa.Column("text", sa.String(2000), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("complaint_event")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("due_soon_at")
        batch.drop_column("answered_by")
        batch.drop_column("answer")
