"""Loads a city policy file (YAML) into the Policy dataclasses, refusing incomplete files."""

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from evaluation.measures import MEASURES
from policy.model import (
    AgeLimits,
    ComplaintRules,
    ExamRules,
    IndexItem,
    IndexLevel,
    Policy,
    QualityIndex,
    ReleaseRule,
    ReviewRules,
    SubjectHours,
    Timers,
    TrainingRules,
)
from workflows.journey_state import Stage


class PolicyError(ValueError):
    pass


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise PolicyError(f"policy is missing {where}{key}")
    return mapping[key]


def parse_policy(raw: dict[str, Any]) -> Policy:
    try:
        hours = {cls: SubjectHours(**spec) for cls, spec in _require(raw, "hours", "").items()}
        ages = {cls: AgeLimits(**spec) for cls, spec in _require(raw, "ages", "").items()}
        timers = Timers(**_require(raw, "timers", ""))
        release = ReleaseRule(**_require(raw, "release", ""))
        training = TrainingRules(**raw.get("training", {}))
        exams = ExamRules(**raw.get("exams", {}))
        complaints = ComplaintRules(**raw.get("complaints", {}))
        reviews = ReviewRules(**raw.get("reviews", {}))
    except TypeError as exc:
        raise PolicyError(f"policy has a malformed section: {exc}") from exc
    if release.model not in ("per_hour", "staged"):
        raise PolicyError(f"release.model must be per_hour or staged, not {release.model!r}")
    if set(ages) != set(hours):
        raise PolicyError(f"ages must cover exactly the vehicle classes of hours: {sorted(hours)}")
    for cls, limits in ages.items():
        if limits.min_age < 0 or (limits.max_age is not None and limits.max_age < limits.min_age):
            raise PolicyError(f"ages.{cls}: max_age must not be below min_age")
    total_pct = release.enrolment_share_pct + sum(release.stage_share_pct.values())
    if release.model == "staged" and total_pct != 100:
        raise PolicyError(f"a staged release must add up to 100%, not {total_pct}%")
    check_complaint_rules(complaints)
    check_stuck_thresholds(timers)
    return Policy(
        city_code=str(_require(raw, "city_code", "")),
        city_name=_require(raw, "city_name", ""),
        escrow_bank=_require(raw, "escrow_bank", ""),
        hours=hours,
        timers=timers,
        release=release,
        training=training,
        exams=exams,
        version=str(raw.get("version", "1")),
        ages=ages,
        complaints=complaints,
        reviews=reviews,
    )


# The stages a journey can sit in.
OPEN_STAGES = tuple(s.value for s in Stage if s is not Stage.closed)


def check_stuck_thresholds(timers: Timers) -> None:
    if timers.stuck_after < 1:
        raise PolicyError("timers.stuck_after must be positive")
    for stage, seconds in timers.stuck_after_stage.items():
        if stage not in OPEN_STAGES:
            raise PolicyError(f"timers.stuck_after_stage.{stage}: not a stage; {OPEN_STAGES}")
        if not isinstance(seconds, int) or seconds < 1:
            raise PolicyError(f"timers.stuck_after_stage.{stage}: seconds must be positive")


def check_complaint_rules(rules: ComplaintRules) -> None:
    """Deadlines of at least one working day, and a calendar of real, unambiguous dates."""
    if rules.handling_working_days < 1 or rules.reopen_working_days < 1:
        raise PolicyError("complaints: working days must be at least 1")
    if rules.consultation_answer_seconds < 1 or rules.rating_window_seconds < 1:
        raise PolicyError("complaints: answer and rating windows must be positive")
    try:
        holidays = {date.fromisoformat(str(d)) for d in rules.holidays}
        makeup = {date.fromisoformat(str(d)) for d in rules.makeup_workdays}
    except ValueError as exc:
        raise PolicyError(f"complaints: a calendar entry is not an ISO date: {exc}") from exc
    if both := sorted(holidays & makeup):
        raise PolicyError(f"complaints: {both[0]} is both a holiday and a make-up working day")
    rules.holidays = sorted(d.isoformat() for d in holidays)
    rules.makeup_workdays = sorted(d.isoformat() for d in makeup)


def load_policy(path: Path) -> Policy:
    with open(path, encoding="utf-8") as fh:
        return parse_policy(yaml.safe_load(fh))


def load_policies(paths: list[Path]) -> dict[str, Policy]:
    """City code -> policy; two files for one city is a configuration error."""
    book: dict[str, Policy] = {}
    for path in paths:
        policy = load_policy(path)
        if policy.city_code in book:
            raise PolicyError(f"two policy files for city {policy.city_code}: {path}")
        book[policy.city_code] = policy
    return book


# ---- the service-quality index section (`quality_index`) -----------------------------------

NORMALISATIONS = ("min_max", "target")


def parse_quality_index(raw: dict[str, Any]) -> QualityIndex:
    """The `quality_index` section of a policy file, checked: known measures, positive weights,
    targets where the normalisation needs them, levels from the highest down."""
    section = _require(raw, "quality_index", "")
    try:
        items = [IndexItem(**spec) for spec in _require(section, "items", "quality_index.")]
        levels = [IndexLevel(**spec) for spec in _require(section, "levels", "quality_index.")]
        rest = {k: v for k, v in section.items() if k not in ("items", "levels")}
        index = QualityIndex(items=items, levels=levels, **rest)
    except TypeError as exc:
        raise PolicyError(f"quality_index is malformed: {exc}") from exc
    if not items:
        raise PolicyError("quality_index.items must name at least one measure")
    seen: set[str] = set()
    for item in items:
        where = f"quality_index.items.{item.measure}"
        if item.measure not in MEASURES:
            raise PolicyError(f"{where}: unknown measure; known: {sorted(MEASURES)}")
        if item.measure in seen:
            raise PolicyError(f"{where}: named twice")
        seen.add(item.measure)
        if not item.weight > 0:
            raise PolicyError(f"{where}: weight must be positive")
        if item.normalise not in NORMALISATIONS:
            raise PolicyError(f"{where}: normalise must be one of {NORMALISATIONS}")
        if item.normalise == "target" and (
            item.best is None or item.worst is None or item.best == item.worst
        ):
            raise PolicyError(f"{where}: target needs two different values best and worst")
    scores = [level.min_score for level in levels]
    if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
        raise PolicyError("quality_index.levels must go from the highest min_score down")
    for name in index.black_list_at_least:
        if name not in MEASURES:
            raise PolicyError(f"quality_index.black_list_at_least.{name}: unknown measure")
    if index.window_days < 1 or index.recompute_every < 60:
        raise PolicyError("quality_index: window_days >= 1 and recompute_every >= 60 seconds")
    return index


def load_quality_indexes(paths: list[Path]) -> dict[str, QualityIndex]:
    """City code -> its index rules, read from the files now (not cached: an edit counts)."""
    book: dict[str, QualityIndex] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        if "quality_index" in raw:
            book[str(_require(raw, "city_code", ""))] = parse_quality_index(raw)
    return book
