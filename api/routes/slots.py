"""企业端 school port: the school's timetable — publishing, listing and withdrawing slots, coaches'
leave.

Withdrawing an open slot is a database change here; withdrawing a *booked* one goes through the
learner's journey (a signal: the journey cancels the booking, frees the slot and credits the
learner). Leave withdraws open, unbooked slots by itself.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from activities.slots import (
    NewSlot,
    SlotRefused,
    add_coach_leave,
    cancel_open_slot,
    list_slots,
    publish_slot,
)
from api.bodies import StrictRoute
from api.deps import SessionDep, StaffUser, TemporalDep
from api.errors import api_error, field_error, not_found, temporal_errors
from api.inputs import Id, Moment, PathId, Reason
from api.journeys import handle
from models.training import (
    MAX_SLOT_HOURS,
    SlotBooking,
    SlotBookingPublic,
    TrainingSlot,
    TrainingSlotPublic,
)
from workflows.journey import LearnerJourney
from workflows.journey_state import SchoolCancelled

router = APIRouter(prefix="/api/school", tags=["school"], route_class=StrictRoute)


class SlotCreate(BaseModel):
    subject: Literal["field", "road"]
    kind: Literal["car", "simulator"] = "car"
    coach_id: Id
    vehicle_id: Id
    ground_id: Id | None = None
    start: Moment  # on the hour
    hours: int = Field(ge=1, le=MAX_SLOT_HOURS)
    rate_kind: Literal["normal", "peak", "holiday"] = "normal"


class LeaveCreate(BaseModel):
    start: Moment
    end: Moment
    reason: Reason


class LeavePublic(BaseModel):
    id: str
    coach_id: str
    start: datetime
    end: datetime
    reason: str
    cancelled_slot_ids: list[str]  # open slots in the period, withdrawn with the leave


def refused(exc: SlotRefused, what: str) -> HTTPException:
    if exc.kind == "invalid":
        return field_error(exc.field or "body", exc.message)
    if exc.kind == "not_found":
        return not_found(what)
    return api_error(status.HTTP_409_CONFLICT, exc.message)


def _public(slot: TrainingSlot, booking: SlotBooking | None = None) -> TrainingSlotPublic:
    out = TrainingSlotPublic.model_validate(slot, from_attributes=True)
    if booking is not None:
        out.booking = SlotBookingPublic.model_validate(booking, from_attributes=True)
    return out


@router.post("/slots", status_code=status.HTTP_201_CREATED)
def create_slot(body: SlotCreate, session: SessionDep, staff: StaffUser) -> TrainingSlotPublic:
    new = NewSlot(**body.model_dump())
    try:
        slot = publish_slot(session, _school(staff.school_id), new, datetime.now(UTC))
    except SlotRefused as exc:
        raise refused(exc, "slot") from exc
    return _public(slot)


@router.get("/slots")
def school_slots(
    session: SessionDep,
    staff: StaffUser,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    slot_status: Annotated[Literal["open", "cancelled"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[TrainingSlotPublic]:
    rows = list_slots(session, _school(staff.school_id), start, to, slot_status, limit)
    return [_public(slot, booking) for slot, booking in rows]


@router.post("/coaches/{coach_id}/leave", status_code=status.HTTP_201_CREATED)
def coach_leave(
    coach_id: PathId, body: LeaveCreate, session: SessionDep, staff: StaffUser
) -> LeavePublic:
    try:
        leave, withdrawn = add_coach_leave(
            session,
            _school(staff.school_id),
            coach_id,
            body.start,
            body.end,
            body.reason,
            datetime.now(UTC),
        )
    except SlotRefused as exc:
        raise refused(exc, "coach") from exc
    return LeavePublic(
        id=leave.id,
        coach_id=leave.coach_id,
        start=leave.start,
        end=leave.end,
        reason=leave.reason,
        cancelled_slot_ids=withdrawn,
    )


class SlotCancel(BaseModel):
    reason: Reason


@router.delete("/slots/{slot_id}", response_model=None)
async def withdraw_slot(
    slot_id: PathId,
    session: SessionDep,
    client: TemporalDep,
    staff: StaffUser,
    reason: Annotated[Reason | None, Query()] = None,
    body: Annotated[SlotCancel | None, Body()] = None,
) -> TrainingSlotPublic | JSONResponse:
    """Withdraws a slot, the reason in the query or the body.

    Open: withdrawn at once (200, the slot). Booked: the learner's journey is told and cancels
    the booking at no cost to the learner (202 `cancelling`; the slot is withdrawn with it).
    """
    school_id = _school(staff.school_id)
    why = body.reason if body is not None else reason
    if why is None:
        raise field_error("reason", "请填写撤课原因", kind="missing", where="query")
    slot = session.get(TrainingSlot, slot_id)
    if slot is None or slot.school_id != school_id:
        raise not_found("slot")
    booking = session.exec(
        select(SlotBooking).where(
            col(SlotBooking.slot_id) == slot_id, col(SlotBooking.status) == "booked"
        )
    ).first()
    if booking is None:
        try:
            return _public(cancel_open_slot(session, slot_id, school_id))
        except SlotRefused as exc:
            raise refused(exc, "slot") from exc
    if booking.start.replace(tzinfo=booking.start.tzinfo or UTC) <= datetime.now(UTC):
        raise api_error(status.HTTP_409_CONFLICT, "课时已开始，不能取消", "slot_started")
    async with temporal_errors():
        await handle(client, booking.journey_id).signal(
            LearnerJourney.school_cancelled, SchoolCancelled(booking.id, why)
        )
    return JSONResponse(
        {"status": "cancelling", "slot_id": slot_id, "booking_id": booking.id},
        status_code=status.HTTP_202_ACCEPTED,
    )


def _school(school_id: str | None) -> str:
    # Staff accounts are always bound to a school; one without is a data error, not a caller's.
    if school_id is None:
        raise api_error(status.HTTP_403_FORBIDDEN, "该账户未绑定驾校")
    return school_id
