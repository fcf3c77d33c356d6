"""治理端 governance port: regulators query journeys in their region through Temporal visibility,
review stage reports (阶段报审) and see disputed training records."""

import asyncio

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col, select

from api import gov_service as service
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, RegulatorUser, SessionDep, TemporalDep
from api.inputs import Answer, Id, PathId, Reason
from api.journeys import fetch_view, full_view_json, run_update
from api.visibility import JourneySummary
from core.regions import region_prefix
from models.journeys import JourneyRecord
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    TRAINING_STAGES,
    DisputeRuling,
    JourneyView,
    Stage,
    StageReportAction,
    Status,
    Subject,
    UpdateOutcome,
)

router = APIRouter(prefix="/api/gov", tags=["gov"], route_class=StrictRoute)
DISPUTE_QUERIES_AT_ONCE = 16
DISPUTE_QUERY_SECONDS = 5.0


@router.get("/journeys")
async def region_journeys(
    session: SessionDep,
    client: TemporalDep,
    regulator: RegulatorUser,
    stage: Stage | None = None,
    school_id: Id | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[JourneySummary]:
    return await service.region_journeys(
        session, client, regulator, stage and stage.value, school_id, limit
    )


async def region_journey(
    session: SessionDep, client: TemporalDep, wf_id: str, regulator: RegulatorUser
) -> JourneyView:
    return await service.regulator_journey(session, client, wf_id, regulator)


@router.get("/journeys/{wf_id}", response_model=dict)
async def get_journey(
    wf_id: PathId, session: SessionDep, client: TemporalDep, regulator: RegulatorUser
) -> JSONResponse:
    return full_view_json(session, await region_journey(session, client, wf_id, regulator))


# ---- stage reports (阶段报审): the regulator's review ---------------------------------------


class ReportRejection(BaseModel):
    reason: Reason


@router.post("/journeys/{wf_id}/stages/{subject}/report/approve")
async def approve_stage_report(
    wf_id: PathId,
    session: SessionDep,
    subject: Subject,
    client: TemporalDep,
    regulator: RegulatorUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await region_journey(session, client, wf_id, regulator)
    action = StageReportAction(subject.value, regulator.id, approve=True, role="regulator")
    return await run_update(client, wf_id, LearnerJourney.stage_report, action, key)


@router.post("/journeys/{wf_id}/stages/{subject}/report/reject")
async def reject_stage_report(
    wf_id: PathId,
    session: SessionDep,
    subject: Subject,
    body: ReportRejection,
    client: TemporalDep,
    regulator: RegulatorUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await region_journey(session, client, wf_id, regulator)
    action = StageReportAction(
        subject.value, regulator.id, approve=False, reason=body.reason, role="regulator"
    )
    return await run_update(client, wf_id, LearnerJourney.stage_report, action, key)


class DisputeRulingBody(BaseModel):
    uphold_record: bool  # True: the record stands and the school is paid for it
    reason: Answer


@router.post("/journeys/{wf_id}/records/{record_no}/dispute-ruling")
async def rule_dispute(
    wf_id: PathId,
    session: SessionDep,
    record_no: PathId,
    body: DisputeRulingBody,
    client: TemporalDep,
    regulator: RegulatorUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    """The regulator rules on a dispute the school contested."""
    await region_journey(session, client, wf_id, regulator)
    req = DisputeRuling(record_no, regulator.id, body.uphold_record, body.reason)
    return await run_update(client, wf_id, LearnerJourney.rule_dispute, req, key)


# ---- disputed training records ------------------------------------------------------------


class DisputedRecord(BaseModel):
    workflow_id: str
    school_id: str
    record_no: str
    subject: str
    reason: str
    status: str  # disputed: the school to answer; contested: the regulator to rule
    answer: str


@router.get("/disputes")
async def disputes(
    session: SessionDep,
    client: TemporalDep,
    regulator: RegulatorUser,
    limit: int = Query(50, ge=1, le=200),
) -> list[DisputedRecord]:
    """Training records learners disputed, in active training journeys of the region.

    The read model picks the journeys (at most `limit`, longest in their stage first); each
    one's view gives its records. A journey that cannot be read just now is left out.
    """
    prefix = region_prefix(regulator.region_code or "")
    journeys = session.exec(
        select(JourneyRecord)
        .where(
            col(JourneyRecord.city_code).startswith(prefix),
            col(JourneyRecord.status) == Status.active.value,
            col(JourneyRecord.stage).in_([s.value for s in TRAINING_STAGES]),
        )
        .order_by(col(JourneyRecord.stage_entered_at))
        .limit(limit)
    ).all()
    session.commit()  # no connection held while the journeys answer
    gate = asyncio.Semaphore(DISPUTE_QUERIES_AT_ONCE)

    async def disputed_in(wf_id: str) -> list[DisputedRecord]:
        async with gate:
            try:
                view = await asyncio.wait_for(fetch_view(client, wf_id), DISPUTE_QUERY_SECONDS)
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
