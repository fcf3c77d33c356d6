"""Training records learners disputed, read from the journeys that hold them: for the
regulator's region (api/routes/gov.py and the dashboard) and a school's console alike."""

import asyncio

from fastapi import HTTPException
from pydantic import BaseModel
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.journeys import fetch_view
from models.journeys import JourneyRecord
from workflows.journey_state import TRAINING_STAGES, Status

QUERIES_AT_ONCE = 16
QUERY_SECONDS = 5.0


class DisputedRecord(BaseModel):
    workflow_id: str
    school_id: str
    record_no: str
    subject: str
    reason: str
    status: str  # disputed: the school to answer; contested: the regulator to rule
    answer: str


async def disputed_records(
    session: Session, client: Client, scope: ColumnElement[bool], limit: int
) -> list[DisputedRecord]:
    """Disputed records in the active training journeys `scope` picks from the read model (at
    most `limit` journeys, longest in their stage first). A journey that cannot be read just
    now is left out."""
    journeys = session.exec(
        select(JourneyRecord)
        .where(
            scope,
            col(JourneyRecord.status) == Status.active.value,
            col(JourneyRecord.stage).in_([s.value for s in TRAINING_STAGES]),
        )
        .order_by(col(JourneyRecord.stage_entered_at))
        .limit(limit)
    ).all()
    session.commit()  # no connection held while the journeys answer
    gate = asyncio.Semaphore(QUERIES_AT_ONCE)

    async def disputed_in(wf_id: str) -> list[DisputedRecord]:
        async with gate:
            try:
                view = await asyncio.wait_for(fetch_view(client, wf_id), QUERY_SECONDS)
            except (HTTPException, TimeoutError):
                return []
        return [
            DisputedRecord(
                workflow_id=view.workflow_id,
                school_id=view.school_id,
                record_no=r.record_no,
                subject=r.subject,
                reason=r.dispute_reason,
                status=r.status,
                answer=r.answer,
            )
            for r in view.state.records
            if r.status in ("disputed", "contested")
        ]

    found = await asyncio.gather(*(disputed_in(j.workflow_id) for j in journeys))
    return [d for batch in found for d in batch][:limit]
