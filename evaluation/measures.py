"""The known computable measures: each a ratio of two counters the statistics produce.

A city's policy file picks its level-2 items from these (and may add any of them); each value
is traced back to its numerator and denominator in the breakdown. Only stdlib here: the policy
loader checks item names against `MEASURES`.
"""

from dataclasses import dataclass

# 12123 exam subjects by the journey's names for them.
SUBJECTS = {"theory": "科目一", "field": "科目二", "road": "科目三", "safety": "科目四"}

# The counters a school's (or coach's) statistics hold, by name.
SUBJECT_COUNTERS = tuple(
    f"{kind}_{subject}"
    for subject in SUBJECTS
    for kind in ("attempts", "passes", "first_attempts", "first_passes")
)
SCHOOL_COUNTERS = (
    "learners",  # journeys under way at some time in the window
    *SUBJECT_COUNTERS,
    "complaints",  # filed in the window
    "overdue_complaints",  # of those, past their deadline unanswered
    "penalties",  # decided in the window
    "reviews",  # written in the window (hidden ones too: only their text is hidden)
    "stars",  # the reviews' school stars, summed
    "graduates",  # licensed (科目四 passed) within the three years before the publication
    "violations",  # graduates' traffic violations in the window
    "accidents",
)


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    unit: str
    higher_is_better: bool
    numerator: str
    denominator: str | None = None  # None: the numerator is the value
    scale: float = 1.0

    def value(self, counters: dict[str, float]) -> float | None:
        """The measure from the counters; None when its denominator is zero (no data)."""
        top = counters.get(self.numerator, 0)
        if self.denominator is None:
            return float(top)
        bottom = counters.get(self.denominator, 0)
        return None if not bottom else top / bottom * self.scale


def _pass_rates() -> list[Measure]:
    rates = []
    for subject, label in SUBJECTS.items():
        rates.append(
            Measure(
                f"pass_rate_{subject}",
                f"{label}考试合格率",
                "%",
                True,
                f"passes_{subject}",
                f"attempts_{subject}",
                100,
            )
        )
        rates.append(
            Measure(
                f"first_pass_rate_{subject}",
                f"{label}首次考试合格率",
                "%",
                True,
                f"first_passes_{subject}",
                f"first_attempts_{subject}",
                100,
            )
        )
    return rates


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in [
        *_pass_rates(),
        Measure(
            "complaints_per_100",
            "每百名学员投诉数",
            "件/百人",
            False,
            "complaints",
            "learners",
            100,
        ),
        Measure("complaints", "投诉数", "件", False, "complaints"),
        Measure("overdue_complaints", "逾期未办结投诉数", "件", False, "overdue_complaints"),
        Measure("penalties", "行政处罚数", "次", False, "penalties"),
        Measure("satisfaction", "学员满意度", "星", True, "stars", "reviews"),
        Measure(
            "violation_rate",
            "结业三年内学员交通违法率",
            "起/百人",
            False,
            "violations",
            "graduates",
            100,
        ),
        Measure(
            "accident_rate",
            "结业三年内学员交通事故率",
            "起/百人",
            False,
            "accidents",
            "graduates",
            100,
        ),
        Measure("learners", "在培学员数", "人", True, "learners"),
    ]
}
