"""The index against a hand-worked example: every number below is worked out in the comments."""

import pytest

from evaluation.index import compute_index
from evaluation.measures import SCHOOL_COUNTERS
from policy.model import IndexItem, IndexLevel, QualityIndex


def rules(**overrides: object) -> QualityIndex:
    base: dict[str, object] = {
        "items": [
            # 科目二 pass rate against targets: 90% scores 1, 50% scores 0.
            IndexItem("pass_rate_field", 60, "target", best=90, worst=50),
            # Complaints per 100 learners against the city's schools (lower is better).
            IndexItem("complaints_per_100", 40, "min_max"),
        ],
        "levels": [IndexLevel("AAA", 90), IndexLevel("AA", 75), IndexLevel("A", 60)],
        "red_list_min_score": 90,
        "black_list_below_score": 60,
        "black_list_at_least": {"penalties": 2},
    }
    return QualityIndex(**{**base, **overrides})  # type: ignore[arg-type]


def counters(**values: float) -> dict[str, float]:
    return {**dict.fromkeys(SCHOOL_COUNTERS, 0), **values}


CITY = {
    # A: 9 of 10 科目二 attempts passed = 90%; 1 complaint per 50 learners = 2 per 100.
    "A": counters(attempts_field=10, passes_field=9, learners=50, complaints=1),
    # B: 14 of 20 = 70%; 4 complaints per 20 learners = 20 per 100.
    "B": counters(attempts_field=20, passes_field=14, learners=20, complaints=4),
    # C: no 科目二 exam sat (no data); 1 per 10 learners = 10 per 100; 2 penalties.
    "C": counters(learners=10, complaints=1, penalties=2),
}


def test_index_matches_the_hand_worked_example() -> None:
    results = {r.school_id: r for r in compute_index(rules(), CITY)}
    a, b, c = results["A"], results["B"], results["C"]
    # Pass rate, target: A (90-50)/(90-50) = 1.0; B (70-50)/40 = 0.5; C no data.
    assert [r.items[0].normalised for r in (a, b, c)] == [1.0, 0.5, None]
    # Complaints per 100, min_max, lower better: worst 20 scores 0, best 2 scores 1;
    # A (2-20)/(2-20) = 1.0, B 0.0, C (10-20)/(2-20) = 10/18 = 0.555556.
    assert [r.items[1].value for r in (a, b, c)] == [2.0, 20.0, 10.0]
    assert (a.items[1].low, a.items[1].high) == (20.0, 2.0)
    assert [r.items[1].normalised for r in (a, b, c)] == [1.0, 0.0, 0.555556]
    # A: 100 x (60x1 + 40x1)/100 = 100. B: 100 x (60x0.5 + 40x0)/100 = 30.
    # C: only complaints has data, so its weight is all: 100 x 40x0.555556/40 = 55.56.
    assert (a.score, b.score, c.score) == (100.0, 30.0, 55.56)
    assert [i.points for i in a.items] == [60.0, 40.0]
    assert [i.points for i in b.items] == [30.0, 0.0]
    assert [i.points for i in c.items] == [None, 55.5556]
    assert (a.level, b.level, c.level) == ("AAA", "B", "B")
    assert (a.rank, c.rank, b.rank) == (1, 2, 3)
    # A is red-listed (>= 90); B below 60; C below 60 and 2 penalties: both black-listed.
    assert (a.red_list, a.black_list) == (True, False)
    assert (b.red_list, b.black_list) == (False, True)
    assert c.black_list and c.list_reasons == ["综合评分低于60分", "行政处罚数达到2"]


def test_results_come_best_first_and_equal_scores_share_a_rank() -> None:
    city = {**CITY, "D": CITY["A"]}
    ranked = compute_index(rules(), city)
    assert [(r.school_id, r.rank) for r in ranked] == [("A", 1), ("D", 1), ("C", 3), ("B", 4)]


def test_a_school_without_any_data_has_no_score_level_or_rank() -> None:
    ranked = compute_index(rules(), {**CITY, "E": counters()})
    e = ranked[-1]
    assert (e.school_id, e.score, e.level, e.rank, e.black_list) == ("E", None, None, None, False)


def test_other_weights_change_the_ranking() -> None:
    # Only the pass rate counts: A 1.0, B 0.5, C has no data (no score): A, B.
    heavy_pass = rules(items=[IndexItem("pass_rate_field", 1, "target", best=90, worst=50)])
    assert [r.school_id for r in compute_index(heavy_pass, CITY)] == ["A", "B", "C"]
    assert compute_index(heavy_pass, CITY)[2].score is None
    # Only complaints count: A 1.0, C 0.56, B 0.0.
    heavy_complaints = rules(items=[IndexItem("complaints_per_100", 1, "min_max")])
    assert [r.school_id for r in compute_index(heavy_complaints, CITY)] == ["A", "C", "B"]


@pytest.mark.parametrize(
    "score,level", [(90, "AAA"), (89.99, "AA"), (75, "AA"), (60, "A"), (59.9, "B")]
)
def test_levels_follow_the_policys_thresholds(score: float, level: str) -> None:
    only = rules(items=[IndexItem("satisfaction", 1, "target", best=5, worst=0)])
    # satisfaction = stars / reviews; 5 stars scores 1, so score = 20 x mean stars.
    stars = score / 20 * 10000
    result = compute_index(only, {"S": counters(reviews=10000, stars=stars)})[0]
    assert (result.score, result.level) == (score, level)
