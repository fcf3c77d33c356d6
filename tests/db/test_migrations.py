from datetime import date

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert
from sqlmodel import Session, SQLModel, func, select

from core.db import alembic_config, head_revision, migrate
from models.demo import load_demo_data
from models.registry import School
from models.users import Role, User
from tests.factories import VALID_ID
from tests.test_idcard import make_id, to_fullwidth


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op(db_url: str, engine: Engine) -> None:
    migrate(db_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_demo_data_loads_once_and_keeps_existing_rows(engine: Engine) -> None:
    with Session(engine) as session:
        load_demo_data(session)
        school = session.get(School, "S371100001")
        assert school is not None
        school.phone = "0633-0000000"
        session.add(school)
        session.commit()
    with Session(engine) as session:
        load_demo_data(session)
        assert session.get(School, "S371100001").phone == "0633-0000000"  # type: ignore[union-attr]
        assert session.exec(select(func.count()).select_from(User)).one() == 10


def test_id_numbers_bound_before_normalisation_are_stored_normalised(
    db_url: str, engine: Engine
) -> None:
    """0008: a fullwidth number becomes ASCII; one whose ASCII form another account holds
    stays as it is (the unique index would refuse it)."""
    command.downgrade(alembic_config(db_url), "0007")
    other = make_id(date(1990, 1, 1), "370102", "123")
    typed = {"U-a": to_fullwidth(VALID_ID), "U-b": other, "U-c": to_fullwidth(other)}
    with Session(engine) as session:
        # Only the columns 0007 has (the model has later ones).
        for user_id, number in typed.items():
            session.execute(
                insert(User).values(
                    id=user_id,
                    username=user_id,
                    password_hash="x",
                    role=Role.learner,
                    display_name="学员",
                    id_number=number,
                    active=True,
                )
            )
        session.commit()
    migrate(db_url)
    with Session(engine) as session:
        stored = {u.id: u.id_number for u in session.exec(select(User)).all()}
    assert stored == {"U-a": VALID_ID, "U-b": other, "U-c": to_fullwidth(other)}
