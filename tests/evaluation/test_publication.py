"""Publications from seeded rows: what the statistics count, that a policy file's weights decide
the ranking, and that penalties and complaints pull a school down."""

from pathlib import Path

import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.quality_index import IndexActivities, PublishIndex
from core.config import ROOT
from evaluation import reading
from evaluation.publish import publish
from evaluation.stats import Window, school_counters
from models.history_rows import History
from models.quality import IndexItemValue, IndexPublication
from policy.loader import load_quality_indexes
from tests.evaluation.seeds import (
    ANDA,
    AS_OF,
    CITY,
    GANGCHENG,
    LUDONG,
    balanced_city,
    days_ago,
    seed,
)

RIZHAO = ROOT / "policy" / "rizhao.yaml"


def ranks(engine: Engine, publication_id: str) -> list[str]:
    with Session(engine) as session:
        return [r.school_id for r in reading.scores(session, [publication_id])]


def test_the_statistics_count_the_window_and_only_it(demo_engine: Engine) -> None:
    h = History()
    j = h.journey(
        h.learner("w"), ANDA, f"{ANDA}-K1", CITY, days_ago(400), "completed", days_ago(30)
    )
    h.exam(j, "theory", False, days_ago(300))  # first attempt, failed
    h.exam(j, "theory", True, days_ago(290))
    h.exam(j, "field", True, days_ago(400))  # before the window: not counted
    h.exam(j, "safety", True, days_ago(60))  # licensed: a graduate
    h.review(j, 2, days_ago(10), "骂人的话", hidden=True)  # hidden text, stars still count
    h.complaint(j, days_ago(20), overdue=True)
    h.complaint(j, days_ago(366))  # outside
    h.penalty(ANDA, CITY, days_ago(5))
    h.incident(j, "violation", days_ago(60), days_ago(30))
    h.incident(j, "accident", days_ago(60), days_ago(20))
    h.incident(j, "violation", days_ago(1200), days_ago(25))  # licensed over 3 years ago
    h.journey(  # ended before the window: not a learner in it
        h.learner("w"), ANDA, f"{ANDA}-K1", CITY, days_ago(800), "withdrawn", days_ago(700)
    )
    seed(demo_engine, h)
    with Session(demo_engine) as session:
        c = school_counters(session, CITY, Window.ending(AS_OF, 365))[ANDA]
    assert (c["learners"], c["attempts_theory"], c["passes_theory"]) == (1, 2, 1)
    assert (c["first_attempts_theory"], c["first_passes_theory"]) == (1, 0)
    assert (c["attempts_field"], c["graduates"]) == (0, 1)
    assert (c["reviews"], c["stars"]) == (1, 2)
    assert (c["complaints"], c["overdue_complaints"], c["penalties"]) == (1, 1, 1)
    assert (c["violations"], c["accidents"]) == (1, 1)


def test_a_publication_keeps_every_item_with_its_inputs_and_is_stored_once(
    demo_engine: Engine,
) -> None:
    seed(demo_engine, balanced_city())
    rules = load_quality_indexes([RIZHAO])[CITY]
    with Session(demo_engine) as session:
        first = publish(session, "pub-1", CITY, rules, AS_OF, "schedule")
        again = publish(session, "pub-1", CITY, rules, AS_OF, "schedule")
        assert again.as_of == first.as_of
        assert len(session.exec(select(IndexPublication)).all()) == 1
        item = session.get(IndexItemValue, ("pub-1", GANGCHENG, "pass_rate_field"))
    assert item is not None
    # 7 of 10 passed = 70%; target 50 -> 0, 95 -> 1: (70 - 50) / 45 = 0.444444.
    assert (item.numerator, item.denominator, item.value) == (7, 10, 70.0)
    assert (item.low, item.high, item.normalised) == (50, 95, 0.444444)
    assert ranks(demo_engine, "pub-1") == [ANDA, GANGCHENG, LUDONG]


def write_policy(tmp_path: Path, name: str, items: list[dict[str, object]]) -> Path:
    raw = yaml.safe_load(RIZHAO.read_text(encoding="utf-8"))
    raw["quality_index"]["items"] = items
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_changing_the_weights_in_the_policy_file_changes_the_ranking(
    demo_engine: Engine, tmp_path: Path
) -> None:
    h = balanced_city()
    # 鲁东 has the lowest pass rate but no complaints; 安达 and 港城 have many.
    for school, n in ((ANDA, 6), (GANGCHENG, 4)):
        j = h.journey(h.learner("c"), school, f"{school}-K1", CITY, days_ago(50), "active")
        for _ in range(n):
            h.complaint(j, days_ago(10))
    seed(demo_engine, h)
    path = write_policy(
        tmp_path,
        "city",
        [
            {"measure": "pass_rate_field", "weight": 90},
            {"measure": "complaints_per_100", "weight": 10},
        ],
    )
    index = IndexActivities(demo_engine, [path])
    index.publish(PublishIndex("by-pass-rate", CITY, AS_OF, "schedule"))
    assert ranks(demo_engine, "by-pass-rate") == [ANDA, GANGCHENG, LUDONG]
    # The same file, the weights turned round: no code changes, another ranking.
    write_policy(
        tmp_path,
        "city",
        [
            {"measure": "pass_rate_field", "weight": 10},
            {"measure": "complaints_per_100", "weight": 90},
        ],
    )
    index.publish(PublishIndex("by-complaints", CITY, AS_OF, "schedule"))
    assert ranks(demo_engine, "by-complaints") == [LUDONG, GANGCHENG, ANDA]


def test_penalties_and_complaints_pull_a_school_down_and_onto_the_black_list(
    demo_engine: Engine,
) -> None:
    h = balanced_city()
    seed(demo_engine, h)
    rules = load_quality_indexes([RIZHAO])[CITY]
    with Session(demo_engine) as session:
        publish(session, "before", CITY, rules, AS_OF, "schedule")
    later = History(_n=10_000)
    j = later.journey(later.learner("p"), ANDA, f"{ANDA}-K1", CITY, days_ago(40), "active")
    for n in range(3):  # rizhao.yaml: 3 penalties black-list a school whatever its score
        later.penalty(ANDA, CITY, days_ago(3 + n))
    for _ in range(5):
        later.complaint(j, days_ago(2))
    seed(demo_engine, later)
    with Session(demo_engine) as session:
        publish(session, "after", CITY, rules, AS_OF, "schedule")
        anda = reading.scores(session, ["before", "after"], [ANDA])
    before, after = sorted(anda, key=lambda r: r.publication_id != "before")
    assert before.rank == 1 and not before.black_list
    # After (rizhao.yaml's targets; only items with data count, weights 20+10+10+10 = 50):
    # 科目二 90% -> (90-50)/45 = 0.888889 x 20; satisfaction 5 -> 1 x 10; 5 complaints per 11
    # learners = 45.5 per 100 -> 0 x 10; 3 penalties -> 0 x 10: 100 x 27.7778/50 = 55.56.
    # 港城: 0.444444 x 20 + 0.5 x 10 + 10 + 10 = 33.8889 -> 67.78; 鲁东: 0 + 0 + 10 + 10 -> 40.
    assert (after.score, after.rank, after.black_list) == (55.56, 2, True)
    assert "行政处罚数达到3" in after.list_reason
    assert ranks(demo_engine, "after") == [GANGCHENG, ANDA, LUDONG]
