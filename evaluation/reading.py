"""Reads of stored publications: the latest per city, one publication's scores, items and
coaches, and a city's history. Nothing is recomputed here."""

from collections.abc import Iterable

from sqlmodel import Session, col, select

from models.quality import IndexCoachStats, IndexItemValue, IndexPublication, IndexSchoolScore


def latest_publication(session: Session, city_code: str) -> IndexPublication | None:
    return session.exec(
        select(IndexPublication)
        .where(IndexPublication.city_code == city_code)
        .order_by(col(IndexPublication.as_of).desc(), col(IndexPublication.id).desc())
        .limit(1)
    ).first()


def latest_by_city(session: Session, cities: Iterable[str]) -> dict[str, IndexPublication]:
    found = {city: latest_publication(session, city) for city in sorted(set(cities))}
    return {city: p for city, p in found.items() if p is not None}


def publications(session: Session, city_code: str, limit: int) -> list[IndexPublication]:
    """The city's newest `limit` publications, newest first."""
    return list(
        session.exec(
            select(IndexPublication)
            .where(IndexPublication.city_code == city_code)
            .order_by(col(IndexPublication.as_of).desc(), col(IndexPublication.id).desc())
            .limit(limit)
        ).all()
    )


def scores(
    session: Session, publication_ids: Iterable[str], school_ids: Iterable[str] | None = None
) -> list[IndexSchoolScore]:
    query = select(IndexSchoolScore).where(
        col(IndexSchoolScore.publication_id).in_(list(publication_ids))
    )
    if school_ids is not None:
        query = query.where(col(IndexSchoolScore.school_id).in_(list(school_ids)))
    rows = session.exec(query).all()
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.school_id))


def items(session: Session, publication_id: str, school_id: str) -> list[IndexItemValue]:
    return list(
        session.exec(
            select(IndexItemValue).where(
                IndexItemValue.publication_id == publication_id,
                IndexItemValue.school_id == school_id,
            )
        ).all()
    )


def coach_stats(
    session: Session, publication_id: str, school_id: str
) -> dict[str, IndexCoachStats]:
    rows = session.exec(
        select(IndexCoachStats).where(
            IndexCoachStats.publication_id == publication_id,
            IndexCoachStats.school_id == school_id,
        )
    ).all()
    return {r.coach_id: r for r in rows}
