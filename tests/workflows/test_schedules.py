"""The worker's start makes the driving-record Schedule once: again, it finds it and puts the
settings in force into it (on the dev server: the time-skipping one has no schedules)."""

from datetime import timedelta
from pathlib import Path

from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from scripts.schedules import GRADUATE_RECORDS, ensure_schedules
from tests.api.conftest import test_settings as api_settings


async def test_the_schedule_is_made_once_and_kept_up_to_date(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    settings = api_settings(tmp_path)
    made = await ensure_schedules(client, settings)
    await ensure_schedules(client, settings)  # a second worker start: no error, no second one
    handle = client.get_schedule_handle(GRADUATE_RECORDS)
    try:
        ids = [s.id async for s in await client.list_schedules()]
        assert ids.count(GRADUATE_RECORDS) == 1
        schedule = (await handle.describe()).schedule
        action = schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("GraduateRecordsPull", settings.task_queue)
        assert schedule.spec.intervals[0].every == timedelta(days=1)
        await ensure_schedules(client, settings.model_copy(update={"graduate_records_every": 600}))
        assert (await handle.describe()).schedule.spec.intervals[0].every == timedelta(minutes=10)
    finally:
        for schedule_id in made:  # the index's too (tests/evaluation/test_recompute.py)
            await client.get_schedule_handle(schedule_id).delete()
