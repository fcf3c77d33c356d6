"""Bounded load: many calls, at most so many in flight, each timed."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def gather_bounded(calls: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Runs every call with at most `concurrency` in flight; results in the calls' order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def timed(call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """Seconds one awaited call took, and what it returned."""
    began = time.perf_counter()
    result = await call()
    return time.perf_counter() - began, result


async def wait_until(
    ready: Callable[[], Awaitable[bool]], what: str, seconds: float, step: float = 0.2
) -> None:
    """Polls `ready` until it holds; past `seconds` the run stops, naming what it waited for."""
    deadline = time.monotonic() + seconds
    while not await ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {seconds:.0f}s waiting for {what}")
        await asyncio.sleep(step)
