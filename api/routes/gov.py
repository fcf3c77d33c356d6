"""治理端 governance port: regulators query journeys in their region through Temporal visibility,
review stage reports (阶段报审) and see disputed training records."""

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col

from api import gov_service as service
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, RegulatorUser, SessionDep, TemporalDep
from api.disputes import DisputedRecord, disputed_records
from api.inputs import Answer, Id, PathId, Reason
from api.journeys import full_view_json
from api.visibility import JourneySummary
from core.regions import region_prefix
from models.journeys import JourneyRecord
from workflows.journey_state import (
    JourneyView,
    Stage,
    Subject,
    UpdateOutcome,
)

router = APIRouter(prefix="/api/gov", tags=["gov"], route_class=StrictRoute)


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
    view = await region_journey(session, client, wf_id, regulator)
    return await full_view_json(session, client, view, regulator)


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
    return await service.decide_stage_report(
        session, client, regulator, wf_id, subject.value, True, "", key
    )


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
    return await service.decide_stage_report(
        session, client, regulator, wf_id, subject.value, False, body.reason, key
    )


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
    return await service.rule_dispute(
        session, client, regulator, wf_id, record_no, body.uphold_record, body.reason, key
    )


# ---- disputed training records ------------------------------------------------------------


@router.get("/disputes")
async def disputes(
    session: SessionDep,
    client: TemporalDep,
    regulator: RegulatorUser,
    limit: int = Query(50, ge=1, le=200),
) -> list[DisputedRecord]:
    """Training records learners disputed, in active training journeys of the region."""
    prefix = region_prefix(regulator.region_code or "")
    scope = col(JourneyRecord.city_code).startswith(prefix)
    return await disputed_records(session, client, scope, limit)
