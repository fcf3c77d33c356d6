"""Each city's policy says how long a journey may sit in each stage before ops see it stuck."""

from typing import Any

import pytest
import yaml

from policy.loader import OPEN_STAGES, PolicyError, parse_policy
from tests.policy.paths import POLICY_DIR


def raw(name: str) -> dict[str, Any]:
    return yaml.safe_load((POLICY_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["demo.yaml", "rizhao.yaml", "fuzhou.yaml"])
def test_every_city_names_a_threshold_for_every_stage(name: str) -> None:
    timers = parse_policy(raw(name)).timers
    assert set(timers.stuck_after_stage) == set(OPEN_STAGES)
    # 面签 is flagged no later than it lapses, and 追评 not before its window has closed.
    assert timers.stuck_threshold("signing") <= timers.signing_expiry
    assert timers.stuck_threshold("followup") > timers.followup_window


def test_a_stage_not_named_falls_back_to_stuck_after() -> None:
    policy = raw("rizhao.yaml")
    del policy["timers"]["stuck_after_stage"]["theory"]
    timers = parse_policy(policy).timers
    assert timers.stuck_threshold("theory") == timers.stuck_after == 1209600


@pytest.mark.parametrize(
    ("stage", "seconds", "says"),
    [("closed", 60, "not a stage"), ("teory", 60, "not a stage"), ("theory", 0, "positive")],
)
def test_a_wrong_threshold_is_refused(stage: str, seconds: int, says: str) -> None:
    policy = raw("demo.yaml")
    policy["timers"]["stuck_after_stage"][stage] = seconds
    with pytest.raises(PolicyError, match=says):
        parse_policy(policy)
