"""Every policy states who may enrol for each of its vehicle classes, and a file that does not
is refused at start rather than letting anyone enrol."""

from typing import Any

import pytest
import yaml

from core.config import ROOT
from policy.loader import PolicyError, parse_policy
from policy.model import AgeLimits

POLICIES = ["rizhao", "fuzhou", "demo"]


def raw(name: str) -> dict[str, Any]:
    with open(ROOT / "policy" / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize("name", POLICIES)
def test_c1_and_c2_need_18_years_and_have_no_upper_limit(name: str) -> None:
    # 公安部令第162号 第十一条; the upper limit of 70 was lifted on 2020-11-20.
    ages = parse_policy(raw(name)).ages
    assert ages == {"C1": AgeLimits(min_age=18), "C2": AgeLimits(min_age=18)}


def test_a_policy_without_ages_is_refused() -> None:
    policy = raw("rizhao")
    del policy["ages"]
    with pytest.raises(PolicyError, match="ages"):
        parse_policy(policy)


def test_a_vehicle_class_without_an_age_rule_is_refused() -> None:
    policy = raw("rizhao")
    del policy["ages"]["C2"]
    with pytest.raises(PolicyError, match="ages"):
        parse_policy(policy)


def test_an_upper_limit_below_the_lower_is_refused() -> None:
    policy = raw("rizhao")
    policy["ages"]["C1"] = {"min_age": 18, "max_age": 17}
    with pytest.raises(PolicyError, match="max_age"):
        parse_policy(policy)
