"""`make run`'s demo history: every figure of the school list is non-zero, loaded once."""

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from api import catalog
from core.config import Settings
from evaluation import reading
from models.demo_history import load_demo_history
from models.quality import ExamAttempt, IndexPublication
from models.registry import School
from policy.loader import load_quality_indexes

LEVELS = {"AAA", "AA", "A", "B"}


def test_every_figure_of_every_demo_school_is_non_zero(demo_engine: Engine) -> None:
    rules = load_quality_indexes(Settings().policy_paths)
    now = datetime.now(UTC)
    with Session(demo_engine) as session:
        load_demo_history(session, rules, now)
        attempts = session.exec(select(func.count()).select_from(ExamAttempt)).one()
        load_demo_history(session, rules, now)  # a second start adds nothing
        assert session.exec(select(func.count()).select_from(ExamAttempt)).one() == attempts
        assert session.exec(select(func.count()).select_from(IndexPublication)).one() == 2
        for school in session.exec(select(School)).all():
            publication = reading.latest_publication(session, school.city_code)
            assert publication is not None
            [score] = reading.scores(session, [publication.id], [school.id])
            assert score.score and score.level and score.rank, school.id
            shown = {k: v for k, v in score.measures.items() if not k.startswith("first_")}
            assert all(shown.values()), (school.id, shown)
            coaches = reading.coach_stats(session, publication.id, school.id).values()
            assert all(
                c.learners_taught and c.reviews and c.penalties and c.complaints for c in coaches
            ), school.id


def test_the_learner_pages_show_each_school_its_published_index(demo_engine: Engine) -> None:
    rules = load_quality_indexes(Settings().policy_paths)
    with Session(demo_engine) as session:
        ids = [s.id for s in session.exec(select(School)).all()]
        assert all(not f.items for f in catalog.school_figures(session, ids).values())
        load_demo_history(session, rules, datetime.now(UTC))
        shown = catalog.school_figures(session, ids)
        for school_id in ids:
            items = shown[school_id].items
            assert items["服务质量指数"] != "—" and items["信用等级"] in LEVELS, school_id
            assert items["投诉"] != "0 件" and items["行政处罚"] != "0 次", school_id
            assert items["科目一合格率"].endswith("%"), school_id
