"""Every request's log line and Prometheus metrics, by route template (never the raw path: one
series per endpoint, not one per journey), and the ops-only `/metrics` that serves them."""

import hmac
import logging
import re
import time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SessionDep, SettingsDep, current_user, oauth2
from api.errors import api_error
from core.logs import journey_context
from models.users import Role

log = logging.getLogger("xuejia.api.requests")
JOURNEY_IN_PATH = re.compile(r"/journeys/([^/]+)")
UNMATCHED = "unmatched"  # no route took the request (a 404): one label for all such paths


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "xuejia_api_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.errors = Counter(
            "xuejia_api_errors",
            "HTTP requests answered with a 5xx status",
            ("method", "route"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "xuejia_api_request_seconds",
            "Time to answer an HTTP request",
            ("method", "route"),
            registry=self.registry,
        )


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestObserver:
    """ASGI middleware: times each HTTP request, counts it and logs one line for it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raises before responding
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        found = JOURNEY_IN_PATH.search(scope["path"])
        journey = found.group(1) if found else None
        try:
            with journey_context(journey):
                await self.app(scope, receive, observed_send)
        finally:
            self._observe(scope, status, time.perf_counter() - started, journey)

    def _observe(self, scope: Scope, status: int, seconds: float, journey: str | None) -> None:
        method, route = scope["method"], route_template(scope)
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        if status >= 500:
            self.metrics.errors.labels(method, route).inc()
        log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": round(seconds * 1000, 1),
                "journey_id": journey,
            },
        )


router = APIRouter(tags=["ops"])


def metrics_of(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def metrics_reader(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> None:
    """The scraper's own token (`metrics_token`), or an ops user's; nobody else."""
    if settings.metrics_token and token and hmac.compare_digest(token, settings.metrics_token):
        return
    user = await current_user(session, settings, token)
    if user.role is not Role.ops:
        raise api_error(status.HTTP_403_FORBIDDEN, "此入口仅限平台运维使用")


@router.get("/metrics", response_class=Response, dependencies=[Depends(metrics_reader)])
async def metrics(api: Annotated[ApiMetrics, Depends(metrics_of)]) -> Response:
    """Prometheus text format, for ops and their scraper only."""
    return Response(generate_latest(api.registry), media_type=CONTENT_TYPE_LATEST)


def install_observability(app: FastAPI) -> None:
    app.state.metrics = ApiMetrics()
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    app.include_router(router)
