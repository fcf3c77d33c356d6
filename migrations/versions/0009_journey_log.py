"""What journeys no longer keep in their state (issue 9): their timeline, training records and
practical bookings, and the view of a closed journey.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _workflow_id() -> sa.Column:
    return sa.Column("workflow_id", sa.String(128), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "journeystep",
        _workflow_id(),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_table(
        "journeyitem",
        _workflow_id(),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("item_id", sa.String(160), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_table(
        "closedjourneyview",
        _workflow_id(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("closedjourneyview", "journeyitem", "journeystep"):
        op.drop_table(table)
