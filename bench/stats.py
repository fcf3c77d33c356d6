"""The arithmetic of a bench run: percentiles, and figures that carry their own baseline.

Every figure is reported next to a baseline measured in the same run (or, where the engine has
no counterpart, the issue's target), so a slow or busy machine moves both together.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """Milliseconds: p50 and p99 of `n` samples."""

    p50: float
    p99: float
    n: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Latency":
        ms = [s * 1000 for s in seconds]
        return cls(round(percentile(ms, 50), 2), round(percentile(ms, 99), 2), len(ms))


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, or None when the baseline is zero (nothing to compare with)."""
    return None if baseline == 0 else round(value / baseline, 3)


@dataclass(frozen=True)
class Target:
    """What the issue asks of a figure: `op` ("<=" or ">=") against `value`, applied to the
    figure's value or to its ratio."""

    op: str
    value: float
    of: str = "value"  # value | ratio

    def met(self, figure: "Figure") -> bool | None:
        subject = figure.ratio if self.of == "ratio" else figure.value
        if subject is None:
            return None
        return subject <= self.value if self.op == "<=" else subject >= self.value

    def __str__(self) -> str:
        return f"{'ratio' if self.of == 'ratio' else 'value'} {self.op} {self.value:g}"


@dataclass
class Figure:
    item: int  # the numbered list
    name: str  # stable id, e.g. "starts_per_s"
    label: str
    unit: str
    value: float
    baseline_label: str
    baseline: float
    # same_run: measured in this run on the same server; target: the number
    baseline_kind: str = "same_run"
    target: Target | None = None
    n: int | None = None  # samples behind the value
    detail: dict[str, Any] = field(default_factory=dict)
    # Requests that failed, or assertions that did not hold, while measuring it: any makes the
    # run fail once its results are written.
    errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.baseline)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["target"] = None if self.target is None else asdict(self.target)
        data["target_met"] = None if self.target is None else self.target.met(self)
        return data


def latency_figures(
    item: int,
    name: str,
    label: str,
    value: Latency,
    baseline_label: str,
    baseline: Latency,
    targets: dict[str, Target] | None = None,
    detail: dict[str, Any] | None = None,
    errors: list[str] | None = None,
) -> list[Figure]:
    """A p50 and a p99 figure, each against the baseline's same percentile."""
    targets = targets or {}
    return [
        Figure(
            item,
            f"{name}_{which}",
            f"{label} {which}",
            "ms",
            getattr(value, which),
            f"{baseline_label} {which}",
            getattr(baseline, which),
            target=targets.get(which),
            n=value.n,
            detail={**(detail or {}), "baseline_n": baseline.n},
            errors=list(errors or []),
        )
        for which in ("p50", "p99")
    ]
