"""The index under a city's rules, from the schools' counters: pure arithmetic, no I/O.

Each item's value is normalised to 0..1 between a worst and a best value: the policy's targets
(`target`, clamped) or the city's worst and best school in this run (`min_max`; all equal:
everyone scores 1). The level-1 score is 100 x the weighted mean of the items that have data
(an item without data, e.g. no exams sat, is left out and the other weights share its part).
Levels, ranks (equal scores share a rank) and the red and black lists follow from the score.
"""

from dataclasses import dataclass, field

from evaluation.measures import MEASURES
from policy.model import IndexItem, QualityIndex

LOWEST_LEVEL = "B"


@dataclass
class ItemResult:
    measure: str
    value: float | None
    numerator: float
    denominator: float | None
    method: str
    low: float | None  # the value that scores 0
    high: float | None  # the value that scores 1
    normalised: float | None
    weight: float
    points: float | None = None


@dataclass
class SchoolResult:
    school_id: str
    counters: dict[str, float]
    measures: dict[str, float | None]
    items: list[ItemResult]
    score: float | None = None
    level: str | None = None
    rank: int | None = None
    red_list: bool = False
    black_list: bool = False
    list_reasons: list[str] = field(default_factory=list)


def compute_index(rules: QualityIndex, counters: dict[str, dict[str, float]]) -> list[SchoolResult]:
    """Every school's items, score, level, rank and list mark, best first."""
    results = [
        SchoolResult(
            school_id,
            values,
            {name: _rounded(m.value(values)) for name, m in MEASURES.items()},
            [],
        )
        for school_id, values in sorted(counters.items())
    ]
    for item in rules.items:
        _normalise(item, results)
    for r in results:
        _score(r)
        _classify(rules, r)
    _rank(results)
    return sorted(results, key=lambda r: (r.rank is None, r.rank or 0, r.school_id))


def _normalise(item: IndexItem, results: list[SchoolResult]) -> None:
    measure = MEASURES[item.measure]
    values = [r.measures[item.measure] for r in results]
    present = [v for v in values if v is not None]
    if item.normalise == "target":
        low, high = item.worst, item.best
    elif present:
        best, worst = (max, min) if measure.higher_is_better else (min, max)
        low, high = worst(present), best(present)
    else:
        low = high = None
    for r, value in zip(results, values, strict=True):
        normalised = None
        if value is not None and low is not None and high is not None:
            normalised = 1.0 if low == high else min(1.0, max(0.0, (value - low) / (high - low)))
        r.items.append(
            ItemResult(
                measure=item.measure,
                value=value,
                numerator=r.counters.get(measure.numerator, 0),
                denominator=None
                if measure.denominator is None
                else r.counters.get(measure.denominator, 0),
                method=item.normalise,
                low=low,
                high=high,
                normalised=_rounded(normalised, 6),
                weight=item.weight,
            )
        )


def _score(r: SchoolResult) -> None:
    applied = [i for i in r.items if i.normalised is not None]
    total_weight = sum(i.weight for i in applied)
    if not total_weight:
        return
    for i in applied:
        assert i.normalised is not None
        i.points = _rounded(100 * i.weight * i.normalised / total_weight, 4)
    r.score = round(sum(i.points or 0 for i in applied), 2)


def _classify(rules: QualityIndex, r: SchoolResult) -> None:
    if r.score is not None:
        r.level = next((lv.level for lv in rules.levels if r.score >= lv.min_score), LOWEST_LEVEL)
        if r.score < rules.black_list_below_score:
            r.list_reasons.append(f"综合评分低于{rules.black_list_below_score:g}分")
    for name, threshold in rules.black_list_at_least.items():
        value = r.measures.get(name)
        if value is not None and value >= threshold:
            r.list_reasons.append(f"{MEASURES[name].label}达到{threshold:g}")
    r.black_list = bool(r.list_reasons)
    r.red_list = not r.black_list and r.score is not None and r.score >= rules.red_list_min_score
    if r.red_list:
        r.list_reasons.append(f"综合评分不低于{rules.red_list_min_score:g}分")


def _rank(results: list[SchoolResult]) -> None:
    """1, 2, 2, 4: equal scores share a rank; schools without a score have none."""
    scored = sorted((r for r in results if r.score is not None), key=lambda r: -(r.score or 0))
    for place, r in enumerate(scored, start=1):
        previous = scored[place - 2] if place > 1 else None
        r.rank = previous.rank if previous and previous.score == r.score else place


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
