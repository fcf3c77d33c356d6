"""The ops stuck view: journeys in one stage longer than their city's policy allows for it, and
journeys waiting on a subsystem (an activity the worker saw failing, confirmed by the journey's
pending activities). Each row says why in words, since when, and links to the Temporal UI."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.gov_service import temporal_ui_link
from core.config import Settings
from models.journeys import JourneyRecord
from models.ops import ActivityTrouble
from policy.model import Policy
from workflows import search_attributes as sa
from workflows.journey import LearnerJourney
from workflows.journey_state import STAGE_NAMES, Stage, Status

# Who an activity talks to, by the prefix of its name (activities/*.py).
SUBSYSTEM_NAMES = {
    "national": "全国驾培平台",
    "health": "体检机构",
    "bank": "监管银行",
    "timing": "计时平台",
    "exam": "12123 考试系统",
    "complaints12328": "12328 投诉系统",
}
OWN_SYSTEM = "平台自身（数据库或文档）"
DESCRIBES_AT_ONCE = 8


class FailingActivity(BaseModel):
    activity_id: str
    activity_type: str
    subsystem: str  # who it waits on, in words
    attempt: int
    last_failure: str
    failing_since: datetime
    next_attempt_at: datetime | None


class StuckJourney(BaseModel):
    workflow_id: str
    school_id: str
    city_code: str
    stage: str
    stage_name: str
    waiting_on: str
    stage_entered_at: datetime
    since: datetime  # the earliest of the reasons below
    reasons: list[str]  # in words, for people
    failing_activities: list[FailingActivity]
    temporal_ui_url: str


def subsystem_of(activity_type: str) -> str:
    return SUBSYSTEM_NAMES.get(activity_type.split(".", 1)[0], OWN_SYSTEM)


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every one the platform writes is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _thresholds(policies: dict[str, Policy], override: int | None) -> dict[tuple[str, str], int]:
    """(city, stage) -> seconds in the stage before a journey is stuck."""
    return {
        (city, stage.value): override or policy.timers.stuck_threshold(stage.value)
        for city, policy in policies.items()
        for stage in Stage
        if stage is not Stage.closed
    }


def overdue_journeys(
    session: Session, thresholds: dict[tuple[str, str], int], now: datetime, limit: int
) -> list[JourneyRecord]:
    """Active journeys past their (city, stage) threshold, longest in their stage first."""
    past = [
        and_(
            col(JourneyRecord.city_code) == city,
            col(JourneyRecord.stage) == stage,
            col(JourneyRecord.stage_entered_at) < now - timedelta(seconds=seconds),
        )
        for (city, stage), seconds in thresholds.items()
    ]
    return list(
        session.exec(
            select(JourneyRecord)
            .where(JourneyRecord.status == Status.active.value, or_(*past))
            .order_by(col(JourneyRecord.stage_entered_at))
            .limit(limit)
        ).all()
    )


def troubled_workflows(session: Session, limit: int) -> dict[str, list[ActivityTrouble]]:
    """Workflow id -> the activities the worker saw failing, longest failing first. Not
    joined with the read model: a journey can fail before its first projection."""
    rows = session.exec(
        select(ActivityTrouble).order_by(col(ActivityTrouble.first_failed_at))
    ).all()
    found: dict[str, list[ActivityTrouble]] = {}
    for row in rows:
        if row.workflow_id in found:
            found[row.workflow_id].append(row)
        elif len(found) < limit:
            found[row.workflow_id] = [row]
    return found


@dataclass
class Failing:
    """A running journey as Temporal describes it, and its pending activities that failed."""

    description: WorkflowExecutionDescription
    activities: list[PendingActivityInfo]


async def pending_failures(client: Client, wf_id: str) -> Failing | None:
    """The running journey's pending activities whose last attempt failed; None: not a
    running journey (ended, gone, or another kind of workflow)."""
    try:
        description = await client.get_workflow_handle(wf_id).describe()
    except RPCError:
        return None
    if description.status != WorkflowExecutionStatus.RUNNING:
        return None
    if description.workflow_type != LearnerJourney.__name__:
        return None
    return Failing(description, failed_pending(description))


def failed_pending(description: WorkflowExecutionDescription) -> list[PendingActivityInfo]:
    raw = description.raw_description.pending_activities
    return [p for p in raw if p.attempt > 1 or p.HasField("last_failure")]


def forget_passed(session: Session, passed: list[ActivityTrouble]) -> None:
    """Notes whose failure has passed: the journey ended (it may end while an activity is in
    its backoff), or a reset attempt succeeded (the worker clears only retried successes)."""
    for row in passed:
        session.delete(row)
    if passed:
        session.commit()


def failing(p: PendingActivityInfo, noted: dict[str, ActivityTrouble]) -> FailingActivity:
    row = noted.get(p.activity_id)
    last_failed = (
        p.last_attempt_complete_time.ToDatetime(UTC)
        if p.HasField("last_attempt_complete_time")
        else None
    )
    since = aware(row.first_failed_at) if row else last_failed or datetime.now(UTC)
    return FailingActivity(
        activity_id=p.activity_id,
        activity_type=p.activity_type.name,
        subsystem=subsystem_of(p.activity_type.name),
        attempt=p.attempt,
        last_failure=p.last_failure.message or (row.error if row else ""),
        failing_since=since,
        next_attempt_at=(
            p.next_attempt_schedule_time.ToDatetime(UTC)
            if p.HasField("next_attempt_schedule_time")
            else None
        ),
    )


def failure_reason(a: FailingActivity) -> str:
    return (
        f"等待{a.subsystem}：活动 {a.activity_type} 第 {a.attempt} 次尝试，"
        f"上次失败：{a.last_failure or '未知原因'}"
    )


def overdue_reason(stage: str, seconds: int) -> str:
    if seconds >= 2 * 86400:
        limit = f"{seconds / 86400:g} 天"
    elif seconds >= 3600:
        limit = f"{seconds / 3600:g} 小时"
    else:
        limit = f"{seconds // 60} 分钟"
    return f"停留在「{STAGE_NAMES[Stage(stage)]}」阶段超过 {limit}（政策阈值）"


async def stuck_journeys(
    session: Session,
    client: Client,
    settings: Settings,
    policies: dict[str, Policy],
    *,
    older_than_seconds: int | None = None,
    limit: int = 100,
) -> list[StuckJourney]:
    """Overdue and subsystem-waiting journeys, merged per journey, longest stuck first.
    `older_than_seconds` replaces every stage's threshold (the first cut's query)."""
    now = datetime.now(UTC)
    thresholds = _thresholds(policies, older_than_seconds)
    overdue = overdue_journeys(session, thresholds, now, limit)
    troubled = troubled_workflows(session, limit)
    session.commit()  # the reads are done: no connection held while Temporal answers
    gate = asyncio.Semaphore(DESCRIBES_AT_ONCE)

    async def confirmed(wf_id: str) -> Failing | None:
        async with gate:
            return await pending_failures(client, wf_id)

    pending = await asyncio.gather(*(confirmed(wf_id) for wf_id in troubled))
    rows: dict[str, StuckJourney] = {}
    for journey in overdue:
        seconds = thresholds[(journey.city_code, journey.stage)]
        row = _row(journey.workflow_id, _place_of_record(journey), settings)
        row.reasons.append(overdue_reason(journey.stage, seconds))
        rows[journey.workflow_id] = row
    for (wf_id, noted), found in zip(troubled.items(), pending, strict=True):
        by_id = {t.activity_id: t for t in noted}
        activities = [failing(p, by_id) for p in found.activities] if found else []
        still = {a.activity_id for a in activities}
        forget_passed(session, [t for t in noted if t.activity_id not in still])
        if found is None or not activities:
            continue  # the failure has passed, or the journey is no longer running
        failing_since = min(a.failing_since for a in activities)
        row = rows.get(wf_id)
        if row is None:
            row = rows[wf_id] = _row(wf_id, _place_described(found.description), settings)
            row.since = failing_since
        row.failing_activities = activities
        row.reasons += [failure_reason(a) for a in activities]
        row.since = min(row.since, failing_since)
    return sorted(rows.values(), key=lambda r: r.since)[:limit]


@dataclass
class Place:
    """Where a journey is: from its read-model row, or from its search attributes."""

    school_id: str
    city_code: str
    stage: str
    waiting_on: str
    stage_entered_at: datetime


def _place_of_record(journey: JourneyRecord) -> Place:
    return Place(
        journey.school_id,
        journey.city_code,
        journey.stage,
        journey.waiting_on,
        aware(journey.stage_entered_at),
    )


def _place_described(d: WorkflowExecutionDescription) -> Place:
    attrs = d.typed_search_attributes
    return Place(
        attrs.get(sa.SCHOOL) or "",
        attrs.get(sa.CITY) or "",
        attrs.get(sa.STAGE) or Stage.signup.value,
        attrs.get(sa.WAITING_ON) or "",
        attrs.get(sa.STAGE_ENTERED_AT) or d.start_time,
    )


def _row(wf_id: str, place: Place, settings: Settings) -> StuckJourney:
    return StuckJourney(
        workflow_id=wf_id,
        school_id=place.school_id,
        city_code=place.city_code,
        stage=place.stage,
        stage_name=STAGE_NAMES[Stage(place.stage)],
        waiting_on=place.waiting_on,
        stage_entered_at=place.stage_entered_at,
        since=place.stage_entered_at,
        reasons=[],
        failing_activities=[],
        temporal_ui_url=temporal_ui_link(
            settings.temporal_ui_url, settings.temporal_namespace, wf_id
        ),
    )
