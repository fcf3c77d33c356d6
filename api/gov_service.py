"""What regulators see of their region, for the JSON routes and the dashboard: journeys by
visibility, stuck ones, the read model's counts by stage and school, and one journey's view."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, select
from temporalio.client import Client

from api.errors import api_error
from api.idempotency import Idempotency
from api.journeys import Allowed, JourneyParty, run_update, visible_party, visible_view
from api.visibility import JourneySummary, list_journeys, quote
from core.regions import region_covers, region_prefix
from models.journeys import JourneyRecord
from models.registry import School
from models.users import User
from workflows import search_attributes as sa
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    DisputeRuling,
    JourneyView,
    StageReportAction,
    Status,
    UpdateOutcome,
    WaitingOn,
)


def region_schools(session: Session, regulator: User) -> list[School]:
    region = regulator.region_code or ""
    return [
        s
        for s in session.exec(select(School).order_by(School.id)).all()
        if region_covers(region, s.city_code)
    ]


def in_region(regulator: User) -> Allowed:
    return lambda party: region_covers(regulator.region_code or "", party.city_code)


async def regulator_journey(
    session: Session, client: Client, wf_id: str, regulator: User
) -> JourneyView:
    return await visible_view(session, client, wf_id, in_region(regulator))


async def regulator_party(
    session: Session, client: Client, wf_id: str, regulator: User
) -> JourneyParty:
    return await visible_party(session, client, wf_id, in_region(regulator))


def _region_clauses(session: Session, regulator: User, school_id: str | None) -> list[str] | None:
    """Visibility clauses for the region (None: the region has no schools, nothing to find)."""
    schools = region_schools(session, regulator)
    if school_id is not None and school_id not in {s.id for s in schools}:
        raise api_error(404, "辖区内没有此驾校", "not_found")
    session.commit()  # the reads are done: no connection held while Temporal answers
    cities = sorted({s.city_code for s in schools})
    if not cities:
        return None
    clauses = [f"{sa.CITY.name} IN ({', '.join(quote(c) for c in cities)})"]
    if school_id is not None:
        clauses.append(f"{sa.SCHOOL.name} = {quote(school_id)}")
    return clauses


async def region_journeys(
    session: Session,
    client: Client,
    regulator: User,
    stage: str | None,
    school_id: str | None,
    limit: int,
) -> list[JourneySummary]:
    clauses = _region_clauses(session, regulator, school_id)
    if clauses is None:
        return []
    if stage is not None:
        clauses.append(f"{sa.STAGE.name} = {quote(stage)}")
    return await list_journeys(client, clauses, limit)


def stuck_clauses(older_than_seconds: int) -> list[str]:
    """Running journeys that entered their stage more than `older_than_seconds` ago."""
    cutoff = (datetime.now(UTC) - timedelta(seconds=older_than_seconds)).isoformat()
    return ["ExecutionStatus = 'Running'", f"{sa.STAGE_ENTERED_AT.name} < {quote(cutoff)}"]


async def stuck_journeys(
    session: Session, client: Client, regulator: User, older_than_seconds: int, limit: int
) -> list[JourneySummary]:
    clauses = _region_clauses(session, regulator, None)
    if clauses is None:
        return []
    return await list_journeys(client, [*clauses, *stuck_clauses(older_than_seconds)], limit)


def active_by_stage_and_school(session: Session, regulator: User) -> Counter[tuple[str, str]]:
    """(stage, school id) -> active journeys, from the read model."""
    prefix = region_prefix(regulator.region_code or "")
    rows = session.exec(
        select(JourneyRecord.stage, JourneyRecord.school_id, func.count())
        .where(
            col(JourneyRecord.city_code).startswith(prefix),
            JourneyRecord.status == Status.active.value,
        )
        .group_by(JourneyRecord.stage, JourneyRecord.school_id)
    ).all()
    return Counter({(stage, school): n for stage, school, n in rows})


def temporal_ui_link(ui_url: str, namespace: str, wf_id: str) -> str:
    """The journey in the Temporal Web UI (ops see there why it waits)."""
    return f"{ui_url.rstrip('/')}/namespaces/{namespace}/workflows/{wf_id}"


async def decide_stage_report(
    session: Session,
    client: Client,
    regulator: User,
    wf_id: str,
    subject: str,
    approve: bool,
    reason: str,
    key: Idempotency,
) -> UpdateOutcome:
    await regulator_party(session, client, wf_id, regulator)
    action = StageReportAction(
        subject, regulator.id, approve=approve, reason=reason, role="regulator"
    )
    return await run_update(client, wf_id, LearnerJourney.stage_report, action, key)


async def rule_dispute(
    session: Session,
    client: Client,
    regulator: User,
    wf_id: str,
    record_no: str,
    uphold: bool,
    reason: str,
    key: Idempotency,
) -> UpdateOutcome:
    """The regulator rules on a dispute the school contested."""
    await regulator_party(session, client, wf_id, regulator)
    req = DisputeRuling(record_no, regulator.id, uphold, reason)
    return await run_update(client, wf_id, LearnerJourney.rule_dispute, req, key)


def awaiting_regulator(session: Session, regulator: User) -> list[JourneyRecord]:
    """Active journeys of the region whose next move is the regulator's (a stage report)."""
    prefix = region_prefix(regulator.region_code or "")
    return list(
        session.exec(
            select(JourneyRecord)
            .where(
                col(JourneyRecord.city_code).startswith(prefix),
                JourneyRecord.status == Status.active.value,
                JourneyRecord.waiting_on == WaitingOn.regulator.value,
            )
            .order_by(col(JourneyRecord.stage_entered_at))
        ).all()
    )
