"""The complaint workflow's activities: the 12328 adapter (file a case, push a handling step,
both keyed so a retry is the same call) and the writer of the `complaint` row and its timeline
(a newer version is never overwritten by an older one)."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity

from activities.http import SubsystemClient, external_id
from models.complaints import Complaint, ComplaintEvent
from workflows.complaint_state import ComplaintEventEntry, ComplaintInput, ComplaintState


@dataclass
class FileCase:
    complaint_ref: str  # the complaint id: 12328's idempotency key
    school_id: str
    coach_id: str | None
    city_code: str
    category: str
    content: str


@dataclass
class Delivery:
    recipient: str
    delivered_at: datetime


@dataclass
class FiledCase:
    case_no: str
    deliveries: list[Delivery]


@dataclass
class PushCaseUpdate:
    case_no: str
    update_id: str  # derived from the workflow id and the step
    kind: str  # reminder | escalated | answered | reopened | closed
    text: str = ""


@dataclass
class ComplaintRow:
    """The `complaint` row as the workflow has it at `version`, with its whole timeline."""

    id: str
    workflow_id: str
    learner_id: str
    journey_id: str
    school_id: str
    coach_id: str | None
    city_code: str
    source: str
    source_ref: str | None
    category: str
    content: str
    status: str
    case_no: str | None
    filed_at: datetime
    deadline_at: datetime | None
    due_soon_at: datetime | None
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    reopened: bool
    rating: int | None
    version: int
    events: list[ComplaintEventEntry] = field(default_factory=list)


def complaint_row(inp: ComplaintInput, s: ComplaintState, workflow_id: str) -> ComplaintRow:
    """The row of a complaint filed as `inp`, in state `s`."""
    return ComplaintRow(
        id=inp.complaint_id,
        workflow_id=workflow_id,
        learner_id=inp.learner_id,
        journey_id=inp.journey_id,
        school_id=inp.school_id,
        coach_id=inp.coach_id,
        city_code=inp.city_code,
        source=inp.source,
        source_ref=inp.source_ref,
        category=inp.category,
        content=inp.content,
        status=s.status,
        case_no=s.case_no or None,
        filed_at=inp.filed_at,
        deadline_at=s.deadline_at,
        due_soon_at=s.due_soon_at,
        answer=s.answer or None,
        answered_by=s.answered_by or None,
        answered_at=s.answered_at,
        closed_at=s.closed_at,
        overdue=s.overdue,
        reopened=s.reopened,
        rating=s.rating,
        version=s.version,
        events=list(s.events),
    )


class Complaints12328Activities:
    def __init__(self, client: SubsystemClient, callback_url: str) -> None:
        self._client = client
        self._callback_url = callback_url

    @activity.defn(name="complaints12328.file")
    async def file(self, req: FileCase) -> FiledCase:
        body = await self._client.call(
            "POST", "/cases", json={**vars(req), "callback_url": self._callback_url}
        )
        return FiledCase(
            case_no=body["case_no"],
            deliveries=[
                Delivery(d["recipient"], datetime.fromisoformat(d["delivered_at"]))
                for d in body["deliveries"]
            ],
        )

    @activity.defn(name="complaints12328.push")
    async def push(self, req: PushCaseUpdate) -> None:
        body = {"update_id": external_id(req.update_id), "kind": req.kind, "text": req.text}
        await self._client.call("POST", f"/cases/{req.case_no}/updates", json=body)


class ComplaintRecordActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="complaints.write")
    def write(self, row: ComplaintRow) -> None:
        """Upserts the row unless a newer version is there, and adds the timeline entries not
        yet written, in one transaction."""
        with Session(self._engine) as session:
            current = session.get(Complaint, row.id, with_for_update=True)
            if current is None or current.version < row.version:
                fields = {k: v for k, v in vars(row).items() if k != "events"}
                session.add(current.sqlmodel_update(fields) if current else Complaint(**fields))
            written = set(
                session.exec(
                    select(ComplaintEvent.seq).where(col(ComplaintEvent.complaint_id) == row.id)
                ).all()
            )
            for seq, e in enumerate(row.events):
                if seq not in written:
                    session.add(
                        ComplaintEvent(
                            complaint_id=row.id,
                            seq=seq,
                            kind=e.kind,
                            at=e.at,
                            party=e.party or None,
                            text=e.text or None,
                        )
                    )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise  # a concurrent write won; the retry applies the version rule
