"""Users: ID numbers bound before they were normalised are stored in their normal form.

Until the API normalised ID numbers (NFKC, any decimal digit to ASCII, upper case), a number
typed in fullwidth or Arabic-Indic digits was stored as typed: its owner could not enrol again
with the ASCII form ("不一致"), and the unique index did not see it as the same number. A
number whose normal form another account holds already is left as it is, for a person to
decide.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from core.idcard import normalize_id_number

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

users = sa.table("user", sa.column("id", sa.String), sa.column("id_number", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(users.c.id, users.c.id_number).where(users.c.id_number.is_not(None))
    )
    bound = dict(rows.all())
    held = set(bound.values())
    for user_id, typed in bound.items():
        normal = normalize_id_number(typed)
        if normal != typed and normal not in held:
            conn.execute(users.update().where(users.c.id == user_id).values(id_number=normal))
            held.add(normal)


def downgrade() -> None:
    """Nothing to undo: the normal form is the same number."""
