"""Practical training (科目二 field, 科目三 road): slots a school publishes, learners' bookings,
and the rows through which the database itself refuses a double booking.

- `ResourceHold` has one row per resource and hour: a coach, vehicle or ground is held when a
  slot is published (or a coach's leave is filed), a learner when they book. Its primary key
  makes a second hold on the same hour a unique violation, however many requests race.
- `SlotBooking` has a partial unique index: at most one `booked` row per slot.
- `LearnerDayLoad` counts a learner's booked hours per China day under a CHECK; booking adds
  hours with one conditional UPDATE, so concurrent bookings cannot pass the daily cap.
"""

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

CHINA = timezone(timedelta(hours=8), "CST")
SUBJECTS = ("field", "road")
KINDS = ("car", "simulator")
RATE_KINDS = ("normal", "peak", "holiday")  # the index into a FeeSchedule's rate list
MAX_SLOT_HOURS = 4


class TrainingSlotBase(SQLModel):
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    subject: str = Field(max_length=8)  # field | road
    kind: str = Field(max_length=16)  # car | simulator
    coach_id: str = Field(foreign_key="coach.id", index=True, max_length=32)
    vehicle_id: str = Field(foreign_key="vehicle.id", max_length=32)
    ground_id: str | None = Field(default=None, foreign_key="trainingground.id", max_length=32)
    start: datetime = Field(index=True)
    end: datetime
    rate_kind: str = Field(max_length=8)  # normal | peak | holiday
    rate_fen: int  # per hour, copied from the school's FeeSchedule when published
    status: str = Field(default="open", max_length=16)  # open | cancelled
    created_at: datetime

    @property
    def hours(self) -> int:
        return hours_between(self.start, self.end)


class TrainingSlot(TrainingSlotBase, table=True):
    id: str = Field(primary_key=True, max_length=64)


class SlotBookingBase(SQLModel):
    slot_id: str = Field(foreign_key="trainingslot.id", index=True, max_length=64)
    journey_id: str = Field(index=True, max_length=128)
    learner_id: str = Field(index=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    subject: str = Field(max_length=8)
    start: datetime
    end: datetime
    hours: int
    # Copied from the slot when booked and never recomputed: a later fee change does not
    # touch a session already booked.
    rate_fen: int
    rate_kind: str = Field(max_length=8)
    status: str = Field(default="booked", max_length=16)  # booked|cancelled|completed|no_show
    cancelled_by: str | None = Field(default=None, max_length=8)  # learner | school
    cancel_reason: str | None = Field(default=None, max_length=200)
    late: bool = False
    fee_fen: int = 0  # late-cancellation or no-show fee owed to the school
    record_no: str | None = Field(default=None, max_length=64)  # the timing platform's record
    created_at: datetime
    updated_at: datetime


class SlotBooking(SlotBookingBase, table=True):
    __table_args__ = (
        sa.Index(
            "uq_slotbooking_booked_slot",
            "slot_id",
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        ),
    )

    # The caller's booking id, which is also the idempotency key of the booking.
    id: str = Field(primary_key=True, max_length=160)


class SlotBookingPublic(SlotBookingBase):
    id: str


class TrainingSlotPublic(TrainingSlotBase):
    id: str
    booking: SlotBookingPublic | None = None


class ResourceHold(SQLModel, table=True):
    resource: str = Field(primary_key=True, max_length=64)  # coach:<id> | vehicle:… | learner:…
    hour_start: datetime = Field(primary_key=True)
    owner: str = Field(index=True, max_length=200)  # slot:<id> | booking:<id> | leave:<id>


class LearnerDayLoad(SQLModel, table=True):
    __table_args__ = (
        sa.CheckConstraint("hours <= cap", name="ck_learnerdayload_cap"),
        sa.CheckConstraint("hours >= 0", name="ck_learnerdayload_hours"),
    )

    learner_id: str = Field(primary_key=True, max_length=32)
    day: str = Field(primary_key=True, max_length=10)  # China date, YYYY-MM-DD
    hours: int = 0
    cap: int


class CoachLeave(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    coach_id: str = Field(foreign_key="coach.id", index=True, max_length=32)
    start: datetime
    end: datetime
    reason: str = Field(max_length=200)
    created_at: datetime


def hours_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 3600)


def hour_starts(start: datetime, end: datetime) -> list[datetime]:
    """Every whole UTC hour that [start, end) touches, as held in `ResourceHold`."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours: list[datetime] = []
    hour = first
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def china_day(moment: datetime) -> str:
    return moment.astimezone(CHINA).date().isoformat()


def resource(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"
