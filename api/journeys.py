"""Starting, reading and driving journey workflows on behalf of the API's ports."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import field_error, not_found, temporal_errors
from api.idempotency import Idempotency
from api.inputs import (
    Id,
    IdNumber,
    PersonName,
    Phone,
    StrictLatitude,
    StrictLongitude,
    VehicleClass,
)
from core.config import Settings
from core.idcard import age_on, birth_date
from core.masking import mask_id_number, mask_phone
from models import journey_log
from models.journeys import JourneyRecord
from models.registry import Coach, FeeSchedule, HealthCentre, HealthCentrePublic, School
from models.training import CHINA
from models.users import Role, User
from policy.model import AgeLimits, Policy
from workflows import search_attributes as sa
from workflows.documents_data import FeeAnnex
from workflows.journey import LearnerJourney
from workflows.journey_ids import journey_ids
from workflows.journey_state import (
    Applicant,
    JourneyInput,
    JourneyView,
    SchoolSnapshot,
    UpdateOutcome,
)


class ApplicantData(BaseModel):
    """Who enrols: sent at sign-up, and again with a transfer (转校)."""

    name: PersonName
    phone: Phone
    id_number: IdNumber
    lat: StrictLatitude
    lon: StrictLongitude


class JourneyCreate(ApplicantData):
    school_id: Id
    coach_id: Id
    vehicle_class: VehicleClass


def build_input(
    session: Session, learner: User, body: JourneyCreate, policies: dict[str, Policy]
) -> JourneyInput:
    school = session.get(School, body.school_id)
    if school is None or not school.compliant:
        raise field_error("school_id", "没有此备案且合规的驾校", kind="unknown_school")
    if body.vehicle_class not in school.vehicle_classes:
        message = f"{school.name}不培训{body.vehicle_class}车型"
        raise field_error("vehicle_class", message, kind="class_not_taught")
    coach = session.get(Coach, body.coach_id)
    if coach is None or coach.school_id != school.id or not coach.active:
        raise field_error("coach_id", "该驾校没有此在岗教练", kind="unknown_coach")
    if body.vehicle_class not in coach.permitted_classes:
        message = f"教练{coach.name}未获准教授{body.vehicle_class}车型"
        raise field_error("coach_id", message, kind="coach_not_permitted")
    policy = policies.get(school.city_code)
    limits = policy.ages.get(body.vehicle_class) if policy else None
    if policy is None or body.vehicle_class not in policy.hours or limits is None:
        message = "该城市的政策未涵盖此车型"
        raise field_error("vehicle_class", message, kind="class_not_in_policy")
    check_age(body.id_number, body.vehicle_class, limits)
    fees = session.get(FeeSchedule, (school.id, body.vehicle_class))
    if fees is None:
        raise field_error("vehicle_class", "该驾校未公布此车型的收费标准", kind="no_fees")
    return JourneyInput(
        learner_id=learner.id,
        applicant=Applicant(body.name, body.phone, body.id_number, body.lat, body.lon),
        school=SchoolSnapshot(
            id=school.id,
            name=school.name,
            filing_no=school.filing_no,
            address=school.address,
            phone=school.phone,
            city_code=school.city_code,
            escrow_account=escrow_account(school.id),
        ),
        coach_id=coach.id,
        coach_name=coach.name,
        vehicle_class=body.vehicle_class,
        fees=FeeAnnex(
            services_fen=fees.services_fen,
            theory_fen=fees.theory_fen,
            simulator_rates_fen=list(fees.simulator_rates_fen),
            field_rates_fen=list(fees.field_rates_fen),
            road_rates_fen=list(fees.road_rates_fen),
        ),
        policy=policy,
    )


def check_age(id_number: str, vehicle_class: str, limits: AgeLimits) -> None:
    """The applicant's age on the day of enrolment (周岁, China time) within the policy's."""
    age = age_on(birth_date(id_number), datetime.now(CHINA).date())
    if age < limits.min_age:
        message = f"报名{vehicle_class}车型须年满{limits.min_age}周岁"
        raise field_error("id_number", message, kind="too_young")
    if limits.max_age is not None and age > limits.max_age:
        message = f"报名{vehicle_class}车型须不超过{limits.max_age}周岁"
        raise field_error("id_number", message, kind="too_old")


def bind_id_number(session: Session, learner: User, id_number: str) -> None:
    """The first enrolment binds the ID number to the account; later ones must use it, and no
    other account may hold it (the unique index settles a race: nothing half-written)."""
    if learner.id_number is not None:
        if learner.id_number != id_number:
            message = "身份证号与账户绑定的身份证号不一致"
            raise field_error("id_number", message, kind="id_number_mismatch")
        return
    taken = field_error(
        "id_number", "该身份证号已绑定其他账户", status.HTTP_409_CONFLICT, kind="id_number_taken"
    )
    if session.exec(select(User).where(User.id_number == id_number)).first() is not None:
        raise taken
    learner.id_number = id_number
    session.add(learner)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise taken from exc


async def checked_enrolment(
    session: Session, learner: User, body: JourneyCreate, policies: dict[str, Policy]
) -> JourneyInput:
    """The journey's input, with the learner's ID number bound: in a worker thread, because
    the binding's commit waits on the disk (SQLite's fsync), and on the event loop that wait
    held up every other request (py-spy: a third of a journey start's time, bench item 1)."""

    def checked() -> JourneyInput:
        inp = build_input(session, learner, body, policies)
        bind_id_number(session, learner, inp.applicant.id_number)
        return inp

    return await run_in_threadpool(checked)


def escrow_account(school_id: str) -> str:
    """The school's escrow account at the bank (监管账户)."""
    return f"ESC-{school_id}"


async def start_journey(client: Client, settings: Settings, inp: JourneyInput) -> str:
    """Starts the enrolment's journey under the first id no closed enrolment holds. A double
    submit meets the running journey instead of starting a twin: the same enrolment is
    answered with it, a different one (another coach, name or phone) is refused (409)."""
    for wf_id in journey_ids(inp.learner_id, inp.school.id, inp.vehicle_class):
        try:
            await client.start_workflow(
                LearnerJourney.run,
                inp,
                id=wf_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=initial_search_attributes(inp),
            )
        except WorkflowAlreadyStartedError:
            running = await running_enrolment(client, wf_id)
            if running is None:
                continue  # a closed enrolment holds this id
            refuse_other_enrolment(wf_id, running, inp)
        return wf_id
    raise HTTPException(status.HTTP_409_CONFLICT, "报名次数已达上限，请联系平台")


async def running_enrolment(client: Client, wf_id: str) -> JourneyInput | None:
    """The enrolment a running journey was started with; None once it has closed."""
    if (await handle(client, wf_id).describe()).status != WorkflowExecutionStatus.RUNNING:
        return None
    return await enrolment(client, wf_id)


async def enrolment(client: Client, wf_id: str) -> JourneyInput | None:
    """The input the journey's current run started with (a continued run carries the
    applicant on); None once its history is gone (past the namespace's retention)."""
    try:
        async for event in handle(client, wf_id).fetch_history_events(page_size=1):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            return (await client.data_converter.decode(payloads, [JourneyInput]))[0]
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    return None


# What an enrolment says that a re-post could change, and the names people read.
ENROLMENT_FIELDS = {"coach_id": "教练", "name": "姓名", "phone": "手机号", "id_number": "身份证号"}


def refuse_other_enrolment(wf_id: str, running: JourneyInput, inp: JourneyInput) -> None:
    """Refuses an enrolment that meets a running journey with other data, naming the journey
    (its changes would otherwise be dropped without a word)."""
    was, now = _enrolment(running), _enrolment(inp)
    for field, label in ENROLMENT_FIELDS.items():
        if was[field] != now[field]:
            raise field_error(
                field,
                f"已有进行中的报名（{wf_id}），其{label}与本次提交的不一致；"
                "已提交的报名信息不能通过再次报名修改",
                status.HTTP_409_CONFLICT,
                kind="enrolment_exists",
                journey_id=wf_id,
            )


def _enrolment(inp: JourneyInput) -> dict[str, str]:
    a = inp.applicant
    return {"coach_id": inp.coach_id, "name": a.name, "phone": a.phone, "id_number": a.id_number}


def initial_search_attributes(inp: JourneyInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.STAGE, "signup"),
            SearchAttributePair(sa.STATUS, "active"),
            SearchAttributePair(sa.SCHOOL, inp.school.id),
            SearchAttributePair(sa.CITY, inp.school.city_code),
            SearchAttributePair(sa.VEHICLE_CLASS, inp.vehicle_class),
            SearchAttributePair(sa.WAITING_ON, "platform"),
        ]
    )


