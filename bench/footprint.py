"""5. One journey's footprint: the history of a full C1 journey and what reading it costs.

scripts/demo_journey.py drives a learner from sign-up to a closed journey through the API and
the simulators. Its history (Temporal's own count of bytes and events, the largest Update
result, the workflow's result) is set against a trivial workflow given as many Updates; its
view through GET /api/learner/journeys/{id}, closed and open, against raw SDK queries of a
closed and an open trivial workflow. A closed journey is read from the read model (the view it
closed with and its log); before issue 9's footprint work each read replayed the whole history
on the worker, which is why the reads are bounded in time.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.load import timed
from bench.platform import TRIVIAL_QUEUE, Platform
from bench.population import Learner
from bench.stats import Figure, Latency, Target, latency_figures
from scripts.demo_journey import DemoUrls, run_demo

KB = 1024


async def run_full_journey(p: Platform, learner: Learner, log: list[str]) -> str:
    """The demo journey, sign-up to closed; returns its workflow id."""
    s = p.settings
    urls = DemoUrls(s.api_base_url, s.timing_url, s.exam_url, s.bank_url, s.health_url)
    result = await run_demo(urls, learner.username, say=log.append, wait_seconds=180)
    if result["stage"] != "closed":
        raise RuntimeError(f"the demo journey ended at {result['stage']}: {result['log'][-3:]}")
    return result["workflow_id"]


async def history_of(client: Client, wf_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(wf_id)
    info = (await handle.describe()).raw_description.workflow_execution_info
    events = (await handle.fetch_history()).events
    updates = [_payload_bytes(e) for e in events if _is_update_result(e)]
    done = [e for e in events if e.HasField("workflow_execution_completed_event_attributes")]
    result = done[0].workflow_execution_completed_event_attributes.result if done else None
    return {
        "bytes": info.history_size_bytes,
        "events": info.history_length,
        "updates": len(updates),
        "update_result_max_bytes": max(updates, default=0),
        "update_result_mean_bytes": round(sum(updates) / len(updates)) if updates else 0,
        "update_results_bytes": sum(updates),
        "result_bytes": sum(p.ByteSize() for p in result.payloads) if result else 0,
    }


def _is_update_result(e: HistoryEvent) -> bool:
    return e.HasField("workflow_execution_update_completed_event_attributes")


def _payload_bytes(e: HistoryEvent) -> int:
    outcome = e.workflow_execution_update_completed_event_attributes.outcome
    return sum(p.ByteSize() for p in outcome.success.payloads) if outcome.HasField("success") else 0


async def closed_trivial(client: Client, updates: int) -> str:
    """A trivial workflow given `updates` Updates, then finished: the history baseline."""
    handle = await client.start_workflow(
        "BenchTrivial", id=f"bench-closed-{uuid.uuid4().hex[:12]}", task_queue=TRIVIAL_QUEUE
    )
    for _ in range(updates):
        await handle.execute_update("poke")
    await handle.signal("finish")
    await handle.result()
    return handle.id


async def samples(call: Callable[[], Awaitable[Any]], n: int, seconds: float) -> list[float]:
    """Up to `n` timed calls, one after another, stopping early once `seconds` are spent."""
    taken: list[float] = []
    deadline = time.monotonic() + seconds
    while len(taken) < n and (not taken or time.monotonic() < deadline):
        took, _ = await timed(call)
        taken.append(took)
    return taken


async def measure(
    p: Platform,
    http: httpx.AsyncClient,
    full: tuple[Learner, str],
    open_journey: tuple[Learner, str],
    open_trivial: str,
    reads: int,
    seconds: float,
) -> list[Figure]:
    (learner, wf_id), (open_learner, open_id) = full, open_journey
    journey = await history_of(p.client, wf_id)
    trivial_id = await closed_trivial(p.client, journey["updates"])
    trivial = await history_of(p.client, trivial_id)

    def api_read(who: Learner, i: str) -> Callable[[], Awaitable[Any]]:
        return partial(_get_ok, http, f"/api/learner/journeys/{i}", who.headers)

    def raw_read(i: str) -> Callable[[], Awaitable[Any]]:
        return partial(p.client.get_workflow_handle(i).query, "count")

    closed = await samples(api_read(learner, wf_id), reads, seconds)
    closed_raw = await samples(raw_read(trivial_id), reads, seconds)
    opened = await samples(api_read(open_learner, open_id), reads, seconds)
    opened_raw = await samples(raw_read(open_trivial), reads, seconds)
    view_target = {"p99": Target("<=", 50)}
    return [
        Figure(
            5,
            "history_kb",
            "full C1 journey history",
            "KB",
            round(journey["bytes"] / KB, 1),
            f"trivial wf, {journey['updates']} Updates",
            round(trivial["bytes"] / KB, 1),
            target=Target("<=", 400),
            detail={"journey": journey, "trivial": trivial},
        ),
        Figure(
            5,
            "history_events",
            "full C1 journey history events",
            "events",
            journey["events"],
            f"trivial wf, {journey['updates']} Updates",
            trivial["events"],
        ),
        Figure(
            5,
            "update_result_max_kb",
            "largest Update result",
            "KB",
            round(journey["update_result_max_bytes"] / KB, 2),
            "issue 9",
            4,
            baseline_kind="target",
            target=Target("<=", 4),
            detail={"mean_bytes": journey["update_result_mean_bytes"]},
        ),
        *latency_figures(
            5,
            "closed_view",
            "closed journey view via API",
            Latency.of(closed),
            "raw query, closed trivial wf",
            Latency.of(closed_raw),
            targets=view_target,
        ),
        *latency_figures(
            5,
            "open_view",
            "open journey view via API",
            Latency.of(opened),
            "raw query, open trivial wf",
            Latency.of(opened_raw),
            targets=view_target,
        ),
    ]


async def _get_ok(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    r = await http.get(url, headers=headers)
    if r.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {r.status_code} {r.text[:300]}")
