"""What a learner does with their own journey, for the JSON routes and the pages alike: each
function checks that the journey is the caller's, then drives it."""

import base64
from dataclasses import dataclass

from sqlmodel import Session, select
from temporalio.client import Client

from api.errors import field_error
from api.idempotency import Idempotency
from api.journeys import (
    Allowed,
    JourneyCreate,
    JourneyParty,
    checked_enrolment,
    run_update,
    start_journey,
    visible_party,
    visible_view,
)
from core.config import Settings
from core.signature import MAX_BYTES, normalize_signature, signature_error
from models.journeys import JourneyRecord
from models.registry import FeeSchedule, HealthCentre
from models.users import User
from policy.model import Policy, SubjectHours
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    STAGE_NAMES,
    BookHealthCheck,
    CreatePayment,
    JourneyView,
    SignContract,
    Stage,
    UpdateOutcome,
    Withdraw,
)
from workflows.steps import tuition_of
from workflows.training import unreleased_due_fen


def mine(learner: User) -> Allowed:
    return lambda party: party.learner_id == learner.id


async def learner_journey(
    session: Session, client: Client, wf_id: str, learner: User
) -> JourneyView:
    """The learner's own journey's view; someone else's is the same 404 as none at all."""
    return await visible_view(session, client, wf_id, mine(learner))


async def learner_party(
    session: Session, client: Client, wf_id: str, learner: User
) -> JourneyParty:
    """The learner's own journey's party, for actions that need no more than whose it is."""
    return await visible_party(session, client, wf_id, mine(learner))


def learner_journeys(session: Session, learner: User) -> list[JourneyRecord]:
    query = select(JourneyRecord).where(JourneyRecord.learner_id == learner.id)
    return list(session.exec(query.order_by(JourneyRecord.started_at)).all())


async def enrol(
    session: Session,
    settings: Settings,
    client: Client,
    policies: dict[str, Policy],
    learner: User,
    body: JourneyCreate,
) -> str:
    inp = await checked_enrolment(session, learner, body, policies)
    return await start_journey(client, settings, inp)


async def book_health_check(
    session: Session,
    client: Client,
    learner: User,
    wf_id: str,
    centre_id: str,
    slot: str,
    key: Idempotency,
) -> UpdateOutcome:
    view = await learner_journey(session, client, wf_id, learner)
    centre = session.get(HealthCentre, centre_id)
    if centre is None or centre.city_code != view.city_code:
        message = "驾校所在城市没有此体检机构"
        raise field_error("centre_id", message, kind="unknown_health_centre")
    req = BookHealthCheck(centre.id, slot, centre.fee_fen, centre.name)
    return await run_update(client, wf_id, LearnerJourney.book_health_check, req, key)


async def sign_contract(
    session: Session, client: Client, learner: User, wf_id: str, image: bytes, key: Idempotency
) -> UpdateOutcome:
    """The hand-drawn signature (PNG or JPEG, as read: at most MAX_BYTES + 1 bytes)."""
    if error := signature_error(image):
        raise field_error("signature", error, kind="signature_invalid")
    await learner_party(session, client, wf_id, learner)
    req = SignContract(base64.b64encode(normalize_signature(image)).decode())
    return await run_update(client, wf_id, LearnerJourney.sign_contract, req, key)


SIGNATURE_READ_LIMIT = MAX_BYTES + 1  # one byte more than allowed: too large is then seen


async def create_payment(
    session: Session,
    client: Client,
    learner: User,
    wf_id: str,
    channel: str,
    amount_fen: int | None,
    key: Idempotency,
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    req = CreatePayment(channel, amount_fen or 0)
    return await run_update(client, wf_id, LearnerJourney.create_payment, req, key)


async def withdraw(
    session: Session, client: Client, learner: User, wf_id: str, reason: str, key: Idempotency
) -> UpdateOutcome:
    await learner_party(session, client, wf_id, learner)
    return await run_update(client, wf_id, LearnerJourney.withdraw, Withdraw(reason), key)


def withdrawal_refund_fen(view: JourneyView) -> int:
    """What a withdrawal now would pay back: everything held that the school has not earned
    (the journey's settlement: workflows/money.py `settle`)."""
    s = view.state
    return s.money.held_fen - min(unreleased_due_fen(s), s.money.held_fen)


@dataclass
class StageFee:
    stage: str
    name: str
    fee_fen: int | None  # None: nothing to pay at this stage
    note: str = ""


def stage_fees(
    fees: FeeSchedule | None, hours: SubjectHours | None, health_fee_fen: int | None = None
) -> list[StageFee]:
    """Every stage of the journey with what it costs under the school's published fee annex
    (practical hours at the normal rate; peak and holiday hours cost more)."""
    f, h = fees, hours
    amounts: dict[Stage, tuple[int | None, str]] = {
        Stage.health_check: (health_fee_fen, "在体检机构缴纳"),
        Stage.payment: (
            None if f is None or h is None else tuition_of(f, h),
            "存入资金监管账户，先培后付",
        ),
        Stage.theory: (None if f is None else f.theory_fen, "理论培训费"),
        Stage.field: (
            None if f is None or h is None else h.field * f.field_rates_fen[0],
            "" if h is None else f"{h.field} 学时，按确认学时拨付",
        ),
        Stage.road: (
            None if f is None or h is None else h.road * f.road_rates_fen[0],
            "" if h is None else f"{h.road} 学时，按确认学时拨付",
        ),
    }
    shown = [s for s in Stage if s is not Stage.closed]
    return [StageFee(s.value, STAGE_NAMES[s], *amounts.get(s, (None, ""))) for s in shown]
