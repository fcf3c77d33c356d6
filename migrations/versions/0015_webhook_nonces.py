"""The nonces of subsystems' callbacks (issue 12): each taken once while its signature could
be accepted, then pruned.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonce",
        sa.Column("subsystem", sa.String(16), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_webhook_nonce_expires_at", "webhook_nonce", ["expires_at"])


def downgrade() -> None:
    op.drop_table("webhook_nonce")
