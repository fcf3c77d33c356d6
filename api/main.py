"""The API: app factory and lifespan (database migrations, demo data, policies, Temporal)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from temporalio.client import Client
from temporalio.runtime import Runtime

from api.errors import ERROR_RESPONSES, install_error_handlers
from api.observability import install_observability
from api.pages import install_pages
from api.routes import (
    auth,
    choosing,
    complaints,
    consultations,
    gov,
    learner,
    ops,
    penalties,
    quality,
    reviews,
    school,
    slots,
    training,
    webhooks,
)
from core.config import Settings, get_settings
from core.db import engine_for, migrate
from core.logs import configure_logging
from models.demo import load_demo_data
from models.demo_history import load_demo_history
from models.demo_slots import load_demo_slots
from policy.loader import load_policies, load_quality_indexes

log = logging.getLogger("xuejia.api")


async def connect_temporal(
    settings: Settings, attempts: int = 30, runtime: Runtime | None = None
) -> Client:
    """Waits for the Temporal frontend (it may still be starting under `make run`)."""
    for attempt in range(attempts):
        try:
            return await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime
            )
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def create_app(settings: Settings | None = None, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(settings.database_url)
        if settings.demo_mode:
            with Session(engine_for(settings.database_url)) as session:
                load_demo_data(session)
                if settings.demo_slots:
                    load_demo_slots(session, datetime.now(UTC))
                if settings.demo_history:
                    rules = load_quality_indexes(settings.policy_paths)
                    load_demo_history(session, rules, datetime.now(UTC))
        app.state.temporal = temporal or await connect_temporal(settings)
        yield

    app = FastAPI(
        title="学驾一件事 Xuejia", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    install_error_handlers(app)
    install_observability(app)
    app.state.settings = settings
    app.state.policies = load_policies(settings.policy_paths)
    app.state.temporal = temporal
    routes = (auth, learner, choosing, training, reviews, school, slots, gov, quality, penalties)
    for module in (*routes, ops, webhooks, consultations, complaints):
        app.include_router(module.router)
    install_pages(app)

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app() -> FastAPI:
    """uvicorn factory entry point: `uvicorn api.main:app --factory`."""
    settings = get_settings()
    configure_logging("api", settings.log_format)
    return create_app(settings)
