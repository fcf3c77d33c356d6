"""Every route of the OpenAPI × every role × every other tenant (issue 12).

For each route: without a token it is refused (401); each role its rule does not name is
refused (403), ops acting as a learner among them; each other tenant (another learner, another
school's staff in the same city and in another, another city's regulator, accounts bound to no
school or region) is refused with the very answer a made-up id gets, so "not yours" and "does
not exist" cannot be told apart, and none of the victim's ids appears in what they are
answered; a signed callback is refused to a role's token without a signature. Nothing any of
them sends changes anything: every table's rows, the journey's and the complaint's history and
the journey's state are as before.

A route without a rule in rules.py fails, and so does a rule for a route that is gone.
"""

from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from tests.api.authz.calls import APP, MADE_UP, ROUTES, SPEC, TENANT_FIELDS, request_for, route_key
from tests.api.authz.rules import (
    ADMIN,
    ANYONE,
    LEARNER,
    OPS,
    REGULATOR,
    RULES,
    SIGNED_IN,
    STAFF,
    SUBSYSTEM,
    Rule,
)
from tests.api.authz.world import World

# Who calls for each role: the victim's own learner, school and regulator, so that a refusal
# is the role's and never the tenant's.
ROLE_CALLERS = {
    LEARNER: "learner",
    STAFF: "school1",
    REGULATOR: "rizhao",
    OPS: "ops",
    ADMIN: "admin",
}
OTHER_TENANTS = {
    LEARNER: ["other"],
    STAFF: ["school2", "school_fz", "unbound_staff"],
    REGULATOR: ["fuzhou", "unbound_gov"],
}
# The victim's own records: none may appear in what another tenant is answered.
PRIVATE = ("journey", "complaint", "consultation", "review", "slot")


def test_every_api_route_is_in_the_openapi() -> None:
    """No /api route hides from the matrix by leaving the OpenAPI (include_in_schema=False)."""
    served = {
        route_key(method, route.path)
        for route in iter_route_contexts(APP.routes)
        if (route.path or "").startswith("/api/")
        for method in route.methods or ()
    }
    assert served <= set(ROUTES), sorted(served - set(ROUTES))


def test_every_route_has_a_rule_and_every_rule_a_route() -> None:
    missing = sorted(set(ROUTES) - set(RULES))
    gone = sorted(set(RULES) - set(ROUTES))
    assert not missing, f"routes without a rule in tests/api/authz/rules.py: {missing}"
    assert not gone, f"rules in tests/api/authz/rules.py for routes that are gone: {gone}"


@pytest.mark.parametrize("route", [r for r in ROUTES if r in RULES])
async def test_no_one_else_gets_through(w: World, route: str) -> None:
    rule = RULES[route]
    if rule.caller == ANYONE:
        return  # nothing to refuse (signing in)
    before = await w.footprint()
    victims = request_for(SPEC, route, w.victim)
    no_token = await w.call(None, victims)
    assert no_token.status_code in _refusals(rule, 401), (route, no_token.text)
    if rule.caller == SIGNED_IN:
        await _everyone_sees_only_themself(w, victims)
    else:
        await _wrong_roles_are_refused(w, route, rule, victims)
    if rule.scoped and rule.caller in OTHER_TENANTS:
        await _other_tenants_are_refused(w, route, rule, victims)
        await _its_owner_gets_past(w, route, rule, victims)
    after = await w.footprint()
    changed = [name for name in before if before[name] != after[name]]
    rows = before["rows"], after["rows"]
    tables = [t for t in rows[0] if rows[0][t] != rows[1][t]]
    assert not changed, f"{route}: a refused call changed {changed} (tables {tables})"


async def _wrong_roles_are_refused(
    w: World, route: str, rule: Rule, victims: dict[str, Any]
) -> None:
    for role, caller in ROLE_CALLERS.items():
        if role == rule.caller:
            continue
        r = await w.call(caller, victims)
        assert r.status_code in _refusals(rule, 403), (route, role, r.status_code, r.text)


def _refusals(rule: Rule, status: int) -> tuple[int, ...]:
    """A callback without its signature is refused however the webhook says it (its signing
    is another part's); a role's call as `status` says."""
    return (401, 403) if rule.caller == SUBSYSTEM else (status,)


async def _everyone_sees_only_themself(w: World, victims: dict[str, Any]) -> None:
    seen = set()
    for caller in ROLE_CALLERS.values():
        r = await w.call(caller, victims)
        assert r.status_code == 200, r.text
        seen.add(r.json()["id"])
    assert len(seen) == len(ROLE_CALLERS)


def _names_a_tenant(route: str) -> bool:
    return any("{" + name + "}" in route for name in TENANT_FIELDS)


def _answer(r: httpx.Response) -> tuple[int, str | None, bytes]:
    return r.status_code, r.headers.get("content-type"), r.content


async def _other_tenants_are_refused(
    w: World, route: str, rule: Rule, victims: dict[str, Any]
) -> None:
    made_up = request_for(SPEC, route, MADE_UP)
    for caller in OTHER_TENANTS[rule.caller]:
        theirs, nobodys = await w.call(caller, victims), await w.call(caller, made_up)
        print("DBG", route, caller, theirs.status_code, theirs.text[:90])
        assert _answer(theirs) == _answer(nobodys), (route, caller, theirs.text, nobodys.text)
        if _names_a_tenant(route):  # 403: an account bound to no school or region
            assert theirs.status_code in (403, 404), (route, caller, theirs.text)
        leaked = [kind for kind in PRIVATE if w.victim[kind] in theirs.text]
        assert not leaked, (route, caller, leaked)


async def _its_owner_gets_past(w: World, route: str, rule: Rule, victims: dict[str, Any]) -> None:
    """The check above means something: the victim's records exist, and the entitled caller
    reading them is answered otherwise than a made-up id is."""
    if not route.startswith("GET ") or not _names_a_tenant(route):
        return
    owner = ROLE_CALLERS[rule.caller]
    theirs = await w.call(owner, victims)
    nobodys = await w.call(owner, request_for(SPEC, route, MADE_UP))
    assert _answer(theirs) != _answer(nobodys), (route, theirs.text)
