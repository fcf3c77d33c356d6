"""The pages' sign-in (issue 11): learners' mobile numbers and real names, browser sessions,
one-time SMS codes, the attempts rate limits count, and the administrator role.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'admin'")
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=11), nullable=True))
        batch.add_column(sa.Column("real_name", sa.String(length=50), nullable=True))
        batch.create_unique_constraint("uq_user_phone", ["phone"])
    op.create_table(
        "websession",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
    )
    op.create_index("ix_websession_user_id", "websession", ["user_id"])
    op.create_table(
        "smscode",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("sent_at", _tz(), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_smscode_phone", "smscode", ["phone"])
    op.create_table(
        "authattempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", _tz(), nullable=False),
    )
    op.create_index("ix_authattempt_kind_subject_at", "authattempt", ["kind", "subject", "at"])


def downgrade() -> None:
    # PostgreSQL cannot drop a value from an enum type; 'admin' stays in `role`, unused.
    op.drop_table("authattempt")
    op.drop_table("smscode")
    op.drop_table("websession")
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint("uq_user_phone", type_="unique")
        batch.drop_column("real_name")
        batch.drop_column("phone")
