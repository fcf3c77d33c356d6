from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, func, select

from core.db import migrate
from models.demo import load_demo_data
from models.registry import School
from models.users import User


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op(db_url: str, engine: Engine) -> None:
    migrate(db_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0008"


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
        assert session.exec(select(func.count()).select_from(User)).one() == 9
