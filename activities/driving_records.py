"""Graduates' driving record (新驾驶人三年记录): a school's graduates' violations and accidents,
read page by page from 12123 into `graduate_incident`.

A record counts if it happened within three years of its driver's licensing and the driver is a
graduate the platform knows (a journey of theirs at the school); any other record is read past.
Each page's rows and the school's read position are written in one transaction, keyed by the
12123 record number, so a page read twice (a retry, two pulls at once) stores nothing twice.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from activities.http import SubsystemClient
from core.calendar import add_years
from models.evaluation import GraduateIncident
from models.evaluation_log import GraduateRecordCursor
from models.journeys import JourneyRecord
from models.registry import School
from models.training import CHINA

WINDOW_YEARS = 3  # 新驾驶人: the three years after licensing
PAGE_SIZE = 100


@dataclass
class SchoolPosition:
    school_id: str
    after: int  # the last 12123 record (its sequence number) read for the school


@dataclass
class PullPage:
    idempotency_key: str  # the pull, the school and the position: one page of one pull
    school_id: str
    after: int
    limit: int = PAGE_SIZE


@dataclass
class PageResult:
    next_after: int
    more: bool
    read: int = 0
    stored: int = 0
    outside_window: int = 0
    unknown_driver: int = 0


def china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), CHINA)


def within_window(licensed_on: date, occurred_at: datetime) -> bool:
    start = china_midnight(licensed_on)
    return start <= occurred_at < china_midnight(add_years(licensed_on, WINDOW_YEARS))


class DrivingRecordActivities:
    def __init__(self, client: SubsystemClient, engine: Engine) -> None:
        self._client = client
        self._engine = engine

    @activity.defn(name="driving_records.positions")
    def positions(self) -> list[SchoolPosition]:
        """Every school, with where its last pull stopped."""
        with Session(self._engine) as session:
            read = {c.school_id: c.after for c in session.exec(select(GraduateRecordCursor))}
            schools = session.exec(select(School.id).order_by(col(School.id))).all()
            return [SchoolPosition(s, read.get(s, 0)) for s in schools]

    @activity.defn(name="driving_records.pull_page")
    async def pull_page(self, page: PullPage) -> PageResult:
        path = f"/schools/{page.school_id}/driving-records?after={page.after}&limit={page.limit}"
        body = await self._client.call("GET", path)
        return self._store(page, body)

    def _store(self, page: PullPage, body: dict) -> PageResult:  # type: ignore[type-arg]
        result = PageResult(next_after=int(body["next_after"]), more=bool(body["more"]))
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            drivers: dict[str, JourneyRecord | None] = {}
            for item in body["items"]:
                result.read += 1
                learner_no = item["learner_no"]
                if learner_no not in drivers:
                    drivers[learner_no] = _graduate(session, page.school_id, learner_no)
                journey = drivers[learner_no]
                licensed_on = date.fromisoformat(item["licensed_at"])
                occurred_at = datetime.fromisoformat(item["occurred_at"])
                if journey is None:
                    result.unknown_driver += 1
                elif not within_window(licensed_on, occurred_at):
                    result.outside_window += 1
                elif session.get(GraduateIncident, item["record_no"]) is None:
                    session.add(
                        GraduateIncident(
                            id=item["record_no"],
                            learner_id=journey.learner_id,
                            school_id=page.school_id,
                            coach_id=journey.coach_id or None,
                            kind=item["kind"],
                            severity=item["severity"],
                            licensed_at=china_midnight(licensed_on),
                            occurred_at=occurred_at,
                            received_at=now,
                        )
                    )
                    result.stored += 1
            _advance(session, page.school_id, result.next_after, now)
            session.commit()
        activity.logger.info("%s: %s", page.idempotency_key, result)
        return result


def _graduate(session: Session, school_id: str, learner_no: str) -> JourneyRecord | None:
    """The driver's journey at the school (the last, after a transfer back)."""
    return session.exec(
        select(JourneyRecord)
        .where(JourneyRecord.school_id == school_id, JourneyRecord.learner_no == learner_no)
        .order_by(col(JourneyRecord.started_at).desc())
    ).first()


def _advance(session: Session, school_id: str, after: int, now: datetime) -> None:
    """Moves the school's read position forward, never back (a late retry of an older page)."""
    cursor = session.get(GraduateRecordCursor, school_id, with_for_update=True)
    if cursor is None:
        session.add(GraduateRecordCursor(school_id=school_id, after=after, updated_at=now))
    elif after > cursor.after:
        cursor.after, cursor.updated_at = after, now
        session.add(cursor)
