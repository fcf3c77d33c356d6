"""The bench's people and journeys: learner accounts in bulk, and learners placed in 科目二.

Accounts share one password hash (PBKDF2 is slow on purpose; hashing it per account would
measure nothing) and get tokens minted with the API's own secret, as a login would.

A learner placed in training starts their journey with the state a continue-as-new carries
(`JourneyInput.resume`): sign-up to payment already done, the tuition in escrow, 科目一 passed.
So hundreds of learners reach 科目二 in seconds instead of each sitting through part 1; what
is measured there (their Updates, bookings and the worker's memory) is the journey's own code.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.journeys import JourneyCreate, build_input, initial_search_attributes
from bench.load import gather_bounded, wait_until
from bench.platform import Platform
from core.config import Settings
from core.idcard import check_char
from core.security import create_token, hash_password
from models.demo import DEMO_PASSWORD
from models.journeys import JourneyRecord
from models.users import Role, User
from policy.model import Policy
from workflows.journey import LearnerJourney
from workflows.journey_ids import journey_ids
from workflows.journey_state import Applicant, JourneyState, Money, Stage, WaitingOn
from workflows.steps import tuition_fen
from workflows.training import init_subjects

SCHOOL = "S371100002"  # 日照港城: demo slots, two coaches; the demo learner goes to S371100001
COACH, OTHER_COACH = f"{SCHOOL}-K1", f"{SCHOOL}-K2"


@dataclass(frozen=True)
class Learner:
    user_id: str
    username: str
    id_number: str
    headers: dict[str, str]

    def applicant(self) -> Applicant:
        phone = f"139{int(self.id_number[-9:-1]):08d}"
        return Applicant("测试学员", phone, self.id_number, 35.42, 119.52)

    def enrolment(self, school_id: str = SCHOOL, coach_id: str = COACH) -> dict[str, object]:
        """The body of POST /api/learner/journeys."""
        return {
            "school_id": school_id,
            "coach_id": coach_id,
            "vehicle_class": "C1",
            **asdict(self.applicant()),
        }


def id_number(k: int) -> str:
    """The k-th of a run's distinct, valid GB 11643 numbers (1,000 per birth date)."""
    born = date(1980, 1, 1) + timedelta(days=k // 1000)
    first17 = f"371102{born:%Y%m%d}{k % 1000:03d}"
    return first17 + check_char(first17)


class People:
    """Creates accounts for one run; every learner gets an ID number no other has."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._next = 0
        self._password_hash = hash_password(DEMO_PASSWORD)

    def headers(self, user: User) -> dict[str, str]:
        claims = {"sub": user.id, "role": user.role.value}
        token = create_token(claims, self._settings.jwt_secret, self._settings.jwt_minutes)
        return {"Authorization": f"Bearer {token}"}

    def staff(self, username: str) -> dict[str, str]:
        with Session(self._engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
        return self.headers(user)

    def learners(self, group: str, n: int, *, bind_id: bool = False) -> list[Learner]:
        """`n` new learner accounts; `bind_id` binds each one's ID number already (as their
        first enrolment would), for journeys that do not enrol through the API."""
        ks = range(self._next, self._next + n)
        self._next += n
        users = [
            User(
                id=f"U-b{group}{k}",
                username=f"b{group}{k}",
                password_hash=self._password_hash,
                role=Role.learner,
                display_name="测试学员",
                id_number=id_number(k) if bind_id else None,
            )
            for k in ks
        ]
        with self._engine.begin() as conn:
            conn.execute(insert(User), [u.model_dump() for u in users])
        return [
            Learner(u.id, u.username, id_number(k), self.headers(u))
            for k, u in zip(ks, users, strict=True)
        ]


def training_state(inp_tuition_fen: int, policy: Policy, learner_no: str) -> JourneyState:
    """What a journey carries into 科目二 after a clean part 1 and a first-time pass of 科目一."""
    now = datetime.now(UTC)
    subjects = init_subjects(policy, "C1", None)
    theory = subjects["theory"]
    theory.counted_minutes = theory.confirmed_minutes = theory.required_minutes
    theory.classroom_minutes = theory.classroom_min_minutes
    theory.stage_confirmed = True
    theory.report.status = "approved"
    theory.exam.eligible = theory.exam.passed = True
    theory.exam.passed_on = now.date().isoformat()
    return JourneyState(
        stage=Stage.field,
        waiting_on=WaitingOn.learner,
        stage_entered_at=now,
        enrolled_at=now,
        learner_no=learner_no,
        coach_id=COACH,
        tuition_fen=inp_tuition_fen,
        money=Money(deposited_fen=inp_tuition_fen),
        subjects=subjects,
        permit_issued_at=now,
        signing_approved_by="bench",
        version=1,
    )


async def place_in_training(
    client: Client,
    engine: Engine,
    settings: Settings,
    policies: dict[str, Policy],
    learners: Sequence[Learner],
    concurrency: int = 32,
) -> list[str]:
    """Starts each learner's journey at 科目二 (see the module docstring); returns the ids."""
    if not learners:
        return []
    with Session(engine) as session:
        user = session.get(User, learners[0].user_id)
        assert user is not None
        body = JourneyCreate.model_validate(learners[0].enrolment())
        template = build_input(session, user, body, policies)
    tuition = tuition_fen(template)

    async def start(learner: Learner) -> str:
        inp = replace(template, learner_id=learner.user_id, applicant=learner.applicant())
        state = training_state(tuition, inp.policy, f"BN{learner.id_number}")
        wf_id = next(journey_ids(inp.learner_id, inp.school.id, inp.vehicle_class))
        await client.start_workflow(
            LearnerJourney.run,
            replace(inp, resume=state),
            id=wf_id,
            task_queue=settings.task_queue,
            search_attributes=initial_search_attributes(inp),
        )
        return wf_id

    return await gather_bounded([partial(start, learner) for learner in learners], concurrency)


PLACED = "U-bp"  # the user ids of learners placed in training start so


def placed_in_field(engine: Engine) -> int:
    """How many placed journeys have had their first workflow task (it writes the row)."""
    with Session(engine) as session:
        query = select(func.count()).where(
            col(JourneyRecord.learner_id).startswith(PLACED), col(JourneyRecord.stage) == "field"
        )
        return session.exec(query).one()


async def open_in_training(
    p: Platform, people: People, engine: Engine, policies: dict[str, Policy], size: int
) -> list[tuple[Learner, str]]:
    """Places learners in training until `size` placed journeys are open and have run their
    first workflow task; returns the learners it placed, with their journeys' ids."""
    missing = size - placed_in_field(engine)
    learners = people.learners(f"p{size}-", missing, bind_id=True) if missing > 0 else []
    ids = await place_in_training(p.client, engine, p.settings, policies, learners)

    async def projected() -> bool:
        p.check_alive()
        return placed_in_field(engine) >= size

    # A placed journey costs the worker some 50 ms of CPU: allow five a second at the least.
    await wait_until(projected, f"{size} journeys in 科目二", seconds=max(60, missing / 5))
    return list(zip(learners, ids, strict=True))
