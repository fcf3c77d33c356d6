"""Practical training: slots, bookings, resource holds, daily loads, coach leave.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BOOKED = sa.text("status = 'booked'")


def _fk(name: str, target: str, *, nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey(target), nullable=nullable, index=index)


def _when(name: str, *, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, index=index)


def upgrade() -> None:
    op.create_table(
        "trainingslot",
        sa.Column("id", sa.String(64), primary_key=True),
        _fk("school_id", "school.id", index=True),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _fk("coach_id", "coach.id", index=True),
        _fk("vehicle_id", "vehicle.id"),
        _fk("ground_id", "trainingground.id", nullable=True),
        _when("start", index=True),
        _when("end"),
        sa.Column("rate_kind", sa.String(8), nullable=False),
        sa.Column("rate_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "slotbooking",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column(
            "slot_id", sa.String(64), sa.ForeignKey("trainingslot.id"), nullable=False, index=True
        ),
        sa.Column("journey_id", sa.String(128), nullable=False, index=True),
        sa.Column("learner_id", sa.String(32), nullable=False, index=True),
        _fk("school_id", "school.id", index=True),
        sa.Column("subject", sa.String(8), nullable=False),
        _when("start"),
        _when("end"),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("rate_fen", sa.Integer(), nullable=False),
        sa.Column("rate_kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancelled_by", sa.String(8), nullable=True),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("fee_fen", sa.Integer(), nullable=False),
        sa.Column("record_no", sa.String(64), nullable=True),
        _when("created_at"),
        _when("updated_at"),
    )
    # At most one live booking per slot: the database, not the application, refuses the second.
    op.create_index(
        "uq_slotbooking_booked_slot",
        "slotbooking",
        ["slot_id"],
        unique=True,
        sqlite_where=BOOKED,
        postgresql_where=BOOKED,
    )
    op.create_table(
        "resourcehold",
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("hour_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False, index=True),
    )
    op.create_table(
        "learnerdayload",
        sa.Column("learner_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.CheckConstraint("hours <= cap", name="ck_learnerdayload_cap"),
        sa.CheckConstraint("hours >= 0", name="ck_learnerdayload_hours"),
    )
    op.create_table(
        "coachleave",
        sa.Column("id", sa.String(64), primary_key=True),
        _fk("coach_id", "coach.id", index=True),
        _when("start"),
        _when("end"),
        sa.Column("reason", sa.String(200), nullable=False),
        _when("created_at"),
    )


def downgrade() -> None:
    op.drop_table("coachleave")
    op.drop_table("learnerdayload")
    op.drop_table("resourcehold")
    op.drop_index("uq_slotbooking_booked_slot", table_name="slotbooking")
    op.drop_table("slotbooking")
    op.drop_table("trainingslot")
