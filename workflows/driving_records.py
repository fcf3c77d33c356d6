"""GraduateRecordsPull: run by a Schedule, reads every school's graduates' new driving records
from 12123, page by page, from where the last pull stopped.

Small and deterministic: the activities do the reading and writing (each page idempotent on
the 12123 record numbers and keyed by pull, school and position); an outage of 12123 is retried
until it answers. A pull with very many pages continues as new, carrying the schools still to
read.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.driving_records import PAGE_SIZE, PageResult, PullPage, SchoolPosition
    from workflows.steps import BACKGROUND

T = TypeVar("T")


@dataclass
class PullInput:
    page_size: int = PAGE_SIZE
    # Set when continuing as new: the schools (and positions) not yet read to the end.
    remaining: list[SchoolPosition] | None = None
    stored: int = 0  # by the runs before


@dataclass
class PullSummary:
    pages: int = 0
    stored: int = 0  # across the runs of this pull
    outside_window: int = 0
    unknown_driver: int = 0
    by_school: dict[str, int] = field(default_factory=dict)  # school -> records stored


async def _run(name: str, result_type: type[T], *args: Any) -> T:
    return await workflow.execute_activity(
        name,
        args=args,
        result_type=result_type,
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=BACKGROUND,
    )


@workflow.defn(name="GraduateRecordsPull")
class GraduateRecordsPull:
    @workflow.run
    async def run(self, inp: PullInput) -> PullSummary:
        schools = inp.remaining
        if schools is None:
            schools = await _run("driving_records.positions", list[SchoolPosition])
        summary = PullSummary(stored=inp.stored)
        for i, school in enumerate(schools):
            after, more = school.after, True
            while more:
                if workflow.info().is_continue_as_new_suggested():
                    rest = [SchoolPosition(school.school_id, after), *schools[i + 1 :]]
                    workflow.continue_as_new(PullInput(inp.page_size, rest, summary.stored))
                key = f"{workflow.info().workflow_id}:{school.school_id}:{after}"
                page = await _run(
                    "driving_records.pull_page",
                    PageResult,
                    PullPage(key, school.school_id, after, inp.page_size),
                )
                summary.pages += 1
                summary.stored += page.stored
                summary.outside_window += page.outside_window
                summary.unknown_driver += page.unknown_driver
                if page.stored:
                    got = summary.by_school.get(school.school_id, 0)
                    summary.by_school[school.school_id] = got + page.stored
                after, more = page.next_after, page.more
        return summary
