"""Listing journeys through Temporal visibility (search attributes), for regulators and ops."""

from datetime import datetime

from pydantic import BaseModel
from temporalio.client import Client

from workflows import search_attributes as sa


class JourneySummary(BaseModel):
    workflow_id: str
    running: bool
    stage: str | None
    status: str | None
    school_id: str | None
    city_code: str | None
    vehicle_class: str | None
    waiting_on: str | None
    stage_entered_at: datetime | None


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def list_journeys(client: Client, clauses: list[str], limit: int) -> list[JourneySummary]:
    query = " AND ".join(["WorkflowType = 'LearnerJourney'", *clauses])
    found: list[JourneySummary] = []
    async for wf in client.list_workflows(query, limit=limit):
        attrs = wf.typed_search_attributes
        found.append(
            JourneySummary(
                workflow_id=wf.id,
                running=wf.status is not None and wf.status.name == "RUNNING",
                stage=attrs.get(sa.STAGE),
                status=attrs.get(sa.STATUS),
                school_id=attrs.get(sa.SCHOOL),
                city_code=attrs.get(sa.CITY),
                vehicle_class=attrs.get(sa.VEHICLE_CLASS),
                waiting_on=attrs.get(sa.WAITING_ON),
                stage_entered_at=attrs.get(sa.STAGE_ENTERED_AT),
            )
        )
    return found
