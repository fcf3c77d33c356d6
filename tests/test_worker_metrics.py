"""The worker's SDK metrics, read from its Prometheus endpoint over HTTP."""

import asyncio
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import migrate
from tests.servers import free_port
from worker import build_worker, worker_runtime


async def test_the_worker_serves_its_sdk_metrics_on_loopback(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        task_queue=f"metrics-{uuid.uuid4().hex}",
        worker_metrics_address=address,
    )
    migrate(settings.database_url)
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        runtime=worker_runtime(settings),
    )
    mine = f'task_queue="{settings.task_queue}"'
    async with build_worker(client, settings), httpx.AsyncClient() as http:
        while True:  # the worker's first polls are counted a moment after it starts
            lines = (await http.get(f"http://{address}/metrics")).text.split("\n")
            if any(line.startswith("temporal_num_pollers{") and mine in line for line in lines):
                break
            await asyncio.sleep(0.1)
    assert any(line.startswith("temporal_worker_start{") and mine in line for line in lines)


def test_worker_metrics_are_on_loopback_unless_configured_and_can_be_off() -> None:
    assert Settings().worker_metrics_address.startswith("127.0.0.1:")
    assert worker_runtime(Settings(worker_metrics_address="")) is None
