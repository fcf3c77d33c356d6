"""服务端 learner port: choose a school, start and drive one's own journey."""

import base64
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from api import documents as docs
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, LearnerUser, SessionDep, SettingsDep, TemporalDep
from api.errors import field_error, not_found
from api.inputs import CityCode, Latitude, Longitude, PathId, Reason, VehicleClass
from api.journeys import (
    Allowed,
    JourneyCreate,
    JourneyParty,
    enrol,
    full_view_json,
    nearest_centres,
    run_update,
    start_journey,
    visible_party,
    visible_view,
)
from core.signature import MAX_BYTES, MAX_SIZE, MIN_SIZE, normalize_signature, signature_error
from models.journeys import JourneyRecord
from models.registry import (
    Coach,
    CoachPublic,
    HealthCentre,
    HealthCentrePublic,
    School,
    SchoolPublic,
)
from models.users import User
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookHealthCheck,
    Channel,
    CreatePayment,
    JourneyView,
    SignContract,
    UpdateOutcome,
    Withdraw,
)

router = APIRouter(prefix="/api/learner", tags=["learner"], route_class=StrictRoute)
SIGNATURE_RULES = (
    f"手写签名图片：PNG 或 JPEG，不超过 {MAX_BYTES // 1024} KiB，"
    f"{MIN_SIZE[0]}x{MIN_SIZE[1]} 至 {MAX_SIZE[0]}x{MAX_SIZE[1]} 像素"
)


@router.get("/schools")
def list_schools(
    session: SessionDep,
    _: LearnerUser,
    city_code: CityCode | None = None,
    vehicle_class: VehicleClass | None = None,
) -> list[SchoolPublic]:
    query = select(School).where(School.compliant)
    if city_code:
        query = query.where(School.city_code == city_code)
    schools = session.exec(query.order_by(School.id)).all()
    return [
        SchoolPublic.model_validate(s)
        for s in schools
        if not vehicle_class or vehicle_class in s.vehicle_classes
    ]


@router.get("/schools/{school_id}/coaches")
def list_coaches(school_id: PathId, session: SessionDep, _: LearnerUser) -> list[CoachPublic]:
    if session.get(School, school_id) is None:
        raise not_found("school")
    coaches = session.exec(select(Coach).where(Coach.school_id == school_id, Coach.active)).all()
    return [CoachPublic.model_validate(c) for c in coaches]


@router.post("/journeys", status_code=status.HTTP_201_CREATED)
async def create_journey(
    body: JourneyCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> dict[str, str]:
    inp = await enrol(session, learner, body, request.app.state.policies)
    wf_id = await start_journey(client, settings, inp)
    return {"workflow_id": wf_id}


@router.get("/journeys")
def my_journeys(session: SessionDep, learner: LearnerUser) -> list[JourneyRecord]:
    return list(
        session.exec(
            select(JourneyRecord)
            .where(JourneyRecord.learner_id == learner.id)
            .order_by(JourneyRecord.started_at)
        ).all()
    )


def mine(learner: User) -> Allowed:
    return lambda party: party.learner_id == learner.id


async def own_journey(
    session: SessionDep, client: TemporalDep, wf_id: str, learner: LearnerUser
) -> JourneyView:
    return await visible_view(session, client, wf_id, mine(learner))


async def own_party(
    session: SessionDep, client: TemporalDep, wf_id: str, learner: LearnerUser
) -> JourneyParty:
    return await visible_party(session, client, wf_id, mine(learner))


@router.get("/journeys/{wf_id}", response_model=dict)
async def get_journey(
    wf_id: PathId, session: SessionDep, client: TemporalDep, learner: LearnerUser
) -> JSONResponse:
    return full_view_json(session, await own_journey(session, client, wf_id, learner))


@router.get("/journeys/{wf_id}/health-centres")
async def health_centres(
    wf_id: PathId,
    lat: Latitude,
    lon: Longitude,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> list[HealthCentrePublic]:
    view = await own_journey(session, client, wf_id, learner)
    return nearest_centres(session, view.city_code, lat, lon)


class HealthBooking(BaseModel):
    centre_id: str = Field(min_length=1, max_length=32)
    slot: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}", max_length=32)


@router.post("/journeys/{wf_id}/health-check")
async def book_health_check(
    wf_id: PathId,
    body: HealthBooking,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    view = await own_journey(session, client, wf_id, learner)
    centre = session.get(HealthCentre, body.centre_id)
    if centre is None or centre.city_code != view.city_code:
        message = "驾校所在城市没有此体检机构"
        raise field_error("centre_id", message, kind="unknown_health_centre")
    req = BookHealthCheck(centre.id, body.slot, centre.fee_fen, centre.name)
    return await run_update(client, wf_id, LearnerJourney.book_health_check, req, key)


@router.get("/journeys/{wf_id}/contract.pdf")
async def contract_pdf(
    wf_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> Response:
    c = (await own_journey(session, client, wf_id, learner)).state.contract
    return docs.pdf_response(
        settings,
        "contract",
        c.signed_sha256 or c.preview_sha256,
        f"{c.contract_no or 'contract'}.pdf",
    )


@router.post("/journeys/{wf_id}/contract/signature")
async def sign_contract(
    wf_id: PathId,
    session: SessionDep,
    client: TemporalDep,
    learner: LearnerUser,
    signature: Annotated[UploadFile, File(description=SIGNATURE_RULES)],
    key: IdempotencyKey,
) -> UpdateOutcome:
    data = await signature.read(MAX_BYTES + 1)
    if error := signature_error(data):
        raise field_error("signature", error, kind="signature_invalid")
    await own_party(session, client, wf_id, learner)
    req = SignContract(base64.b64encode(normalize_signature(data)).decode())
    return await run_update(client, wf_id, LearnerJourney.sign_contract, req, key)


class PaymentRequest(BaseModel):
    channel: Channel
    # Only during training: a top-up of the escrow (e.g. for peak-hour sessions). At the
    # payment stage the amount is the tuition still owed, whatever is sent.
    amount_fen: int | None = Field(None, gt=0, le=10_000_000)


@router.post("/journeys/{wf_id}/payment")
async def create_payment(
    wf_id: PathId,
    session: SessionDep,
    body: PaymentRequest,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await own_party(session, client, wf_id, learner)
    req = CreatePayment(body.channel.value, body.amount_fen or 0)
    return await run_update(client, wf_id, LearnerJourney.create_payment, req, key)


@router.get("/journeys/{wf_id}/invoice.pdf")
async def invoice_pdf(
    wf_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> Response:
    s = (await own_journey(session, client, wf_id, learner)).state
    return docs.pdf_response(settings, "invoice", s.invoice_sha256, f"{s.invoice_no}.pdf")


class WithdrawRequest(BaseModel):
    reason: Reason


@router.post("/journeys/{wf_id}/withdraw")
async def withdraw(
    wf_id: PathId,
    session: SessionDep,
    body: WithdrawRequest,
    client: TemporalDep,
    learner: LearnerUser,
    key: IdempotencyKey,
) -> UpdateOutcome:
    await own_party(session, client, wf_id, learner)
    return await run_update(client, wf_id, LearnerJourney.withdraw, Withdraw(body.reason), key)
