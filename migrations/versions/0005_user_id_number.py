"""Users: a learner's ID number, bound to one account.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("id_number", sa.String(length=18), nullable=True))
        batch.create_unique_constraint("uq_user_id_number", ["id_number"])


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint("uq_user_id_number", type_="unique")
        batch.drop_column("id_number")
