"""6. The worker's memory (RSS) with 1k and 2k open journeys (the issue asks 10k; see
bench/README.md), the growth between, and the worker's CPU per journey opened.

Journeys are placed in 科目二 (bench/population.py) until so many are open and each has had
its first workflow task (its read-model row is written then); the trivial workflow's worker is
filled alike with as many open trivial workflows. Both workers keep the SDK's default sticky
cache (max_cached_workflows=1000; worker.py sets none), so past 1k the cache is full and what
grows is what the worker keeps per journey outside it.
"""

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from bench.load import gather_bounded
from bench.platform import Platform
from bench.population import People, open_in_training
from bench.stats import Figure
from policy.model import Policy


@dataclass(frozen=True)
class Usage:
    """A process's resident memory and the CPU it has used so far."""

    rss_mib: float
    cpu_s: float

    @classmethod
    def of(cls, pid: int) -> "Usage":
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        # /proc/<pid>/stat: utime and stime are the 14th and 15th fields, after the name.
        ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
        cpu = sum(int(t) for t in ticks) / os.sysconf("SC_CLK_TCK")
        return cls(round(rss_kib / 1024, 1), cpu)


async def fill_trivial(p: Platform, open_ids: list[str], size: int) -> None:
    """Starts trivial workflows until `size` are open; an Update to the last few waits until
    the worker has taken them (it takes tasks in about the order they were started)."""
    new = await p.start_trivial(size - len(open_ids))
    open_ids += new
    last = [partial(p.client.get_workflow_handle(i).execute_update, "poke") for i in new[-20:]]
    await gather_bounded(last, 20)


async def usage_at(
    p: Platform,
    people: People,
    engine: Engine,
    policies: dict[str, Policy],
    trivial_ids: list[str],
    size: int,
) -> tuple[Usage, Usage]:
    """Fills both workers to `size` open workflows; then each one's usage (journeys, trivial)."""
    await open_in_training(p, people, engine, policies, size)
    await fill_trivial(p, trivial_ids, size)
    return Usage.of(p.pid("worker")), Usage.of(p.pid("trivial-worker"))


def figures(at: dict[int, tuple[Usage, Usage]]) -> list[Figure]:
    (small, (journeys_small, trivial_small)), (large, (journeys_large, trivial_large)) = sorted(
        at.items()
    )
    found = [
        Figure(
            6,
            f"worker_rss_{size}",
            f"worker RSS, {size:,} open journeys",
            "MiB",
            journeys.rss_mib,
            f"trivial worker, {size:,} open",
            trivial.rss_mib,
        )
        for size, (journeys, trivial) in sorted(at.items())
    ]
    growth = journeys_large.rss_mib - journeys_small.rss_mib
    added = large - small
    found += [
        Figure(
            6,
            "worker_rss_growth",
            f"worker RSS growth {small:,} -> {large:,} open journeys",
            "MiB",
            round(growth, 1),
            "trivial worker's growth",
            round(trivial_large.rss_mib - trivial_small.rss_mib, 1),
            detail={"mib_per_1k_journeys": round(growth * 1000 / added, 2)},
        ),
        # Not asked for, but what the scale plan needs: the worker's CPU to open a journey.
        Figure(
            6,
            "worker_cpu_per_journey",
            f"worker CPU per journey opened ({small:,} -> {large:,})",
            "ms",
            round((journeys_large.cpu_s - journeys_small.cpu_s) * 1000 / added, 1),
            "trivial worker, per workflow",
            round((trivial_large.cpu_s - trivial_small.cpu_s) * 1000 / added, 1),
        ),
    ]
    return found
