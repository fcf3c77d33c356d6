"""The API's request logs and Prometheus metrics: by route template, with the journey id, and
/metrics for the ops role only."""

import json
import logging

import httpx
import pytest
from fastapi import APIRouter

from api.observability import UNMATCHED
from core.config import Settings
from core.logs import XuejiaFormatter
from tests.api.conftest import Api

JOURNEY = "journey-U-nobody-S371100001-C1"
JOURNEY_ROUTE = "/api/learner/journeys/{wf_id}"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus text format (None: not there)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            series, value = line.rsplit(" ", 1)
            got = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
            if got == want:
                return float(value)
    return None


async def test_metrics_count_requests_by_route_template_not_by_path(api: Api) -> None:
    learner = await api.token("learner1")
    for _ in range(2):
        r = await api.http.get(f"/api/learner/journeys/{JOURNEY}", headers=learner)
        assert r.status_code == 404
    assert (await api.http.get("/no/such/page")).status_code == 404
    text = (await api.http.get("/metrics", headers=await api.token("ops"))).text
    labels = {"method": "GET", "route": JOURNEY_ROUTE, "status": "404"}
    assert sample(text, "xuejia_api_requests_total", **labels) == 2
    assert sample(text, "xuejia_api_request_seconds_count", method="GET", route=JOURNEY_ROUTE) == 2
    assert sample(text, "xuejia_api_requests_total", method="GET", route=UNMATCHED, status="404")
    assert JOURNEY not in text and "/no/such/page" not in text  # never a series per path


async def test_server_errors_are_counted_as_errors(api: Api) -> None:
    boom = APIRouter()

    @boom.get("/api/test-boom/{n}")
    async def fail(n: int) -> None:
        raise RuntimeError("boom")

    api.app.include_router(boom)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        assert (await http.get("/api/test-boom/1")).status_code == 500
    text = (await api.http.get("/metrics", headers=await api.token("ops"))).text
    route = "/api/test-boom/{n}"
    assert sample(text, "xuejia_api_errors_total", method="GET", route=route) == 1
    assert sample(text, "xuejia_api_requests_total", method="GET", route=route, status="500") == 1


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("learner1", 403), ("rizhao", 403), ("admin", 403)]
)
async def test_metrics_are_refused_to_all_but_ops(api: Api, who: str | None, status: int) -> None:
    headers = await api.token(who) if who else {}
    r = await api.http.get("/metrics", headers=headers)
    assert r.status_code == status
    assert "xuejia_api_requests_total" not in r.text


async def test_a_request_log_names_route_status_latency_and_journey(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    learner = await api.token("learner1")
    with caplog.at_level(logging.INFO, logger="xuejia.api.requests"):
        await api.http.get(f"/api/learner/journeys/{JOURNEY}", headers=learner)
    (record,) = [r for r in caplog.records if getattr(r, "route", None) == JOURNEY_ROUTE]
    line = json.loads(XuejiaFormatter("api").format(record))
    assert line["journey_id"] == JOURNEY
    assert (line["method"], line["route"], line["status"]) == ("GET", JOURNEY_ROUTE, 404)
    assert line["latency_ms"] >= 0 and line["process"] == "api" and line["level"] == "INFO"


async def test_a_scraper_reads_metrics_with_its_own_token_and_nothing_else(api: Api) -> None:
    token = "s" * 40
    api.settings.metrics_token = token
    r = await api.http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "xuejia_api_requests_total" in r.text
    r = await api.http.get("/metrics", headers={"Authorization": f"Bearer {token[:-1]}x"})
    assert r.status_code == 401
    with pytest.raises(ValueError, match="at least 32"):
        Settings(metrics_token="short")
