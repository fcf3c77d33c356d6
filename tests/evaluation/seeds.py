"""A Rizhao history to publish from, seeded as rows (the demo registry's three schools)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from models.history_rows import History

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
CITY = "371100"
ANDA, GANGCHENG, LUDONG = "S371100001", "S371100002", "S371100003"


def days_ago(n: float) -> datetime:
    return AS_OF - timedelta(days=n)


def school_history(
    h: History, school_id: str, learners: int, passes: int, fails: int, stars: int
) -> None:
    """`learners` finished journeys at the school, 100 days ago; each sat 科目二 once, the
    first `passes` of them passing and the next `fails` failing; each wrote one review."""
    for n in range(learners):
        j = h.journey(
            h.learner("h"),
            school_id,
            f"{school_id}-K1",
            CITY,
            days_ago(200),
            "completed",
            days_ago(100),
        )
        if n < passes + fails:
            h.exam(j, "field", n < passes, days_ago(150))
        h.review(j, stars, days_ago(120))


def seed(engine: Engine, h: History) -> None:
    with Session(engine, expire_on_commit=False) as session:
        h.add_to(session)
        session.commit()


def balanced_city() -> History:
    """安达 strong (9/10 passed, 5 stars), 港城 middling (7/10, 4 stars), 鲁东 weak (5/10, 3)."""
    h = History()
    school_history(h, ANDA, 10, 9, 1, 5)
    school_history(h, GANGCHENG, 10, 7, 3, 4)
    school_history(h, LUDONG, 10, 5, 5, 3)
    return h
