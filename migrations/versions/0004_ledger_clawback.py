"""Ledger: clawback entries (money released to a school, handed back to the learner).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS = ("deposit", "release", "refund")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE entrykind ADD VALUE IF NOT EXISTS 'clawback'")
        return
    with op.batch_alter_table("ledgerentry") as batch:
        batch.alter_column(
            "kind",
            existing_type=sa.Enum(*KINDS, name="entrykind"),
            type_=sa.Enum(*KINDS, "clawback", name="entrykind"),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.execute("DELETE FROM ledgerentry WHERE kind = 'clawback'")
    if op.get_bind().dialect.name == "postgresql":
        return  # PostgreSQL cannot drop an enum value; the unused value stays
    with op.batch_alter_table("ledgerentry") as batch:
        batch.alter_column(
            "kind",
            existing_type=sa.Enum(*KINDS, "clawback", name="entrykind"),
            type_=sa.Enum(*KINDS, name="entrykind"),
            existing_nullable=False,
        )
