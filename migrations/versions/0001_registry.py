"""Registry, users and the journeys read model.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.String(32), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "school",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False, index=True),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("filing_no", sa.String(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("vehicle_classes", sa.JSON(), nullable=True),
    )
    op.create_table(
        "feeschedule",
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), primary_key=True),
        sa.Column("vehicle_class", sa.String(4), primary_key=True),
        sa.Column("services_fen", sa.Integer(), nullable=False),
        sa.Column("theory_fen", sa.Integer(), nullable=False),
        sa.Column("simulator_rates_fen", sa.JSON(), nullable=True),
        sa.Column("field_rates_fen", sa.JSON(), nullable=True),
        sa.Column("road_rates_fen", sa.JSON(), nullable=True),
    )
    op.create_table(
        "coach",
        _id(),
        sa.Column(
            "school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False, index=True
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("gender", sa.String(1), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("permitted_classes", sa.JSON(), nullable=True),
        sa.Column("years_teaching", sa.Integer(), nullable=False),
        sa.Column("photo_url", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "vehicle",
        _id(),
        sa.Column(
            "school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False, index=True
        ),
        sa.Column("plate", sa.String(), nullable=False, unique=True),
        sa.Column("vehicle_class", sa.String(4), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
    )
    op.create_table(
        "trainingground",
        _id(),
        sa.Column(
            "school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False, index=True
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
    )
    op.create_table(
        "healthcentre",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False, index=True),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("fee_fen", sa.Integer(), nullable=False),
    )
    op.create_table(
        "user",
        _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True, index=True),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("learner", "school_staff", "regulator", "ops", name="role"),
            nullable=False,
        ),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=True),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "journeyrecord",
        sa.Column("workflow_id", sa.String(128), primary_key=True),
        sa.Column(
            "learner_id", sa.String(32), sa.ForeignKey("user.id"), nullable=False, index=True
        ),
        sa.Column(
            "school_id", sa.String(32), sa.ForeignKey("school.id"), nullable=False, index=True
        ),
        sa.Column("city_code", sa.String(6), nullable=False, index=True),
        sa.Column("vehicle_class", sa.String(4), nullable=False),
        sa.Column("coach_id", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("waiting_on", sa.String(32), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("learner_no", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "journeyrecord",
        "user",
        "healthcentre",
        "trainingground",
        "vehicle",
        "coach",
        "feeschedule",
        "school",
    ):
        op.drop_table(table)
    sa.Enum(name="role").drop(op.get_bind(), checkfirst=True)
