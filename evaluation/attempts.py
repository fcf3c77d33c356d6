"""Exam attempts, taken from a journey's timeline as its projection writes it.

The journey records each 12123 result as a timeline entry (`<subject>` / `exam_passed` or
`exam_failed`, the exam date as detail). The statistics need them by school, coach, subject and
time, so the projection also puts them in `exam_attempt`, keyed by the entry's place: written
once however often the write is retried. No change to the workflow, so nothing to replay.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from models.journeys import JourneyRecord
from models.quality import ExamAttempt
from workflows.journey_state import StepOutcome

EXAM_OUTCOMES = {"exam_passed": True, "exam_failed": False}


def add_exam_attempts(
    session: Session, journey: JourneyRecord, first: int, steps: Sequence[StepOutcome]
) -> None:
    """The exam results among timeline entries `first`, `first + 1`, ... of `journey`."""
    results = [
        (seq, step) for seq, step in enumerate(steps, start=first) if step.outcome in EXAM_OUTCOMES
    ]
    if not results:
        return
    earlier = session.exec(
        select(ExamAttempt.seq, ExamAttempt.subject).where(
            ExamAttempt.workflow_id == journey.workflow_id
        )
    ).all()
    written = {seq for seq, _ in earlier}
    sat = {subject for seq, subject in earlier if seq < first}
    for seq, step in results:
        if seq not in written:
            passed, first_sat = EXAM_OUTCOMES[step.outcome], step.step not in sat
            exam_date = step.detail[:10]
            session.add(attempt_row(journey, seq, step.step, passed, first_sat, exam_date, step.at))
        sat.add(step.step)


def attempt_row(
    journey: JourneyRecord,
    seq: int,
    subject: str,
    passed: bool,
    first: bool,
    exam_date: str,
    at: datetime,
) -> ExamAttempt:
    """The attempt at timeline place `seq`: sat on `exam_date`, its result in at `at`."""
    return ExamAttempt(
        workflow_id=journey.workflow_id,
        seq=seq,
        learner_id=journey.learner_id,
        school_id=journey.school_id,
        coach_id=journey.coach_id,
        city_code=journey.city_code,
        subject=subject,
        passed=passed,
        first=first,
        exam_date=exam_date,
        examined_at=at,
    )


def attempts_of(session: Session, workflow_id: str) -> list[ExamAttempt]:
    return list(
        session.exec(
            select(ExamAttempt)
            .where(ExamAttempt.workflow_id == workflow_id)
            .order_by(col(ExamAttempt.seq))
        ).all()
    )
