"""Rows of a school's history as the platform would have recorded them (a finished journey, its
exam results, reviews, complaints, penalties, graduates' incidents): for demo data and for tests
that seed the index's inputs directly. Nothing here is used by the running platform."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, SQLModel

from evaluation.attempts import attempt_row
from models.complaints import Complaint
from models.evaluation import GraduateIncident, Penalty, Review
from models.journeys import JourneyRecord
from models.quality import ExamAttempt
from models.users import Role, User


@dataclass
class History:
    """Rows made so far, to be added to a session in one go."""

    rows: list[SQLModel] = field(default_factory=list)
    _n: int = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def add_to(self, session: Session) -> None:
        """Adds the rows, the learners' accounts first (the others refer to them)."""
        users = [r for r in self.rows if isinstance(r, User)]
        session.add_all(users)
        session.flush()
        session.add_all([r for r in self.rows if not isinstance(r, User)])

    def learner(self, prefix: str) -> str:
        user_id = f"U-{prefix}{self._next()}"
        self.rows.append(
            User(
                id=user_id,
                username=user_id.lower(),
                password_hash="!",  # cannot log in
                role=Role.learner,
                display_name="历史学员",
            )
        )
        return user_id

    def journey(
        self,
        learner_id: str,
        school_id: str,
        coach_id: str,
        city_code: str,
        started_at: datetime,
        status: str = "completed",
        ended_at: datetime | None = None,
    ) -> JourneyRecord:
        ended = ended_at or started_at
        row = JourneyRecord(
            workflow_id=f"journey-{learner_id}-{school_id}-C1",
            learner_id=learner_id,
            school_id=school_id,
            city_code=city_code,
            vehicle_class="C1",
            coach_id=coach_id,
            stage="closed" if status != "active" else "field",
            status=status,
            waiting_on="nobody" if status != "active" else "learner",
            stage_entered_at=ended,
            started_at=started_at,
            updated_at=ended,
        )
        self.rows.append(row)
        return row

    def exam(self, j: JourneyRecord, subject: str, passed: bool, at: datetime) -> None:
        first = not any(
            isinstance(r, ExamAttempt) and r.workflow_id == j.workflow_id and r.subject == subject
            for r in self.rows
        )
        seq = self._next()
        self.rows.append(attempt_row(j, seq, subject, passed, first, at.date().isoformat(), at))

    def review(
        self, j: JourneyRecord, stars: int, at: datetime, text: str = "", hidden: bool = False
    ) -> None:
        self.rows.append(
            Review(
                id=f"{j.workflow_id}:review:{self._next()}",
                journey_id=j.workflow_id,
                learner_id=j.learner_id,
                school_id=j.school_id,
                coach_id=j.coach_id,
                stage=f"stage-{self._n}",
                school_stars=stars,
                coach_stars=stars,
                text=text,
                created_at=at,
                updated_at=at,
                hidden=hidden,
            )
        )

    def complaint(self, j: JourneyRecord, at: datetime, overdue: bool = False) -> None:
        n = self._next()
        self.rows.append(
            Complaint(
                id=f"C{n:08d}",
                workflow_id=f"complaint-history-{j.workflow_id}-{n}",
                learner_id=j.learner_id,
                journey_id=j.workflow_id,
                school_id=j.school_id,
                coach_id=j.coach_id,
                city_code=j.city_code,
                source="general",
                category="service",
                content="教练态度差",
                status="closed",
                filed_at=at,
                overdue=overdue,
            )
        )

    def penalty(
        self, school_id: str, city_code: str, at: datetime, coach_id: str | None = None
    ) -> None:
        self.rows.append(
            Penalty(
                id=f"P{self._next():08d}",
                school_id=school_id,
                coach_id=coach_id,
                city_code=city_code,
                kind="fine",
                reason="未按培训大纲教学",
                amount_fen=500000,
                decided_at=at,
                received_at=at,
            )
        )

    def incident(self, j: JourneyRecord, kind: str, licensed_at: datetime, at: datetime) -> None:
        self.rows.append(
            GraduateIncident(
                id=f"G{self._next():08d}",
                learner_id=j.learner_id,
                school_id=j.school_id,
                coach_id=j.coach_id,
                kind=kind,
                severity="3" if kind == "violation" else "minor",
                licensed_at=licensed_at,
                occurred_at=at,
                received_at=at + timedelta(days=1),
            )
        )