async def fetch_view(client: Client, wf_id: str) -> JourneyView:
    async with temporal_errors():
        return await handle(client, wf_id).query(LearnerJourney.view)


async def journey_view(session: Session, client: Client, wf_id: str) -> JourneyView:
    """A journey's view: a closed one's from the read model (the view it closed with, never a
    replay of its history), an open one's by query. Who may see it is the caller's check."""
    closed = journey_log.closed_view(session, wf_id)
    session.commit()  # the read is done: no connection held while the journey answers
    return closed if closed is not None else await fetch_view(client, wf_id)


@dataclass(frozen=True)
class JourneyParty:
    """Who a journey belongs to, fixed when it starts: all an action's check of who is
    calling needs. JourneyView has the same names, so one rule checks either."""

    learner_id: str
    school_id: str
    city_code: str
    vehicle_class: str


Party = JourneyParty | JourneyView
Allowed = Callable[[Party], bool]


async def journey_party(session: Session, client: Client, wf_id: str) -> JourneyParty:
    """The journey's party from its read-model row: one primary-key read instead of a query
    answered by the worker with the whole view (which doubled a learner step's round trips,
    bench item 2). A journey started a moment ago and not yet projected is asked directly."""
    row = session.get(JourneyRecord, wf_id)
    session.commit()
    source: JourneyRecord | JourneyView = row or await fetch_view(client, wf_id)
    return JourneyParty(source.learner_id, source.school_id, source.city_code, source.vehicle_class)


