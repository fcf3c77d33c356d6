"""The baseline: a workflow that does nothing but count, and its own worker process.

    python -m bench.trivial --address 127.0.0.1:7233 --task-queue bench-trivial

Raw SDK starts, Updates and queries of this workflow, on the same dev server as the journeys,
are what each journey figure is divided by.
"""

import argparse
import asyncio

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker


@workflow.defn(name="BenchTrivial")
class Trivial:
    def __init__(self) -> None:
        self._count = 0
        self._done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._count

    @workflow.update
    def poke(self) -> int:
        self._count += 1
        return self._count

    @workflow.query
    def count(self) -> int:
        return self._count

    @workflow.signal
    def finish(self) -> None:
        self._done = True


async def main(address: str, task_queue: str) -> None:
    # The platform's converter, as the journeys' clients use (imported here, outside the
    # workflow's module scope the sandbox re-imports).
    from core.codec import data_converter
    from core.config import get_settings

    client = await Client.connect(address, data_converter=data_converter(get_settings()))
    await Worker(client, task_queue=task_queue, workflows=[Trivial]).run()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Worker for the bench's trivial workflow.")
    p.add_argument("--address", required=True)
    p.add_argument("--task-queue", required=True)
    args = p.parse_args()
    asyncio.run(main(args.address, args.task_queue))
