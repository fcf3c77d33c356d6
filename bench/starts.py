"""1. Journey starts per second through the API against raw `client.start_workflow`.

Both run before any worker polls, so the figure is what accepting a start costs (the API's
checks, the ID-number binding and the server's write), not the journeys' first steps. Raw and
API starts alternate in rounds so a neighbour's load falls on both. Everything started here is
terminated afterwards: these journeys never run.
"""

import time
import uuid
from functools import partial

import httpx

from bench.load import gather_bounded, timed
from bench.memory import Usage
from bench.platform import TRIVIAL_QUEUE, Platform
from bench.population import Learner, People
from bench.stats import Figure, Target


async def measure(
    p: Platform, http: httpx.AsyncClient, people: People, n: int, concurrency: int, rounds: int = 2
) -> list[Figure]:
    learners = people.learners("s", n)
    per_round = n // rounds
    raw_ids = [f"bench-start-{uuid.uuid4().hex[:12]}" for _ in range(per_round * rounds)]
    journey_ids: list[str] = []
    seconds = {"raw": 0.0, "api": 0.0}
    cpu = {"raw": 0.0, "api": 0.0}  # the starting side's CPU: this process, or the API's
    api_pid = p.pid("api")
    for r in range(rounds):
        part = slice(r * per_round, (r + 1) * per_round)
        raw = [partial(_raw_start, p, wf_id) for wf_id in raw_ids[part]]
        began = time.process_time()
        took, _ = await timed(partial(gather_bounded, raw, concurrency))
        seconds["raw"] += took
        cpu["raw"] += time.process_time() - began
        api = [partial(_api_start, http, learner) for learner in learners[part]]
        before = Usage.of(api_pid).cpu_s
        took, started = await timed(partial(gather_bounded, api, concurrency))
        seconds["api"] += took
        cpu["api"] += Usage.of(api_pid).cpu_s - before
        journey_ids += started
    await _terminate(p, [*raw_ids, *journey_ids])
    count = per_round * rounds
    return [
        Figure(
            1,
            "starts_per_s",
            "journey starts/s through the API",
            "/s",
            round(count / seconds["api"], 1),
            "raw start_workflow/s",
            round(count / seconds["raw"], 1),
            target=Target(">=", 0.8, of="ratio"),
            n=count,
            detail={"concurrency": concurrency, "rounds": rounds},
        ),
        # On a machine whose cores the server, the API and the caller share, what the API
        # spends per start is taken from the server's: this is the API's share to scale out.
        Figure(
            1,
            "api_cpu_per_start",
            "API process CPU per journey start",
            "ms",
            round(cpu["api"] * 1000 / count, 2),
            "raw client CPU per start",
            round(cpu["raw"] * 1000 / count, 2),
            n=count,
        ),
    ]


async def _raw_start(p: Platform, wf_id: str) -> None:
    await p.client.start_workflow("BenchTrivial", id=wf_id, task_queue=TRIVIAL_QUEUE)


async def _api_start(http: httpx.AsyncClient, learner: Learner) -> str:
    r = await http.post("/api/learner/journeys", json=learner.enrolment(), headers=learner.headers)
    if r.status_code != 201:
        raise RuntimeError(f"API start: HTTP {r.status_code} {r.text[:300]}")
    return r.json()["workflow_id"]


async def _terminate(p: Platform, ids: list[str]) -> None:
    calls = [partial(p.client.get_workflow_handle(i).terminate, "bench: start only") for i in ids]
    await gather_bounded(calls, 32)