async def visible_view(
    session: Session, client: Client, wf_id: str, allowed: Allowed
) -> JourneyView:
    """The journey's view if the caller may see it; someone else's journey is the same 404 as
    one that never was."""
    view = await journey_view(session, client, wf_id)
    if not allowed(view):
        raise not_found("journey")
    return view


async def visible_party(
    session: Session, client: Client, wf_id: str, allowed: Allowed
) -> JourneyParty:
    """The journey's party if the caller may act on it (the same 404 otherwise), for actions
    that need no more of the journey than who it belongs to."""
    party = await journey_party(session, client, wf_id)
    if not allowed(party):
        raise not_found("journey")
    return party


# Who sees the applicant's ID number and phone whole in a journey's detail: the learner, whose
# they are, and the school's staff, who check them against the ID card at 面签 and call the
# learner. Everyone else (the governance port, in its detail as in every list) sees them masked.
SEES_APPLICANT_WHOLE = frozenset({Role.learner, Role.school_staff})


async def applicant_shown(client: Client, wf_id: str, caller: User) -> dict[str, str] | None:
    """Who enrolled, as `caller` may see them (core/masking.py's rule for everyone not entitled
    to the whole); None when the journey's history is gone."""
    async with temporal_errors():
        inp = await enrolment(client, wf_id)
    if inp is None:
        return None
    a = inp.applicant
    if caller.role in SEES_APPLICANT_WHOLE:
        return {"name": a.name, "phone": a.phone, "id_number": a.id_number}
    return {"name": a.name, "phone": mask_phone(a.phone), "id_number": mask_id_number(a.id_number)}


async def full_view_json(
    session: Session, client: Client, view: JourneyView, caller: User
) -> JSONResponse:
    """The view as people see it: the state with its timeline, records and bookings put back
    from the read model (the journey keeps only the ones not yet written, and the open ones),
    and who enrolled, as the caller may see them. Already JSON: answered as it is."""
    doc = journey_log.view_document(session, view)
    session.commit()
    doc["state"]["held_fen"] = view.state.money.held_fen
    doc["applicant"] = await applicant_shown(client, view.workflow_id, caller)
    return JSONResponse(doc)


def handle(client: Client, wf_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(wf_id)


async def run_update(
    client: Client, wf_id: str, update: Any, arg: Any, key: Idempotency
) -> UpdateOutcome:
    """Runs a journey Update and answers what it did; the caller's Idempotency-Key makes a
    retried HTTP call the same Update (and the same key with another request a 422)."""
    update_id = key.update_id(wf_id, update.__name__, arg)
    async with temporal_errors():
        outcome: UpdateOutcome = await handle(client, wf_id).execute_update(
            update, arg, id=update_id
        )
    return outcome


def nearest_centres(
    session: Session, city_code: str, lat: float, lon: float
) -> list[HealthCentrePublic]:
    centres = session.exec(select(HealthCentre).where(HealthCentre.city_code == city_code)).all()
    listed = [
        HealthCentrePublic(
            **c.model_dump(), distance_km=round(distance_km(lat, lon, c.lat, c.lon), 2)
        )
        for c in centres
    ]
    return sorted(listed, key=lambda c: c.distance_km or 0.0)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))
