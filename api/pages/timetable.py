"""企业端 timetable: the school's coaches, cars and grounds, its slots on a week calendar,
publishing a slot, and a booked session's no-show. Slots are published by activities/slots.py
(as the JSON route does); a no-show goes through the learner's journey (api/school_service.py).
"""

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from activities.slots import NewSlot, SlotRefused, list_slots, publish_slot
from api import school_service as service
from api.deps import SessionDep
from api.pages.school import school_name
from api.pages.web import StaffPage, StaffPost, VisitorDep, china, render
from models.registry import Coach, TrainingGround, Vehicle
from models.training import CHINA, MAX_SLOT_HOURS, RATE_KINDS, SlotBooking, TrainingSlot

router = APIRouter(prefix="/school", include_in_schema=False)
TIMETABLE = "/school/slots"
HOURS_OF_DAY = range(6, 21)  # when a slot may start, China time
SUBJECTS = {"field": "科目二", "road": "科目三"}
KINDS = {"car": "实车", "simulator": "模拟器"}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/slots")
def timetable(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep, week: str = ""
) -> HTMLResponse:
    try:
        monday = _monday(date.fromisoformat(week)) if week else _monday(datetime.now(CHINA).date())
    except ValueError as exc:
        raise HTTPException(422, "周的日期格式应为 YYYY-MM-DD") from exc
    school_id, now = staff.school_id or "", datetime.now(UTC)
    start = datetime.combine(monday, time(), CHINA).astimezone(UTC)
    rows = list_slots(session, school_id, start, start + timedelta(days=7), "open", 500)
    coaches = session.exec(select(Coach).where(Coach.school_id == school_id)).all()
    vehicles = session.exec(select(Vehicle).where(Vehicle.school_id == school_id)).all()
    grounds = session.exec(
        select(TrainingGround).where(TrainingGround.school_id == school_id)
    ).all()
    title = school_name(session, staff)
    session.commit()
    days: dict[date, list[tuple[TrainingSlot, SlotBooking | None]]] = {
        monday + timedelta(days=i): [] for i in range(7)
    }
    for slot, booking in rows:
        days.setdefault(china(slot.start).date(), []).append((slot, booking))
    return render(
        request,
        who,
        "school/slots.html",
        title=title,
        tab="slots",
        days=days,
        monday=monday,
        prev_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        coaches={c.id: c for c in coaches},
        vehicles={v.id: v for v in vehicles},
        grounds=grounds,
        hours_of_day=HOURS_OF_DAY,
        subjects=SUBJECTS,
        kinds=KINDS,
        max_hours=MAX_SLOT_HOURS,
        # Booked sessions that have begun: the school may report a no-show (the journey judges).
        started={b.id for s, b in rows if b and b.status == "booked" and china(s.start) < now},
    )


def _new_slot(post: StaffPost) -> NewSlot:
    try:
        day = date.fromisoformat(post.field("day"))
        hour, hours = int(post.field("hour")), int(post.field("hours"))
    except ValueError as exc:
        raise HTTPException(422, "请填写日期、开始时间和学时") from exc
    if hour not in HOURS_OF_DAY or not 1 <= hours <= MAX_SLOT_HOURS:
        raise HTTPException(422, "开始时间或学时超出范围")
    subject, kind, rate_kind = post.field("subject"), post.field("kind"), post.field("rate_kind")
    if subject not in SUBJECTS or kind not in KINDS or rate_kind not in RATE_KINDS:
        raise HTTPException(422, "请选择科目、训练方式和时段")
    return NewSlot(
        subject=subject,
        kind=kind,
        coach_id=post.field("coach_id"),
        vehicle_id=post.field("vehicle_id"),
        ground_id=post.field("ground_id") or None,
        start=datetime.combine(day, time(hour), CHINA).astimezone(UTC),
        hours=hours,
        rate_kind=rate_kind,
    )


@router.post("/slots")
async def publish(post: StaffPost) -> Response:
    async def create() -> None:
        new = _new_slot(post)
        try:
            publish_slot(post.session, post.user.school_id or "", new, datetime.now(UTC))
        except SlotRefused as exc:
            raise HTTPException(409 if exc.kind == "conflict" else 422, exc.message) from exc

    week = post.field("day")
    return await post.act(f"{TIMETABLE}?week={week}", "课时已发布", create)


@router.post("/journeys/{wf_id}/bookings/{booking_id}/no-show")
async def no_show(post: StaffPost, wf_id: str, booking_id: str) -> Response:
    client = await post.temporal()
    return await post.act(
        TIMETABLE,
        "已记录缺勤",
        lambda: service.report_no_show(
            post.session, client, post.user, wf_id, booking_id, post.key
        ),
    )
