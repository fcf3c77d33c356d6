"""Simulator apps under test, served in-process through httpx.ASGITransport.

Callbacks go to an in-process `Receiver` (also through ASGITransport) with fast retries.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from subsystems import bank, complaints12328, enforcement, exam12123, health, national, timing
from subsystems.common import SimOptions
from tests.subsystems.helpers import SECRET, Receiver

HOOK = "http://platform/hook"


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def options(receiver: Receiver) -> SimOptions:
    return SimOptions(
        callback_transport=httpx.ASGITransport(app=receiver.app),
        callback_retry_base_seconds=0.01,
    )


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client
    await app.state.sim.aclose()


@pytest.fixture
def national_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return national.create_app(str(tmp_path / "national.db"), SECRET, options)


@pytest.fixture
def health_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return health.create_app(str(tmp_path / "health.db"), SECRET, options)


@pytest.fixture
def bank_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return bank.create_app(str(tmp_path / "bank.db"), SECRET, options)


@pytest.fixture
def timing_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return timing.create_app(str(tmp_path / "timing.db"), SECRET, options)


@pytest.fixture
def exam_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return exam12123.create_app(str(tmp_path / "exam.db"), SECRET, options)


@pytest.fixture
def enforcement_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return enforcement.create_app(
        str(tmp_path / "enforcement.db"), SECRET, options, callback_url=HOOK
    )


@pytest.fixture
async def enforcement_client(enforcement_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(enforcement_app):
        yield client


@pytest.fixture
async def national_client(national_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(national_app):
        yield client


@pytest.fixture
async def health_client(health_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(health_app):
        yield client


@pytest.fixture
async def bank_client(bank_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(bank_app):
        yield client


@pytest.fixture
async def timing_client(timing_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(timing_app):
        yield client


@pytest.fixture
async def exam_client(exam_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(exam_app):
        yield client


@pytest.fixture
def complaints_app(tmp_path: Path, options: SimOptions) -> FastAPI:
    return complaints12328.create_app(str(tmp_path / "complaints.db"), SECRET, options)


@pytest.fixture
async def complaints_client(complaints_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(complaints_app):
        yield client
