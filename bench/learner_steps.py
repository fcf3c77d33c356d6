"""2. A learner step's round trip: one Update through the API, against a raw SDK Update.

The step is the cheapest learner action a journey in training has: asking for another coach
(POST …/coach-change; an Update with no activity). The school then refuses it (untimed), so the
learner can ask again. The raw baseline does the same shape on the trivial workflow: a timed
Update, then an untimed one. `concurrency` learners (workflows) each do `rounds` rounds at once.
"""

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import httpx

from bench.load import timed
from bench.platform import Platform
from bench.population import OTHER_COACH, Learner
from bench.stats import Figure, Latency, Target, latency_figures


async def measure(
    p: Platform,
    http: httpx.AsyncClient,
    journeys: list[tuple[Learner, str]],
    school: dict[str, str],
    trivial_ids: list[str],
    rounds: dict[int, int],
) -> list[Figure]:
    figures: list[Figure] = []
    # One untimed round first: connections, caches and the API's first requests warm up.
    await _rounds([partial(_learner_round, http, j, school) for j in journeys[:1]], 1)
    await _rounds([partial(_raw_round, p, trivial_ids[0])], 1)
    for concurrency, n in rounds.items():
        raw = [partial(_raw_round, p, wf_id) for wf_id in trivial_ids[:concurrency]]
        api = [partial(_learner_round, http, j, school) for j in journeys[:concurrency]]
        raw_s = await _rounds(raw, n)
        api_s = await _rounds(api, n)
        figures += latency_figures(
            2,
            f"step_c{concurrency}",
            f"learner step via API, {concurrency} concurrent",
            Latency.of(api_s),
            "raw SDK Update",
            Latency.of(raw_s),
            targets={"p99": Target("<=", 1.5, of="ratio")},
            detail={"concurrency": concurrency, "rounds": n},
        )
    return figures


async def _rounds(actors: list[Callable[[], Awaitable[float]]], n: int) -> list[float]:
    """Each actor does `n` rounds one after another, all actors at once: the timed seconds."""

    async def actor(round_trip: Callable[[], Awaitable[float]]) -> list[float]:
        return [await round_trip() for _ in range(n)]

    per_actor = await asyncio.gather(*(actor(a) for a in actors))
    return [s for samples in per_actor for s in samples]


async def _learner_round(
    http: httpx.AsyncClient, journey: tuple[Learner, str], school: dict[str, str]
) -> float:
    learner, wf_id = journey
    ask = {"coach_id": OTHER_COACH, "reason": "想换个时间更合适的教练"}
    url = f"/api/learner/journeys/{wf_id}/coach-change"
    seconds, r = await timed(partial(http.post, url, json=ask, headers=learner.headers))
    _ok(r)
    reject = f"/api/school/journeys/{wf_id}/coach-change/reject"
    _ok(await http.post(reject, json={"reason": "该教练本月已约满"}, headers=school))
    return seconds


async def _raw_round(p: Platform, wf_id: str) -> float:
    handle = p.client.get_workflow_handle(wf_id)
    seconds, _ = await timed(partial(handle.execute_update, "poke"))
    await handle.execute_update("poke")
    return seconds


def _ok(r: httpx.Response) -> None:
    if r.status_code != 200:
        where = f"{r.request.method} {r.request.url.path}"
        raise RuntimeError(f"{where}: HTTP {r.status_code} {r.text[:300]}")
