"""2. A learner step's round trip: one Update through the API, against a raw SDK Update.

The step is the cheapest learner action a journey in training has: asking for another coach
(POST …/coach-change; an Update with no activity). The school then refuses it (untimed), so the
learner can ask again. The raw baseline does the same shape on the trivial workflow: a timed
Update, then an untimed one. `concurrency` learners (workflows) each do up to `rounds` rounds at
once, bounded in time; a failed step counts with the time it took, and is named as an error.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial

import httpx

from bench.load import timed
from bench.platform import Platform
from bench.population import OTHER_COACH, Learner
from bench.stats import Figure, Latency, Target, latency_figures
from workflows.journey import LearnerJourney
from workflows.journey_state import CoachChangeRequest, StageReportAction


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
        sdk = [partial(_sdk_round, p, wf_id) for _, wf_id in journeys[:concurrency]]
        raw_trips = await _rounds(raw, n)
        api_trips = await _rounds(api, n)
        sdk_trips = await _rounds(sdk, n)
        # A failed step is still a round trip the learner waited for: it counts, and is named.
        failed = Counter(error for _, error in api_trips if error)
        figures += latency_figures(
            2,
            f"step_c{concurrency}",
            f"learner step via API, {concurrency} concurrent",
            Latency.of([s for s, _ in api_trips]),
            "raw SDK Update",
            Latency.of([s for s, _ in raw_trips]),
            targets={"p99": Target("<=", 1.5, of="ratio")},
            detail={"concurrency": concurrency, "rounds_at_most": n, "failed": dict(failed)},
            errors=[f"{count}x {error}" for error, count in failed.items()],
        )
        # The same step as an SDK Update straight to the journey: what the journey's own code
        # costs over a trivial workflow's, and so what of the API's figure is the API's.
        figures += latency_figures(
            2,
            f"journey_update_c{concurrency}",
            f"the same step as an SDK Update of the journey, {concurrency} concurrent",
            Latency.of([s for s, _ in sdk_trips]),
            "raw SDK Update",
            Latency.of([s for s, _ in raw_trips]),
            detail={"concurrency": concurrency, "rounds_at_most": n},
        )
    # A saturated API may take long to drain: what follows needs it answering again.
    recovered = await p.api_answers_within(http, RECOVERY_SECONDS)
    figures[-1].detail["api_answers_again_after_s"] = recovered
    if recovered is None:
        figures[-1].errors.append(f"API unresponsive {RECOVERY_SECONDS:.0f}s later: restarted")
        p.restart_api()
    return figures


# No new round after this long at one level: a saturated API must not hold the run up.
LEVEL_SECONDS = 20.0
RECOVERY_SECONDS = 15.0
Trip = tuple[float, str]  # seconds, and what went wrong ("" when nothing did)


async def _rounds(
    actors: list[Callable[[], Awaitable[Trip]]], n: int, seconds: float = LEVEL_SECONDS
) -> list[Trip]:
    """Each actor does `n` rounds one after another, all actors at once; past `seconds` no
    actor begins another round (each does one at least)."""
    deadline = time.monotonic() + seconds

    async def actor(round_trip: Callable[[], Awaitable[Trip]]) -> list[Trip]:
        trips = [await round_trip()]
        while len(trips) < n and time.monotonic() < deadline:
            trips.append(await round_trip())
        return trips

    per_actor = await asyncio.gather(*(actor(a) for a in actors))
    return [trip for trips in per_actor for trip in trips]


async def _learner_round(
    http: httpx.AsyncClient, journey: tuple[Learner, str], school: dict[str, str]
) -> Trip:
    learner, wf_id = journey
    ask = {"coach_id": OTHER_COACH, "reason": "想换个时间更合适的教练"}
    url = f"/api/learner/journeys/{wf_id}/coach-change"
    began = time.perf_counter()
    try:
        r = await http.post(url, json=ask, headers=learner.headers)
    except httpx.TransportError as exc:
        return time.perf_counter() - began, f"learner step {type(exc).__name__}"
    seconds = time.perf_counter() - began
    if r.status_code != 200:
        return seconds, f"learner step HTTP {r.status_code}"
    reject = f"/api/school/journeys/{wf_id}/coach-change/reject"
    try:
        r = await http.post(reject, json={"reason": "该教练本月已约满"}, headers=school)
    except httpx.TransportError as exc:
        return seconds, f"school's refusal {type(exc).__name__}"
    return seconds, "" if r.status_code == 200 else f"school's refusal HTTP {r.status_code}"


async def _sdk_round(p: Platform, wf_id: str) -> Trip:
    handle = p.client.get_workflow_handle(wf_id)
    ask = CoachChangeRequest(OTHER_COACH, "王教练", "想换个时间更合适的教练")
    refuse = StageReportAction("", "bench-staff", False, "该教练本月已约满", role="school_staff")
    seconds, _ = await timed(
        partial(handle.execute_update, LearnerJourney.request_coach_change, ask)
    )
    await handle.execute_update(LearnerJourney.decide_coach_change, refuse)
    return seconds, ""


async def _raw_round(p: Platform, wf_id: str) -> Trip:
    handle = p.client.get_workflow_handle(wf_id)
    seconds, _ = await timed(partial(handle.execute_update, "poke"))
    await handle.execute_update("poke")
    return seconds, ""
