"""Journeys read model: indexes for the regulator's and the school's reads.

`make bench` (item 4) showed PostgreSQL reading the whole table for the stuck list and the
counts per stage, and both databases sorting every matching row for the lists.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# name -> columns; models/journeys.py declares the same.
INDEXES = {
    # The stuck list: active journeys, longest in their stage first.
    "ix_journeyrecord_status_stage_entered_at": ["status", "stage_entered_at"],
    # Counts per stage of a region's active journeys, from the index alone.
    "ix_journeyrecord_status_city_code_stage": ["status", "city_code", "stage"],
    # One school's journeys (in one stage), longest in their stage first.
    "ix_journeyrecord_school_id_stage_stage_entered_at": ["school_id", "stage", "stage_entered_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "journeyrecord", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="journeyrecord")
