"""Computes and stores one publication of a city's index: the statistics over the policy's
window, the index from them, and the coaches' statistics, in one transaction. A publication is
keyed by the recompute that asked for it, so a retried activity stores it once."""

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from evaluation.index import compute_index
from evaluation.stats import Window, coach_counters, school_counters
from models.quality import IndexCoachStats, IndexItemValue, IndexPublication, IndexSchoolScore
from policy.model import QualityIndex


def publish(
    session: Session,
    publication_id: str,
    city_code: str,
    rules: QualityIndex,
    as_of: datetime,
    trigger: str,
    requested_by: str = "",
) -> IndexPublication:
    """The publication under this id: stored now, or as it was stored before."""
    existing = session.get(IndexPublication, publication_id)
    if existing is not None:
        return existing
    window = Window.ending(as_of, rules.window_days)
    results = compute_index(rules, school_counters(session, city_code, window))
    publication = IndexPublication(
        id=publication_id,
        city_code=city_code,
        as_of=window.end,
        window_start=window.start,
        computed_at=datetime.now(UTC),
        trigger=trigger,
        requested_by=requested_by,
        policy_version=rules.version,
        rules=dataclasses.asdict(rules),
        schools=len(results),
    )
    session.add(publication)
    session.flush()  # the rows below refer to it
    for r in results:
        session.add(
            IndexSchoolScore(
                publication_id=publication_id,
                school_id=r.school_id,
                score=r.score,
                level=r.level,
                rank=r.rank,
                red_list=r.red_list,
                black_list=r.black_list,
                list_reason="；".join(r.list_reasons)[:200],
                counters=r.counters,
                measures=r.measures,
            )
        )
        for item in r.items:
            session.add(
                IndexItemValue(
                    publication_id=publication_id,
                    school_id=r.school_id,
                    **dataclasses.asdict(item),
                )
            )
    for coach_id, c in coach_counters(session, city_code, window).items():
        session.add(
            IndexCoachStats(
                publication_id=publication_id, coach_id=coach_id, **dataclasses.asdict(c)
            )
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent retry stored it first: answer with that one
        stored = session.get(IndexPublication, publication_id)
        if stored is None:
            raise
        return stored
    return publication
