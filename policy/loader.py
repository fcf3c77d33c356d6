"""Loads a city policy file (YAML) into the Policy dataclasses, refusing incomplete files."""

from pathlib import Path
from typing import Any

import yaml

from policy.model import ExamRules, Policy, ReleaseRule, SubjectHours, Timers, TrainingRules


class PolicyError(ValueError):
    pass


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise PolicyError(f"policy is missing {where}{key}")
    return mapping[key]


def parse_policy(raw: dict[str, Any]) -> Policy:
    try:
        hours = {cls: SubjectHours(**spec) for cls, spec in _require(raw, "hours", "").items()}
        timers = Timers(**_require(raw, "timers", ""))
        release = ReleaseRule(**_require(raw, "release", ""))
        training = TrainingRules(**raw.get("training", {}))
        exams = ExamRules(**raw.get("exams", {}))
    except TypeError as exc:
        raise PolicyError(f"policy has a malformed section: {exc}") from exc
    if release.model not in ("per_hour", "staged"):
        raise PolicyError(f"release.model must be per_hour or staged, not {release.model!r}")
    total_pct = release.enrolment_share_pct + sum(release.stage_share_pct.values())
    if release.model == "staged" and total_pct != 100:
        raise PolicyError(f"a staged release must add up to 100%, not {total_pct}%")
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
    )


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
