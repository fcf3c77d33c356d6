"""The school's timetable through the API: publishing, its refusals, leave, and the listing.

A refusal names the field (422) or the clash (409) and writes nothing.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from activities.bookings import BookingActivities, BookSlot
from core.db import engine_for
from models.registry import Coach, Vehicle
from models.training import CHINA, CoachLeave, ResourceHold, TrainingSlot
from tests.api.conftest import Api

SCHOOL = "S371100001"
# Ten days ahead, clear of any demo week, at 08:00 China time.
BASE = (datetime.now(CHINA) + timedelta(days=10)).replace(hour=8, minute=0, second=0, microsecond=0)


def body(**change: object) -> dict[str, object]:
    return {
        "subject": "field",
        "kind": "car",
        "coach_id": f"{SCHOOL}-K1",
        "vehicle_id": f"{SCHOOL}-V1",
        "ground_id": f"{SCHOOL}-G1",
        "start": BASE.isoformat(),
        "hours": 2,
        "rate_kind": "peak",
    } | change


def db(api: Api) -> Engine:
    return engine_for(api.settings.database_url)


def written(api: Api) -> tuple[int, int, int]:
    with Session(db(api)) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(model)).one()
            for model in (TrainingSlot, ResourceHold, CoachLeave)
        )


def add_odd_vehicles(api: Api) -> None:
    """A C2 car (coach K2 may teach C1 only) and an A1 car the school has no fees for."""
    with Session(db(api)) as session:
        session.add(
            Vehicle(id=f"{SCHOOL}-VC2", school_id=SCHOOL, plate="鲁L-C2", vehicle_class="C2")
        )
        session.add(
            Vehicle(id=f"{SCHOOL}-VA1", school_id=SCHOOL, plate="鲁L-A1", vehicle_class="A1")
        )
        coach = session.get(Coach, f"{SCHOOL}-K1")
        assert coach is not None
        coach.permitted_classes = [*coach.permitted_classes, "A1"]
        session.add(coach)
        session.commit()


async def publish(api: Api, headers: dict[str, str], **change: object) -> dict:
    r = await api.http.post("/api/school/slots", json=body(**change), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_publishing_a_slot_copies_the_rate_and_holds_coach_car_and_ground(api: Api) -> None:
    headers = await api.token("school1")
    slot = await publish(api, headers)
    assert (slot["rate_kind"], slot["rate_fen"], slot["status"]) == ("peak", 14000, "open")
    assert datetime.fromisoformat(slot["start"]) == BASE
    assert datetime.fromisoformat(slot["end"]) == BASE + timedelta(hours=2)
    assert slot["school_id"] == SCHOOL and slot["booking"] is None
    assert written(api) == (1, 6, 0)


async def test_a_simulator_slot_is_priced_at_the_simulator_rate(api: Api) -> None:
    headers = await api.token("school1")
    change = {"kind": "simulator", "vehicle_id": f"{SCHOOL}-SIM1", "ground_id": None}
    slot = await publish(api, headers, **change, rate_kind="holiday", hours=1)
    assert slot["rate_fen"] == 8000
    assert written(api) == (1, 2, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "air"}, "subject"),
        ({"kind": "bike"}, "kind"),
        ({"rate_kind": "cheap"}, "rate_kind"),
        ({"hours": 5}, "hours"),
        ({"hours": 0}, "hours"),
        ({"start": BASE.replace(minute=30).isoformat()}, "start"),
        ({"start": BASE.replace(tzinfo=None).isoformat()}, "start"),
        ({"start": (BASE - timedelta(days=11)).isoformat()}, "start"),
        ({"coach_id": "S371100002-K1"}, "coach_id"),
        ({"coach_id": "nobody"}, "coach_id"),
        ({"vehicle_id": "S371100002-V1"}, "vehicle_id"),
        ({"ground_id": "S371100002-G1"}, "ground_id"),
        ({"ground_id": None}, "ground_id"),  # field training on a car needs a ground
        ({"subject": "road"}, "ground_id"),  # road training takes none
        ({"kind": "simulator"}, "vehicle_id"),  # V1 is a car
        ({"vehicle_id": f"{SCHOOL}-SIM1"}, "vehicle_id"),  # a car slot on a simulator
        ({"coach_id": f"{SCHOOL}-K2", "vehicle_id": f"{SCHOOL}-VC2"}, "coach_id"),
        ({"vehicle_id": f"{SCHOOL}-VA1"}, "vehicle_id"),  # no fee schedule for A1
    ],
)
async def test_a_bad_slot_is_refused_naming_the_field(
    api: Api, change: dict[str, object], field: str
) -> None:
    add_odd_vehicles(api)
    headers = await api.token("school1")
    r = await api.http.post("/api/school/slots", json=body(**change), headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
    assert written(api) == (0, 0, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "road", "vehicle_id": f"{SCHOOL}-V2", "ground_id": None},  # same coach
        {"subject": "road", "coach_id": f"{SCHOOL}-K2", "ground_id": None},  # same car
        {"coach_id": f"{SCHOOL}-K2", "vehicle_id": f"{SCHOOL}-V2"},  # same ground
    ],
)
async def test_a_slot_clashing_with_another_is_refused_with_409(
    api: Api, change: dict[str, object]
) -> None:
    headers = await api.token("school1")
    await publish(api, headers)
    later = (BASE + timedelta(hours=1)).isoformat()
    r = await api.http.post(
        "/api/school/slots", json=body(**change, start=later, hours=1), headers=headers
    )
    assert r.status_code == 409, r.text
    assert written(api) == (1, 6, 0)


async def test_a_slot_while_the_coach_is_on_leave_is_refused(api: Api) -> None:
    headers = await api.token("school1")
    leave = {
        "start": BASE.isoformat(),
        "end": (BASE + timedelta(days=2)).isoformat(),
        "reason": "病假",
    }
    r = await api.http.post(f"/api/school/coaches/{SCHOOL}-K1/leave", json=leave, headers=headers)
    assert r.status_code == 201, r.text
    before = written(api)
    r = await api.http.post("/api/school/slots", json=body(), headers=headers)
    assert r.status_code == 409 and "请假" in r.json()["detail"]
    assert written(api) == before


async def test_leave_withdraws_the_coachs_open_slots_and_frees_car_and_ground(api: Api) -> None:
    headers = await api.token("school1")
    slot = await publish(api, headers)
    leave = {
        "start": (BASE - timedelta(hours=1)).isoformat(),
        "end": (BASE + timedelta(hours=3)).isoformat(),
        "reason": "培训",
    }
    r = await api.http.post(f"/api/school/coaches/{SCHOOL}-K1/leave", json=leave, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["cancelled_slot_ids"] == [slot["id"]]
    listed = await api.http.get(
        "/api/school/slots", params={"status": "cancelled"}, headers=headers
    )
    assert [s["id"] for s in listed.json()] == [slot["id"]]
    # The car and the ground are free for another coach.
    await publish(api, headers, coach_id=f"{SCHOOL}-K2")


async def test_leave_over_a_booked_slot_is_refused_and_writes_nothing(api: Api) -> None:
    headers = await api.token("school1")
    slot = await publish(api, headers)
    BookingActivities(db(api)).book(
        BookSlot(
            booking_id="B1",
            slot_id=slot["id"],
            journey_id="journey-U-learner1-S371100001-C1",
            learner_id="U-learner1",
            school_id=SCHOOL,
            subject="field",
            now=datetime.now(UTC),
            horizon_days=14,
            daily_cap_hours=4,
            available_fen=1_000_000,
        )
    )
    before = written(api)
    leave = {
        "start": BASE.isoformat(),
        "end": (BASE + timedelta(days=1)).isoformat(),
        "reason": "事假",
    }
    r = await api.http.post(f"/api/school/coaches/{SCHOOL}-K1/leave", json=leave, headers=headers)
    assert r.status_code == 409, r.text
    assert written(api) == before
    listed = (await api.http.get("/api/school/slots", headers=headers)).json()
    assert [(s["status"], s["booking"]["id"]) for s in listed] == [("open", "B1")]


@pytest.mark.parametrize(
    ("coach", "leave", "code"),
    [
        ("S371100002-K1", {}, 404),  # another school's coach
        ("nobody", {}, 404),
        (f"{SCHOOL}-K1", {"end": BASE.isoformat()}, 422),  # ends when it starts
        (
            f"{SCHOOL}-K1",
            {
                "start": (BASE - timedelta(days=30)).isoformat(),
                "end": (BASE - timedelta(days=20)).isoformat(),
            },
            422,
        ),
    ],
)
async def test_bad_leave_is_refused(api: Api, coach: str, leave: dict[str, str], code: int) -> None:
    headers = await api.token("school1")
    full = {
        "start": BASE.isoformat(),
        "end": (BASE + timedelta(days=1)).isoformat(),
        "reason": "事假",
    }
    r = await api.http.post(
        f"/api/school/coaches/{coach}/leave", json=full | leave, headers=headers
    )
    assert r.status_code == code, r.text
    if code == 422:
        assert r.json()["detail"][0]["loc"][-1] == "end"
    assert written(api) == (0, 0, 0)


async def test_the_listing_is_the_schools_own_and_filters_by_time(api: Api) -> None:
    headers = await api.token("school1")
    first = await publish(api, headers)
    second = await publish(api, headers, start=(BASE + timedelta(days=1)).isoformat())
    listed = await api.http.get("/api/school/slots", headers=headers)
    assert [s["id"] for s in listed.json()] == [first["id"], second["id"]]
    window = {
        "from": (BASE + timedelta(hours=12)).isoformat(),
        "to": (BASE + timedelta(days=2)).isoformat(),
    }
    listed = await api.http.get("/api/school/slots", params=window, headers=headers)
    assert [s["id"] for s in listed.json()] == [second["id"]]
    other = await api.http.get("/api/school/slots", headers=await api.token("school2"))
    assert other.status_code == 200 and other.json() == []


async def test_the_timetable_is_for_school_staff_only(api: Api) -> None:
    r = await api.http.post("/api/school/slots", json=body(), headers=await api.token("learner1"))
    assert r.status_code == 403
    assert (await api.http.get("/api/school/slots")).status_code == 401
