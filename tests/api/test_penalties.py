"""Penalties from the enforcement simulator into the platform, through the signed webhook: once
per case number, a decision against an unknown school kept as refused (never a 500), and who
may see them: the region's regulator, and ops for the refused ones."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from core.signing import SIGNATURE_HEADER, sign
from subsystems import enforcement
from subsystems.common import SimOptions
from tests.api.conftest import Api


@pytest.fixture
async def officer(api: Api) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The enforcement simulator, its callbacks delivered to the API in-process."""
    options = SimOptions(
        platform_url="http://api",
        callback_transport=httpx.ASGITransport(app=api.app),
        callback_retry_base_seconds=0.01,
    )
    app = enforcement.create_app(":memory:", api.settings.enforcement_webhook_secret, options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as sim,
    ):
        yield sim, app


def decision(school: str, coach: str | None = None, **changes: object) -> dict[str, object]:
    return {
        "school_id": school,
        "coach_id": coach,
        "city_code": school[1:7],
        "kind": "fine",
        "reason": "未按规定使用计时培训系统",
        "amount_fen": 300000,
        "decided_at": "2026-11-20T10:00:00",
        **changes,
    }


async def decide(officer: tuple[httpx.AsyncClient, FastAPI], body: dict[str, object]) -> str:
    sim, app = officer
    r = await sim.post("/_simulate/penalties", json=body)
    assert r.status_code == 201, r.text
    await app.state.callbacks.drain()
    return str(r.json()["case_no"])


async def test_penalties_are_taken_in_once_and_the_unknown_refused(
    api: Api, officer: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    await officer[0].put("/_faults", json={"duplicate_callbacks": 2})  # sent three times each
    fined = await decide(officer, decision("S371100002", "S371100002-K1"))
    warned = await decide(officer, decision("S371100001", kind="warning", amount_fen=0))
    await decide(officer, decision("S350100001"))
    ghost = await decide(officer, decision("S371199999"))
    stranger = await decide(officer, decision("S371100001", "S371100002-K1"))
    delivered = [r for r in officer[1].state.callbacks.records if r.delivered]
    assert len(delivered) == 15  # every copy answered 2xx, the refused ones too
    gov = await api.token("rizhao")
    page = (await api.http.get("/api/gov/penalties", headers=gov)).json()
    assert page["total"] == 2
    assert {(p["case_no"], p["kind"], p["amount_fen"]) for p in page["items"]} == {
        (fined, "fine", 300000),
        (warned, "warning", 0),
    }
    got = await api.http.get(
        "/api/gov/penalties", params={"coach_id": "S371100002-K1"}, headers=gov
    )
    assert [p["case_no"] for p in got.json()["items"]] == [fined]
    fuzhou = (await api.http.get("/api/gov/penalties", headers=await api.token("fuzhou"))).json()
    assert fuzhou["total"] == 1
    ops = await api.token("ops")
    refused = (await api.http.get("/api/ops/penalty-refusals", headers=ops)).json()
    assert {(r["case_no"], r["reason"]) for r in refused} == {
        (ghost, "驾校不存在"),
        (stranger, "教练不存在或不属于该驾校"),
    }


async def test_who_may_see_penalties(api: Api) -> None:
    for user, url in (
        ("learner1", "/api/gov/penalties"),
        ("school1", "/api/gov/penalties"),
        ("rizhao", "/api/ops/penalty-refusals"),
    ):
        r = await api.http.get(url, headers=await api.token(user))
        assert r.status_code == 403, (user, url)
    assert (await api.http.get("/api/gov/penalties")).status_code == 401


async def test_the_webhook_refuses_forged_or_malformed_decisions(api: Api) -> None:
    secret = api.settings.enforcement_webhook_secret
    event = {"event": "penalty.decided", "case_no": "ZF1", **decision("S371100001")}
    event["decided_at"] = "2026-11-20T10:00:00+08:00"

    async def post(
        body: dict[str, object], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        return await api.http.post(
            "/api/webhooks/enforcement",
            content=raw,
            headers={"content-type": "application/json", **(headers or sign(raw, secret))},
        )

    raw = json.dumps(event).encode()
    forged = await post(event, {**sign(raw, secret), SIGNATURE_HEADER: "0" * 64})
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    for field, value in (
        ("kind", "ban"),
        ("decided_at", "2026-11-20T10:00:00"),
        ("amount_fen", -1),
    ):
        r = await post({**event, field: value})
        assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", field]), field
    assert (await post(event)).json() == {"status": "recorded"}
    assert (await post({**event, "amount_fen": 1})).json() == {"status": "duplicate"}
    assert (await post({**event, "event": "penalty.revoked"})).json() == {"status": "ignored"}
