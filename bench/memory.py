"""6. The worker's memory (RSS) with 1k and 10k open journeys, and the growth between.

Journeys are placed in 科目二 (bench/population.py) until so many are open and each has had
its first workflow task (its read-model row is written then); the trivial workflow's worker is
filled alike with as many open trivial workflows. Both workers keep the SDK's default sticky
cache (max_cached_workflows=1000; worker.py sets none), so past 1k the cache is full and what
grows is what the worker keeps per journey outside it.
"""

from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from bench.load import gather_bounded
from bench.platform import Platform
from bench.population import People, open_in_training
from bench.stats import Figure
from policy.model import Policy


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


async def fill_trivial(p: Platform, open_ids: list[str], size: int) -> None:
    """Starts trivial workflows until `size` are open; an Update to the last few waits until
    the worker has taken them (it takes tasks in about the order they were started)."""
    new = await p.start_trivial(size - len(open_ids))
    open_ids += new
    last = [partial(p.client.get_workflow_handle(i).execute_update, "poke") for i in new[-20:]]
    await gather_bounded(last, 20)


async def rss_at(
    p: Platform,
    people: People,
    engine: Engine,
    policies: dict[str, Policy],
    trivial_ids: list[str],
    size: int,
) -> tuple[float, float]:
    """Fills both workers to `size` open workflows; their RSS then (journeys, trivial)."""
    await open_in_training(p, people, engine, policies, size)
    await fill_trivial(p, trivial_ids, size)
    return rss_mib(p.pid("worker")), rss_mib(p.pid("trivial-worker"))


def figures(rss: dict[int, tuple[float, float]]) -> list[Figure]:
    (small, (journeys_small, trivial_small)), (large, (journeys_large, trivial_large)) = sorted(
        rss.items()
    )
    found = [
        Figure(
            6,
            f"worker_rss_{size}",
            f"worker RSS, {size:,} open journeys",
            "MiB",
            journeys,
            f"trivial worker, {size:,} open",
            trivial,
        )
        for size, (journeys, trivial) in sorted(rss.items())
    ]
    growth = journeys_large - journeys_small
    found.append(
        Figure(
            6,
            "worker_rss_growth",
            f"worker RSS growth {small:,} -> {large:,} open journeys",
            "MiB",
            round(growth, 1),
            "trivial worker's growth",
            round(trivial_large - trivial_small, 1),
            detail={"mib_per_1k_journeys": round(growth * 1000 / (large - small), 2)},
        )
    )
    return found
