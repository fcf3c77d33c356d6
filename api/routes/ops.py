"""Ops: journeys that have sat in one stage too long (the Temporal UI shows why)."""

from fastapi import APIRouter, Query

from api.bodies import StrictRoute
from api.deps import OpsUser, TemporalDep
from api.gov_service import stuck_clauses
from api.visibility import JourneySummary, list_journeys

router = APIRouter(prefix="/api/ops", tags=["ops"], route_class=StrictRoute)
MAX_AGE_SECONDS = 10 * 366 * 86400  # ten years: older than any journey


@router.get("/stuck")
async def stuck_journeys(
    client: TemporalDep,
    _: OpsUser,
    older_than_seconds: int = Query(3600, ge=1, le=MAX_AGE_SECONDS),
    limit: int = Query(100, ge=1, le=1000),
) -> list[JourneySummary]:
    return await list_journeys(client, stuck_clauses(older_than_seconds), limit)
