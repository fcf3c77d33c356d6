"""The quality_index section of a policy file: refused when it cannot be applied."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import ROOT
from policy.loader import PolicyError, load_policy, parse_quality_index

RIZHAO = ROOT / "policy" / "rizhao.yaml"


def section(**changes: Any) -> dict[str, Any]:
    raw = yaml.safe_load(RIZHAO.read_text(encoding="utf-8"))
    raw["quality_index"].update(changes)
    return raw


def item(**spec: Any) -> dict[str, Any]:
    return {"measure": "penalties", "weight": 1, **spec}


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"items": [item(measure="bribes")]}, "unknown measure"),
        ({"items": [item(), item()]}, "named twice"),
        ({"items": [item(weight=0)]}, "weight must be positive"),
        ({"items": [item(normalise="zscore")]}, "normalise must be one of"),
        ({"items": [item(normalise="target", best=0)]}, "target needs two different values"),
        ({"items": []}, "at least one measure"),
        ({"levels": [{"level": "A", "min_score": 60}, {"level": "AA", "min_score": 75}]}, "levels"),
        ({"black_list_at_least": {"bribes": 1}}, "unknown measure"),
        ({"recompute_every": 1}, "recompute_every"),
        ({"weights": {}}, "malformed"),
    ],
)
def test_a_section_that_cannot_be_applied_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_quality_index(section(**changes))


def test_every_shipped_policy_has_an_index_and_still_loads_as_a_journey_policy() -> None:
    for path in sorted(Path(ROOT / "policy").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert parse_quality_index(raw).items, path
        assert load_policy(path).city_code == str(raw["city_code"])
