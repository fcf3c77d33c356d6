"""服务端 learner port: choose a school, start and drive one's own journey."""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api import catalog
from api import documents as docs
from api import learner_service as service
from api.bodies import StrictRoute
from api.deps import IdempotencyKey, LearnerUser, SessionDep, SettingsDep, TemporalDep
from api.inputs import CityCode, Latitude, Longitude, PathId, Reason, VehicleClass
from api.journeys import (
    JourneyCreate,
    full_view_json,
    nearest_centres,
)
from core.signature import MAX_BYTES, MAX_SIZE, MIN_SIZE
from models.journeys import JourneyRecord
from models.registry import (
    CoachPublic,
    HealthCentrePublic,
    SchoolPublic,
)
from workflows.journey_state import (
    Channel,
    JourneyView,
    UpdateOutcome,
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
    return catalog.compliant_schools(session, city_code, vehicle_class)


@router.get("/schools/{school_id}/coaches")
def list_coaches(school_id: PathId, session: SessionDep, _: LearnerUser) -> list[CoachPublic]:
    return catalog.active_coaches(session, school_id)


@router.post("/journeys", status_code=status.HTTP_201_CREATED)
async def create_journey(
    body: JourneyCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    learner: LearnerUser,
) -> dict[str, str]:
    policies = request.app.state.policies
    return {"workflow_id": await service.enrol(session, settings, client, policies, learner, body)}


@router.get("/journeys")
def my_journeys(session: SessionDep, learner: LearnerUser) -> list[JourneyRecord]:
    return service.learner_journeys(session, learner)


async def own_journey(
    session: SessionDep, client: TemporalDep, wf_id: str, learner: LearnerUser
) -> JourneyView:
    return await service.learner_journey(session, client, wf_id, learner)


@router.get("/journeys/{wf_id}", response_model=dict)
async def get_journey(
    wf_id: PathId, session: SessionDep, client: TemporalDep, learner: LearnerUser
) -> JSONResponse:
    view = await own_journey(session, client, wf_id, learner)
    return await full_view_json(session, client, view, learner)


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
    return await service.book_health_check(
        session, client, learner, wf_id, body.centre_id, body.slot, key
    )


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
    data = await signature.read(service.SIGNATURE_READ_LIMIT)
    return await service.sign_contract(session, client, learner, wf_id, data, key)


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
    return await service.create_payment(
        session, client, learner, wf_id, body.channel.value, body.amount_fen, key
    )


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
    return await service.withdraw(session, client, learner, wf_id, body.reason, key)
