"""企业端 school port: a school's staff see their own learners and approve 面签."""

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field
from sqlmodel import select

from api.deps import SessionDep, StaffUser, TemporalDep
from api.errors import not_found
from api.journeys import fetch_view, run_update, view_json
from models.journeys import JourneyRecord
from workflows.journey import LearnerJourney
from workflows.journey_state import JourneyView, StaffDecision

router = APIRouter(prefix="/api/school", tags=["school"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


@router.get("/journeys")
def school_journeys(
    session: SessionDep, staff: StaffUser, stage: str | None = None, waiting_on: str | None = None
) -> list[JourneyRecord]:
    query = select(JourneyRecord).where(JourneyRecord.school_id == staff.school_id)
    if stage:
        query = query.where(JourneyRecord.stage == stage)
    if waiting_on:
        query = query.where(JourneyRecord.waiting_on == waiting_on)
    return list(session.exec(query.order_by(JourneyRecord.stage_entered_at)).all())


async def school_journey(client: TemporalDep, wf_id: str, staff: StaffUser) -> JourneyView:
    view = await fetch_view(client, wf_id)
    if view.school_id != staff.school_id:
        raise not_found("journey")
    return view


@router.get("/journeys/{wf_id}")
async def get_journey(wf_id: str, client: TemporalDep, staff: StaffUser) -> dict:
    return view_json(await school_journey(client, wf_id, staff))


@router.post("/journeys/{wf_id}/signing/approve")
async def approve_signing(
    wf_id: str, client: TemporalDep, staff: StaffUser, key: IdempotencyKey = None
) -> dict:
    await school_journey(client, wf_id, staff)
    return view_json(
        await run_update(
            client, wf_id, LearnerJourney.approve_signing, StaffDecision(staff.id), key
        )
    )


class Rejection(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


@router.post("/journeys/{wf_id}/signing/reject")
async def reject_signing(
    wf_id: str, body: Rejection, client: TemporalDep, staff: StaffUser, key: IdempotencyKey = None
) -> dict:
    await school_journey(client, wf_id, staff)
    return view_json(
        await run_update(
            client, wf_id, LearnerJourney.reject_signing, StaffDecision(staff.id, body.reason), key
        )
    )
