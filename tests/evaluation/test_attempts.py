"""The journey's projection puts its exam results where the statistics count them."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from activities.records import JourneyProjection, RecordActivities
from evaluation.attempts import attempts_of
from tests.activities.test_records import projection as journey_projection
from workflows.journey_state import StepOutcome

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
WF = "journey-U-learner1-S371100001-C1"


def projection(version: int, steps_from: int, steps: list[StepOutcome]) -> JourneyProjection:
    return replace(journey_projection(version, "field"), steps=steps, steps_from=steps_from)


def step(subject: str, outcome: str, day: int) -> StepOutcome:
    return StepOutcome(subject, outcome, T0 + timedelta(days=day), f"2026-11-{day + 1:02d}")


def test_exam_results_are_written_once_with_the_first_attempt_marked(demo_engine: Engine) -> None:
    records = RecordActivities(demo_engine)
    first_write = [
        step("theory", "exam_booked", 0),
        step("theory", "exam_failed", 1),
        step("theory", "exam_passed", 5),
    ]
    records.project_journey(projection(3, 0, first_write))
    records.project_journey(projection(3, 0, first_write))  # a retried write
    records.project_journey(projection(5, 3, [step("field", "exam_passed", 9)]))
    with Session(demo_engine) as session:
        attempts = attempts_of(session, WF)
    assert [(a.seq, a.subject, a.passed, a.first) for a in attempts] == [
        (1, "theory", False, True),
        (2, "theory", True, False),
        (3, "field", True, True),
    ]
    assert attempts[0].exam_date == "2026-11-02"
    assert (attempts[0].school_id, attempts[0].coach_id, attempts[0].city_code) == (
        "S371100001",
        "S371100001-K1",
        "371100",
    )
