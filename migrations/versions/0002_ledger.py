"""The escrow ledger.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledgerentry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("idempotency_key", sa.String(160), nullable=False, unique=True),
        sa.Column("journey_id", sa.String(128), nullable=False, index=True),
        sa.Column("school_id", sa.String(32), nullable=False, index=True),
        sa.Column(
            "kind", sa.Enum("deposit", "release", "refund", name="entrykind"), nullable=False
        ),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("debit", sa.String(160), nullable=False),
        sa.Column("credit", sa.String(160), nullable=False),
        sa.Column("bank_txn_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="ck_ledger_positive"),
    )


def downgrade() -> None:
    op.drop_table("ledgerentry")
    sa.Enum(name="entrykind").drop(op.get_bind(), checkfirst=True)
