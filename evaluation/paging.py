"""One page of a query's rows, with how many there are in all (the lists of reviews and
penalties)."""

from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


def page(
    session: Session, query: SelectOfScalar[T], *order: Any, limit: int, offset: int
) -> tuple[int, list[T]]:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order).offset(offset).limit(limit)).all()
    return total, list(rows)
