"""IndexRecompute: one publication of a city's service-quality index (一指数).

Started by the city's Temporal Schedule (scripts/schedules.py) and on demand by its regulator
(POST /api/gov/index/publications). The publication is keyed by this workflow's id and dated by
the workflow's clock, so a retried activity stores the same publication once. A city without
index rules in its policy file is a refusal the workflow reports, not a failure.
"""

from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.steps import business_reason, call

with workflow.unsafe.imports_passed_through():
    from activities.quality_index import IndexPublished, PublishIndex


@dataclass
class IndexRecompute:
    city_code: str
    trigger: str = "schedule"  # schedule | regulator
    requested_by: str = ""


@dataclass
class IndexOutcome:
    publication_id: str
    city_code: str
    as_of: datetime
    schools: int = 0
    refused: str = ""  # why nothing was published


@workflow.defn(name="IndexRecompute")
class IndexRecomputeWorkflow:
    @workflow.run
    async def run(self, req: IndexRecompute) -> IndexOutcome:
        publication_id, as_of = workflow.info().workflow_id, workflow.now()
        job = PublishIndex(publication_id, req.city_code, as_of, req.trigger, req.requested_by)
        try:
            done: IndexPublished = await call("index.publish", job, result_type=IndexPublished)
        except ActivityError as err:
            reason = business_reason(err)
            if reason is None:
                raise
            return IndexOutcome(publication_id, req.city_code, as_of, refused=reason)
        return IndexOutcome(publication_id, req.city_code, done.as_of, done.schools)
