"""The platform's Temporal Schedules, made (or brought up to date) at the worker's start:
the graduates' driving-record pull from 12123, and each city's service-quality index
recompute (from the policy files: editing `recompute_every` takes effect at the next start).
Running it again changes nothing."""

import asyncio
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.config import Settings, get_settings
from policy.loader import load_quality_indexes
from policy.model import QualityIndex
from workflows.driving_records import GraduateRecordsPull, PullInput
from workflows.quality_index import IndexRecompute, IndexRecomputeWorkflow

GRADUATE_RECORDS = "graduate-driving-records"


def graduate_records_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            GraduateRecordsPull.run,
            PullInput(),
            id=f"{GRADUATE_RECORDS}-pull",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(seconds=settings.graduate_records_every))
            ]
        ),
        # A pull still reading (12123 down for hours) is not joined by a second one.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Creates the schedules, or puts today's settings into the ones that exist; their ids."""
    wanted = {GRADUATE_RECORDS: graduate_records_schedule(settings)}
    for city_code, rules in sorted(load_quality_indexes(settings.policy_paths).items()):
        wanted[index_schedule_id(city_code)] = index_schedule(city_code, rules, settings.task_queue)
    for schedule_id, schedule in wanted.items():
        await _put(client, schedule_id, schedule)
    return list(wanted)


async def _put(client: Client, schedule_id: str, wanted: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, wanted)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(replace)


def index_schedule_id(city_code: str) -> str:
    return f"index-{city_code}"


def index_schedule(city_code: str, rules: QualityIndex, task_queue: str) -> Schedule:
    """The city's index recompute every `recompute_every` seconds of its policy file."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            IndexRecomputeWorkflow.run,
            IndexRecompute(city_code),
            id=index_schedule_id(city_code),  # the server adds the time of each run
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=rules.recompute_every))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def main() -> None:
    from api.main import connect_temporal

    settings = get_settings()
    await ensure_schedules(await connect_temporal(settings), settings)


if __name__ == "__main__":
    asyncio.run(main())
