"""治理端 governance port: regulators query journeys in their region through Temporal visibility."""

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import select

from api.deps import RegulatorUser, SessionDep, TemporalDep
from api.errors import not_found
from api.journeys import fetch_view, view_json
from api.visibility import JourneySummary, list_journeys, quote
from core.regions import region_covers
from models.registry import School
from workflows import search_attributes as sa
from workflows.journey_state import Stage

router = APIRouter(prefix="/api/gov", tags=["gov"])


@router.get("/journeys")
async def region_journeys(
    session: SessionDep,
    client: TemporalDep,
    regulator: RegulatorUser,
    stage: Stage | None = None,
    school_id: str | None = Query(None, max_length=32),
    limit: int = Query(100, ge=1, le=1000),
) -> list[JourneySummary]:
    region = regulator.region_code or ""
    cities = sorted(
        {
            s.city_code
            for s in session.exec(select(School)).all()
            if region_covers(region, s.city_code)
        }
    )
    if school_id is not None:
        school = session.get(School, school_id)
        if school is None or not region_covers(region, school.city_code):
            raise HTTPException(404, "school not found in your region")
    if not cities:
        return []
    clauses = [f"{sa.CITY.name} IN ({', '.join(quote(c) for c in cities)})"]
    if stage is not None:
        clauses.append(f"{sa.STAGE.name} = {quote(stage.value)}")
    if school_id is not None:
        clauses.append(f"{sa.SCHOOL.name} = {quote(school_id)}")
    return await list_journeys(client, clauses, limit)


@router.get("/journeys/{wf_id}")
async def get_journey(wf_id: str, client: TemporalDep, regulator: RegulatorUser) -> dict:
    view = await fetch_view(client, wf_id)
    if not region_covers(regulator.region_code or "", view.city_code):
        raise not_found("journey")
    return view_json(view)
