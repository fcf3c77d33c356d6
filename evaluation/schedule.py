"""One Temporal Schedule per city with index rules: it starts IndexRecompute every
`recompute_every` seconds. Made (or brought up to the file's interval) when the worker starts."""

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

from policy.model import QualityIndex
from workflows.quality_index import IndexRecompute, IndexRecomputeWorkflow


def schedule_id(city_code: str) -> str:
    return f"index-{city_code}"


def index_schedule(city_code: str, rules: QualityIndex, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            IndexRecomputeWorkflow.run,
            IndexRecompute(city_code),
            id=schedule_id(city_code),  # the server adds the time of each run
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=rules.recompute_every))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_index_schedules(
    client: Client, rules_by_city: dict[str, QualityIndex], task_queue: str
) -> list[str]:
    """The schedules' ids, each created or updated to what the policy files say."""
    ids = []
    for city_code, rules in sorted(rules_by_city.items()):
        schedule = index_schedule(city_code, rules, task_queue)
        try:
            await client.create_schedule(schedule_id(city_code), schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id(city_code)).update(replace)
        ids.append(schedule_id(city_code))
    return ids
