"""Issue 9: a closed journey is read from the read model (the view it closed with and its log),
never by replaying its history; who may see it is checked as for an open one, and someone
else's is as unknown as a journey that never was.

The journey here closed as far as the read model knows, and Temporal has never heard of it: a
query would be a 404, so every 200 below comes from the read model."""

from datetime import UTC, datetime, timedelta

from activities.documents import DocumentStore
from activities.records import JourneyProjection, RecordActivities
from core.db import engine_for
from tests.api.conftest import Api
from workflows.journey_state import (
    Booking,
    JourneyState,
    JourneyView,
    Money,
    RecordEntry,
    Stage,
    Status,
    StepOutcome,
    WaitingOn,
)

SCHOOL = "S371100001"
AT = datetime(2026, 11, 2, 8, tzinfo=UTC)


def closed_journey(api: Api, learner_id: str) -> tuple[str, JourneyView]:
    """A graduate's journey as its last write left it: the closed view (what the state kept)
    and the log (two timeline entries, a record and its booking)."""
    wf_id = f"journey-{learner_id}-{SCHOOL}-C1"
    certificate = DocumentStore(api.settings.data_dir / "documents").put(
        b"%PDF-1.4 certificate", "certificate"
    )
    state = JourneyState(
        stage=Stage.closed,
        status=Status.completed,
        waiting_on=WaitingOn.nobody,
        stage_entered_at=AT,
        certificate_no="JY20261102ABCD",
        archive={"certificate": certificate},
        money=Money(deposited_fen=574000, released_fen=574000),
        version=9,
        steps=[StepOutcome("followup", "window_closed", AT)],  # not yet written: the state's
        steps_written=2,
    )
    view = JourneyView(wf_id, learner_id, SCHOOL, "371100", "C1", f"{SCHOOL}-K1", state)
    record = RecordEntry(
        "REC-1", f"{wf_id}:booking-1", "field", "practical", "2026-11-02", AT, AT, 240, 240
    )
    record.status, record.n = "confirmed", 1
    booking = Booking(
        booking_id=f"{wf_id}:booking-1",
        slot_id="TS-1",
        subject="field",
        kind="car",
        start=AT,
        end=AT + timedelta(hours=4),
        hours=4,
        rate_fen=12000,
        rate_kind="normal",
        coach_id=f"{SCHOOL}-K1",
        vehicle_id=f"{SCHOOL}-V1",
        status="completed",
        n=1,
    )
    RecordActivities(engine_for(api.settings.database_url)).project_journey(
        JourneyProjection(
            workflow_id=wf_id,
            learner_id=learner_id,
            school_id=SCHOOL,
            city_code="371100",
            vehicle_class="C1",
            coach_id=f"{SCHOOL}-K1",
            stage="closed",
            status="completed",
            waiting_on="nobody",
            stage_entered_at=AT,
            started_at=AT - timedelta(days=90),
            learner_no="3711000000000001",
            version=9,
            steps=[StepOutcome("signup", "registered", AT), StepOutcome("graduation", "done", AT)],
            steps_from=0,
            records=[record],
            bookings=[booking],
            closed_view=view,
        )
    )
    return wf_id, view


async def test_a_closed_journey_is_read_from_the_read_model(api: Api) -> None:
    username = api.add_learner()
    wf_id, _ = closed_journey(api, f"U-{username}")
    me = await api.token(username)
    r = await api.http.get(f"/api/learner/journeys/{wf_id}", headers=me)
    assert r.status_code == 200, r.text
    state = r.json()["state"]
    assert (state["stage"], state["status"], state["certificate_no"]) == (
        "closed",
        "completed",
        "JY20261102ABCD",
    )
    # The log put back: the written timeline, then what the state still held.
    assert [s["outcome"] for s in state["steps"]] == ["registered", "done", "window_closed"]
    assert [(x["record_no"], x["status"]) for x in state["records"]] == [("REC-1", "confirmed")]
    assert [b["status"] for b in state["bookings"]] == ["completed"]
    assert state["held_fen"] == 0
    # The documents come from the closed view too.
    r = await api.http.get(f"/api/learner/journeys/{wf_id}/documents/certificate.pdf", headers=me)
    assert (r.status_code, r.content) == (200, b"%PDF-1.4 certificate")


async def test_only_those_who_may_see_a_closed_journey_do(api: Api) -> None:
    username = api.add_learner()
    wf_id, _ = closed_journey(api, f"U-{username}")
    unknown = f"journey-U-{username}-{SCHOOL}-C2"
    for who, port, status in [
        (username, "learner", 200),
        ("learner1", "learner", 404),
        ("school1", "school", 200),
        ("school2", "school", 404),
        ("rizhao", "gov", 200),
        ("shandong", "gov", 200),
        ("fuzhou", "gov", 404),
    ]:
        headers = await api.token(who)
        r = await api.http.get(f"/api/{port}/journeys/{wf_id}", headers=headers)
        assert r.status_code == status, (who, r.text)
        if status == 404:
            # Someone else's closed journey reads exactly as one that does not exist.
            never = await api.http.get(f"/api/{port}/journeys/{unknown}", headers=headers)
            assert (never.status_code, never.json()) == (404, r.json())
    # An action on it is refused the same way, before the journey is asked.
    r = await api.http.post(
        f"/api/learner/journeys/{wf_id}/withdraw",
        json={"reason": "搬家"},
        headers=await api.token("learner1"),
    )
    assert r.status_code == 404
