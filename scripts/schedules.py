"""The platform's Temporal Schedules, made (or brought up to date) at the worker's start:
the graduates' driving-record pull from 12123, and each city's service-quality index
(evaluation/schedule.py, from the policy files). Running it again changes nothing."""

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
from evaluation.schedule import ensure_index_schedules
from policy.loader import load_quality_indexes
from workflows.driving_records import GraduateRecordsPull, PullInput

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


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Creates the schedules, or puts today's settings into the ones that exist."""
    wanted = graduate_records_schedule(settings)
    try:
        await client.create_schedule(GRADUATE_RECORDS, wanted)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(GRADUATE_RECORDS).update(replace)
    rules = load_quality_indexes(settings.policy_paths)
    await ensure_index_schedules(client, rules, settings.task_queue)


async def main() -> None:
    from api.main import connect_temporal

    settings = get_settings()
    await ensure_schedules(await connect_temporal(settings), settings)


if __name__ == "__main__":
    asyncio.run(main())
