"""The bench's arithmetic and its results file: pure code, no timing."""

import json
from pathlib import Path

import pytest

from bench.results import document, table, write
from bench.stats import Figure, Latency, Target, latency_figures, percentile


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 99) == pytest.approx(4.96)
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_no_values_and_a_q_outside_0_100() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_is_in_milliseconds() -> None:
    assert Latency.of([0.010, 0.020, 0.030]) == Latency(p50=20.0, p99=29.8, n=3)


def figure(value: float, baseline: float, target: Target | None = None) -> Figure:
    return Figure(1, "starts_per_s", "starts/s", "/s", value, "raw/s", baseline, target=target)


def test_a_figure_carries_its_ratio_and_whether_it_meets_its_target() -> None:
    f = figure(80.0, 100.0, Target(">=", 0.8, of="ratio"))
    assert f.ratio == 0.8
    assert f.as_dict()["target_met"] is True
    assert figure(79.0, 100.0, Target(">=", 0.8, of="ratio")).as_dict()["target_met"] is False
    assert figure(120.0, 1.0, Target("<=", 100)).as_dict()["target_met"] is False
    assert figure(1.0, 0.0).ratio is None


def test_latency_figures_set_each_percentile_against_the_same_one_of_the_baseline() -> None:
    p50, p99 = latency_figures(
        2,
        "step",
        "step",
        Latency(30.0, 90.0, 40),
        "raw",
        Latency(10.0, 60.0, 40),
        targets={"p99": Target("<=", 1.5, of="ratio")},
    )
    assert (p50.name, p50.ratio, p50.target) == ("step_p50", 3.0, None)
    assert (p99.name, p99.ratio, p99.target.met(p99)) == ("step_p99", 1.5, True)  # type: ignore[union-attr]


def test_the_results_file_holds_each_figure_with_its_baseline_and_ratio(tmp_path: Path) -> None:
    f = figure(50.0, 100.0, Target(">=", 0.8, of="ratio"))
    doc = document([f], seconds=12.3, counts={"starts": 10}, extra={"plans": {}})
    path = write(doc, tmp_path, label="try")
    saved = json.loads(path.read_text())
    assert path.name == f"{doc['date']}-try.json"
    (only,) = saved["figures"]
    assert (only["value"], only["baseline"], only["ratio"]) == (50.0, 100.0, 0.5)
    assert only["target_met"] is False
    assert "| 1 | starts/s | 50.0 /s | 100 (raw/s) | 0.5 | ratio >= 0.8 | NO |" in table([f])
