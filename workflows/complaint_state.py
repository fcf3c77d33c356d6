"""The complaint workflow's input, state, Update arguments and answers (small, stdlib only)."""

from dataclasses import dataclass, field
from datetime import datetime

from policy.calendar import handling_deadline, reminder_times
from policy.model import ComplaintRules

# Where a complaint comes from: any time, or a disputed 学时 record, or a contract dispute.
SOURCES = ("general", "training_record", "contract_dispute")
# At most this many of 12328's own handling events are kept; more are a flood, not news.
MAX_HANDLING_EVENTS = 50


def complaint_workflow_id(complaint_id: str) -> str:
    """One workflow per complaint; every idempotency key of its steps derives from this id."""
    return f"complaint-{complaint_id}"


@dataclass
class ComplaintInput:
    complaint_id: str
    learner_id: str
    journey_id: str
    school_id: str
    coach_id: str | None
    city_code: str
    source: str  # one of SOURCES
    source_ref: str | None  # the record number or contract number
    category: str
    content: str
    filed_at: datetime
    rules: ComplaintRules  # the city's, at filing: a policy change never moves a deadline


@dataclass
class ComplaintEventEntry:
    kind: str  # delivered | reminder | escalated | answered | reopened | rated | closed | ...
    at: datetime
    party: str = ""  # the recipient, or who acted
    text: str = ""


@dataclass
class ComplaintState:
    # filed -> delivered -> answered -> closed; a reopening goes back to delivered, once.
    status: str = "filed"
    case_no: str = ""
    deadline_at: datetime | None = None
    due_soon_at: datetime | None = None  # the first reminder of the current deadline
    reminders_at: list[datetime] = field(default_factory=list)
    answer: str = ""
    answered_by: str = ""
    answered_at: datetime | None = None
    overdue: bool = False  # escalated once: it stays counted
    reopened: bool = False
    reopen_reason: str = ""
    rating: int | None = None
    rating_comment: str = ""
    closed_at: datetime | None = None
    events: list[ComplaintEventEntry] = field(default_factory=list)
    handling_seen: list[str] = field(default_factory=list)  # 12328 event ids
    version: int = 0

    def set_deadline(self, rules: ComplaintRules, start: datetime, working_days: int) -> None:
        self.deadline_at = handling_deadline(rules, start, working_days)
        self.reminders_at = reminder_times(rules, start, working_days)
        self.due_soon_at = self.reminders_at[0] if self.reminders_at else self.deadline_at


@dataclass
class ComplaintAnswer:
    staff_id: str
    text: str


@dataclass
class ComplaintRating:
    stars: int  # 1-5
    comment: str = ""


@dataclass
class ComplaintReopen:
    reason: str


@dataclass
class HandlingEvent:
    """A step 12328 took on the case (accepted, an officer's note), from its callback."""

    event_id: str
    kind: str
    note: str
    at: datetime


@dataclass
class ComplaintOutcome:
    """What an Update did: the complaint's status after it and its current deadline."""

    complaint_id: str
    status: str
    deadline_at: datetime | None
    reopened: bool
    rating: int | None


@dataclass
class ComplaintResult:
    complaint_id: str
    status: str
    overdue: bool
    reopened: bool
    rating: int | None
