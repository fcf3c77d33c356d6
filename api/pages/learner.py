"""学员 pages (日照学车): real-name binding, choosing a school, enrolment as steps, the health
check, 面签 status, the contract signed on a drawing pad, payment on the channel's page, the
invoice, training progress and withdrawal. Every action calls api/learner_service.py."""

from datetime import date, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from api import catalog
from api import documents as docs
from api import learner_service as service
from api import training_service as training
from api.accounts import bind_real_name
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.inputs import Comment, IdNumber, PersonName, Reason
from api.journeys import ApplicantData, JourneyCreate, nearest_centres
from api.pages.web import (
    CheckedForm,
    LearnerPage,
    LearnerPost,
    Posted,
    VisitorDep,
    china,
    city_title,
    explain,
    field,
    redirect,
    render,
    validation_message,
)
from api.routes import training as coach_routes
from models.registry import FeeSchedule, School
from models.training import CHINA, TrainingSlotPublic
from policy.model import SubjectHours
from workflows.journey_state import (
    STAGE_NAMES,
    Channel,
    FollowupReview,
    JourneyView,
    RateStage,
    Stage,
    Status,
    UpdateOutcome,
    WaitingOn,
)

router = APIRouter(prefix="/learner", include_in_schema=False)
CHANNEL_NAMES = {Channel.unionpay: "云闪付", Channel.alipay: "支付宝", Channel.wechat: "微信支付"}
HEALTH_SLOT_TIMES = ("08:30", "14:30")
# How often a page whose next move is not the learner's looks again by itself.
REFRESH_SECONDS = 3


@router.get("")
def home(
    request: Request, who: VisitorDep, learner: LearnerPage, session: SessionDep
) -> HTMLResponse:
    journeys = service.learner_journeys(session, learner)
    session.commit()
    return render(request, who, "learner/home.html", journeys=journeys)


# ---- real-name binding (实名认证) ------------------------------------------------------------


class RealName(BaseModel):
    name: PersonName
    id_number: IdNumber


@router.get("/realname")
def realname_page(request: Request, who: VisitorDep, learner: LearnerPage) -> HTMLResponse:
    return render(request, who, "learner/realname.html", name=learner.real_name or "")


@router.post("/realname")
def bind_realname(
    request: Request,
    who: VisitorDep,
    learner: LearnerPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    name = field(form, "name")
    try:
        body = RealName(name=name, id_number=field(form, "id_number"))
        bind_real_name(session, learner, body.name, body.id_number)
    except ValidationError as exc:
        error = validation_message(exc)
        return render(request, who, "learner/realname.html", 422, name=name, error=error)
    except HTTPException as exc:
        return render(
            request, who, "learner/realname.html", exc.status_code, name=name, error=explain(exc)
        )
    return redirect(settings, "/learner/schools", "实名认证成功")


# ---- choosing a school ----------------------------------------------------------------------


def _fees_by_class(session: SessionDep, school_id: str) -> dict[str, FeeSchedule]:
    return {f.vehicle_class: f for f in catalog.school_fees(session, school_id)}


@router.get("/schools")
def schools(
    request: Request,
    who: VisitorDep,
    _: LearnerPage,
    session: SessionDep,
    vehicle_class: str = "",
    district: str = "",
) -> HTMLResponse:
    city = next(iter(request.app.state.policies.values()))
    listed = catalog.compliant_schools(session, city.city_code, vehicle_class or None)
    districts = sorted({s.district_code for s in listed})
    if district:
        listed = [s for s in listed if s.district_code == district]
    figures = catalog.school_figures(session, [s.id for s in listed])
    tuition = {s.id: _tuition_from(request, session, s.id, vehicle_class or "C1") for s in listed}
    session.commit()
    return render(
        request,
        who,
        "learner/schools.html",
        schools=listed,
        figures=figures,
        tuition=tuition,
        vehicle_class=vehicle_class,
        district=district,
        districts=districts,
    )


def _hours(request: Request, city_code: str, vehicle_class: str) -> SubjectHours | None:
    """The city policy's required hours for a class (None where the policy has none)."""
    policy = request.app.state.policies.get(city_code)
    return policy.hours.get(vehicle_class) if policy else None


def _tuition_from(request: Request, session: SessionDep, school_id: str, cls: str) -> int | None:
    fees = session.get(FeeSchedule, (school_id, cls))
    school = session.get(School, school_id)
    payment = service.stage_fees(fees, _hours(request, school.city_code if school else "", cls))
    return next(s.fee_fen for s in payment if s.stage == Stage.payment)


@router.get("/schools/{school_id}")
def school_detail(
    request: Request,
    who: VisitorDep,
    learner: LearnerPage,
    session: SessionDep,
    school_id: str,
    vehicle_class: str = "C1",
) -> HTMLResponse:
    school = session.get(School, school_id)
    if school is None or not school.compliant:
        raise HTTPException(404, "驾校不存在")
    coaches = catalog.active_coaches(session, school_id)
    fees = _fees_by_class(session, school_id)
    cls = vehicle_class if vehicle_class in school.vehicle_classes else school.vehicle_classes[0]
    hours = _hours(request, school.city_code, cls)
    figures = catalog.school_figures(session, [school_id])[school_id]
    session.commit()
    return render(
        request,
        who,
        "learner/school.html",
        title=city_title(request, school.city_code),
        school=school,
        coaches=coaches,
        fees=fees,
        vehicle_class=cls,
        stages=service.stage_fees(fees.get(cls), hours),
        figures=figures,
        this_year=datetime.now(CHINA).year,
        learner=learner,
    )


@router.post("/enrol")
async def enrol(
    request: Request,
    who: VisitorDep,
    learner: LearnerPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
) -> Response:
    school_id = field(form, "school_id")
    back = f"/learner/schools/{school_id}"
    if learner.real_name is None or learner.id_number is None:
        return redirect(settings, "/learner/realname", "报名前请先完成实名认证", ok=False)
    school = session.get(School, school_id)
    try:
        body = JourneyCreate(
            school_id=school_id,
            coach_id=field(form, "coach_id"),
            vehicle_class=field(form, "vehicle_class"),
            name=learner.real_name,
            phone=learner.phone or field(form, "phone"),
            id_number=learner.id_number,
            lat=school.lat if school else 0.0,
            lon=school.lon if school else 0.0,
        )
        wf_id = await service.enrol(
            session, settings, client, request.app.state.policies, learner, body
        )
    except ValidationError as exc:
        return redirect(settings, back, validation_message(exc), ok=False)
    except HTTPException as exc:
        return redirect(settings, back, explain(exc), ok=False)
    return redirect(settings, f"/learner/journeys/{wf_id}", "报名已提交")


# ---- the journey ----------------------------------------------------------------------------


def _health_slots(now: datetime) -> list[str]:
    """The next three days' check-up times, as the centres take them (China time)."""
    days = [(now + timedelta(days=d)).date() for d in (1, 2, 3)]
    return [f"{day.isoformat()}T{t}" for day in days for t in HEALTH_SLOT_TIMES]


def _paid(view: JourneyView) -> bool:
    return any(o.status == "paid" and o.purpose == "tuition" for o in view.state.orders)


def _refresh(view: JourneyView) -> int | None:
    """While the journey's next move is someone else's, the page looks again by itself."""
    s = view.state
    if s.status is not Status.active:
        return None
    if s.stage is Stage.payment:
        return REFRESH_SECONDS if _paid(view) else None
    busy = s.waiting_on in (WaitingOn.platform, WaitingOn.bank, WaitingOn.health_centre)
    return REFRESH_SECONDS if busy else None


@router.get("/journeys/{wf_id}")
async def journey(
    request: Request,
    who: VisitorDep,
    learner: LearnerPage,
    session: SessionDep,
    client: TemporalDep,
    wf_id: str,
) -> HTMLResponse:
    view = await service.learner_journey(session, client, wf_id, learner)
    school = session.get(School, view.school_id)
    fees = session.get(FeeSchedule, (view.school_id, view.vehicle_class))
    policy = request.app.state.policies.get(view.city_code)
    hours = policy.hours.get(view.vehicle_class) if policy else None
    s = view.state
    centres = (
        nearest_centres(session, view.city_code, school.lat, school.lon)
        if school and s.stage is Stage.health_check
        else []
    )
    slots = training.bookable_slots(session, view, learner, policy) if policy else []
    coaches = {c.id: c.name for c in catalog.active_coaches(session, view.school_id)}
    transfer_to = _transfer_options(session, view) if s.status is Status.active else []
    session.commit()
    order = next((o for o in reversed(s.orders) if o.status == "pending"), None)
    return render(
        request,
        who,
        "learner/journey.html",
        title=city_title(request, view.city_code),
        view=view,
        s=s,
        school=school,
        stages=service.stage_fees(fees, hours, s.health.fee_fen or None),
        stage_order=[st.value for st in Stage],
        stage_names=STAGE_NAMES,
        centres=centres,
        health_slots=_health_slots(datetime.now(CHINA)),
        channels=CHANNEL_NAMES,
        order=order,
        paid=_paid(view),
        city_name=policy.city_name if policy else "",
        refund_fen=service.withdrawal_refund_fen(view),
        refresh=_refresh(view),
        calendar=_by_day(slots),
        coaches=coaches,
        bookings=[b for b in s.bookings if b.status == "booked"],
        records=[r for r in s.records if r.status == "pending"],
        archive_kinds=training.ARCHIVE_KINDS,
        transfer_to=transfer_to,
        subjects=sorted(
            s.subjects.items(), key=lambda item: [st.value for st in Stage].index(item[0])
        ),
    )


def _transfer_options(session: SessionDep, view: JourneyView) -> list[tuple[str, str, str]]:
    """(value, school, coach) for every coach of another school in the city who teaches the
    journey's class."""
    return [
        (f"{school.id}|{coach.id}", school.name, coach.name)
        for school in catalog.compliant_schools(session, view.city_code, view.vehicle_class)
        if school.id != view.school_id
        for coach in catalog.active_coaches(session, school.id)
        if view.vehicle_class in coach.permitted_classes
    ]


def _by_day(slots: list[TrainingSlotPublic]) -> list[tuple[str, list[TrainingSlotPublic]]]:
    """The booking calendar: open slots by China day, in time order."""
    days: dict[str, list[TrainingSlotPublic]] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        day = china(slot.start)
        days.setdefault(f"{day:%m-%d} 周{'一二三四五六日'[day.weekday()]}", []).append(slot)
    return list(days.items())


def _back(wf_id: str) -> str:
    return f"/learner/journeys/{wf_id}"


@router.post("/journeys/{wf_id}/health-check")
async def book_health_check(post: LearnerPost, wf_id: str) -> Response:
    client, slot = await post.temporal(), post.field("slot")

    async def book() -> None:
        if slot not in _health_slots(datetime.now(CHINA)):
            raise HTTPException(422, "请选择体检时间")
        centre = post.field("centre_id")
        await service.book_health_check(
            post.session, client, post.user, wf_id, centre, slot, post.key
        )

    return await post.act(_back(wf_id), "体检已预约，请按时前往", book)


@router.post("/journeys/{wf_id}/signature")
async def sign_contract(post: LearnerPost, wf_id: str) -> Response:
    """The drawing pad's PNG (static/signature-pad.js posts it with the form's tokens)."""
    client, upload = await post.temporal(), post.form.get("signature")
    image = await upload.read(service.SIGNATURE_READ_LIMIT) if hasattr(upload, "read") else b""
    return await post.act(
        _back(wf_id),
        "合同已签署",
        lambda: service.sign_contract(post.session, client, post.user, wf_id, image, post.key),
    )


@router.post("/journeys/{wf_id}/payment")
async def pay(post: LearnerPost, wf_id: str) -> Response:
    """Creates the order and sends the learner to the channel's payment page."""
    client = await post.temporal()
    try:
        channel = Channel(post.field("channel"))
    except ValueError:
        return redirect(post.settings, _back(wf_id), "请选择支付方式", ok=False)
    outcome: list[UpdateOutcome] = []

    async def create() -> None:
        outcome.append(
            await service.create_payment(
                post.session, client, post.user, wf_id, channel.value, None, post.key
            )
        )

    refused = await post.act(_back(wf_id), "", create)
    return redirect(post.settings, outcome[0].pay_url) if outcome else refused


@router.get("/journeys/{wf_id}/contract.pdf")
async def contract_pdf(
    learner: LearnerPage,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
) -> Response:
    c = (await service.learner_journey(session, client, wf_id, learner)).state.contract
    name = f"{c.contract_no or 'contract'}.pdf"
    return docs.pdf_response(settings, "contract", c.signed_sha256 or c.preview_sha256, name)


@router.get("/journeys/{wf_id}/invoice.pdf")
async def invoice_pdf(
    learner: LearnerPage,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
) -> Response:
    s = (await service.learner_journey(session, client, wf_id, learner)).state
    return docs.pdf_response(settings, "invoice", s.invoice_sha256, f"{s.invoice_no}.pdf")


def _same_refund(post: Posted, view: JourneyView) -> None:
    """The learner confirms the refund the page showed them: it must still be the same."""
    if post.field("refund_fen") != str(service.withdrawal_refund_fen(view)):
        raise HTTPException(409, "退款金额已变化，请核对后重新确认")


@router.post("/journeys/{wf_id}/withdraw")
async def withdraw(post: LearnerPost, wf_id: str) -> Response:
    """退学, refunding what the page showed."""
    client = await post.temporal()

    async def withdraw() -> None:
        view = await service.learner_journey(post.session, client, wf_id, post.user)
        _same_refund(post, view)
        reason = post.text("reason", Reason, "原因过长") if post.field("reason") else "学员申请退学"
        await service.withdraw(post.session, client, post.user, wf_id, reason, post.key)

    return await post.act(_back(wf_id), "已申请退学，未拨付的培训费将原路退回", withdraw)


@router.post("/journeys/{wf_id}/transfer")
async def transfer(post: LearnerPost, wf_id: str) -> Response:
    """转校, refunding what the page showed; confirmed hours and passes go to the new school."""
    client, learner = await post.temporal(), post.user
    school_id, _, coach_id = post.field("to").partition("|")

    async def transfer() -> None:
        view = await service.learner_journey(post.session, client, wf_id, learner)
        _same_refund(post, view)
        if learner.real_name is None or learner.id_number is None:
            raise HTTPException(422, "转校前请先完成实名认证")
        school = post.session.get(School, school_id)
        if school is None:
            raise HTTPException(422, "请选择转入的驾校和教练")
        applicant = ApplicantData(
            name=learner.real_name,
            phone=learner.phone or post.field("phone"),
            id_number=learner.id_number,
            lat=school.lat,
            lon=school.lon,
        )
        reason = post.text("reason", Reason, "请填写转校原因")
        to = training.NewSchool(school_id, coach_id, applicant, reason)
        policies = post.request.app.state.policies
        await training.transfer(post.session, client, policies, learner, wf_id, to, post.key)

    return await post.act(_back(wf_id), "已申请转校，新驾校的报名将自动开始", transfer)


# ---- training: the booking calendar, records, the archive ----------------------------------


@router.post("/journeys/{wf_id}/bookings")
async def book_slot(post: LearnerPost, wf_id: str) -> Response:
    client, slot_id = await post.temporal(), post.field("slot_id")
    return await post.act(
        _back(wf_id),
        "已预约课时",
        lambda: training.book_slot(post.session, client, post.user, wf_id, slot_id, post.key),
    )


@router.post("/journeys/{wf_id}/bookings/{booking_id}/cancel")
async def cancel_booking(post: LearnerPost, wf_id: str, booking_id: str) -> Response:
    client = await post.temporal()
    return await post.act(
        _back(wf_id),
        "已取消预约",
        lambda: training.cancel_booking(
            post.session, client, post.user, wf_id, booking_id, "", post.key
        ),
    )


@router.post("/journeys/{wf_id}/records/{record_no}")
async def decide_record(post: LearnerPost, wf_id: str, record_no: str) -> Response:
    """Confirms a session's record, or disputes it (异议) with the reason given."""
    client = await post.temporal()
    disputing = post.field("decision") == "dispute"

    async def decide() -> None:
        reason = post.text("reason", Reason, "请填写异议原因") if disputing else ""
        await training.decide_record(
            post.session, client, post.user, wf_id, record_no, reason, post.key
        )

    return await post.act(_back(wf_id), "已提交异议" if disputing else "已确认学时", decide)


# ---- stages, exams, the follow-up review ---------------------------------------------------


def _stars(post: Posted, name: str) -> int:
    value = post.field(name)
    if value not in ("1", "2", "3", "4", "5"):
        raise HTTPException(422, "请选择 1 至 5 星")
    return int(value)


def _comment(post: Posted) -> str:
    return post.text("comment", Comment, "评价过长") if post.field("comment") else ""


def _rating(post: Posted, subject: str) -> RateStage:
    """The stars and comment of the rating form (learner/_stars.html)."""
    stars = (_stars(post, "school_stars"), _stars(post, "coach_stars"))
    return RateStage(subject, *stars, _comment(post))


@router.post("/journeys/{wf_id}/stages/{subject}/confirm")
async def confirm_stage(post: LearnerPost, wf_id: str, subject: str) -> Response:
    """Theory or safety: the learner confirms the stage's hours and rates school and coach."""
    client = await post.temporal()

    async def confirm() -> None:
        rating = _rating(post, subject)
        await training.confirm_stage(post.session, client, post.user, wf_id, rating, post.key)

    return await post.act(_back(wf_id), "已确认本阶段学时，感谢评价", confirm)


@router.post("/journeys/{wf_id}/coach-change")
async def request_coach_change(post: LearnerPost, wf_id: str) -> Response:
    """Asks the school for another of its coaches (the school approves or refuses)."""
    client = await post.temporal()

    async def ask() -> None:
        reason = post.text("reason", Reason, "请填写更换原因")
        body = coach_routes.CoachChangeCreate.model_validate(
            {"coach_id": post.field("coach_id"), "reason": reason}
        )
        await coach_routes.request_coach_change(
            wf_id, body, post.session, client, post.user, post.key
        )

    return await post.act(_back(wf_id), "已申请更换教练，等待驾校处理", ask)


@router.post("/journeys/{wf_id}/stages/{subject}/rating")
async def rate_practical_stage(post: LearnerPost, wf_id: str, subject: str) -> Response:
    """科目二/科目三: the learner rates school and coach before confirming the stage's report."""
    client = await post.temporal()

    async def rate() -> None:
        rating = _rating(post, subject)
        await training.rate_practical_stage(
            post.session, client, post.user, wf_id, rating, post.key
        )

    return await post.act(_back(wf_id), "感谢评价", rate)


@router.post("/journeys/{wf_id}/stages/{subject}/report/confirm")
async def confirm_report(post: LearnerPost, wf_id: str, subject: str) -> Response:
    client = await post.temporal()
    return await post.act(
        _back(wf_id),
        "已确认阶段报审，待监管部门审核",
        lambda: training.confirm_report(post.session, client, post.user, wf_id, subject, post.key),
    )


@router.post("/journeys/{wf_id}/exams")
async def book_exam(post: LearnerPost, wf_id: str) -> Response:
    client, policies = await post.temporal(), post.request.app.state.policies

    async def book() -> None:
        try:
            day = date.fromisoformat(post.field("exam_date")).isoformat()
        except ValueError as exc:
            raise HTTPException(422, "请选择考试日期") from exc
        subject = post.field("subject")
        await training.book_exam(
            post.session, client, policies, post.user, wf_id, subject, day, None, post.key
        )

    return await post.act(_back(wf_id), "考试已预约", book)


@router.post("/journeys/{wf_id}/followup")
async def followup_review(post: LearnerPost, wf_id: str) -> Response:
    """追评: a review after graduation, in the follow-up window."""
    client = await post.temporal()

    async def review() -> None:
        stars = (_stars(post, "school_stars"), _stars(post, "coach_stars"))
        review = FollowupReview(*stars, _comment(post))
        await training.add_followup_review(post.session, client, post.user, wf_id, review, post.key)

    return await post.act(_back(wf_id), "追评已提交，感谢您的评价", review)


@router.get("/journeys/{wf_id}/documents/{kind}.pdf")
async def archive_pdf(
    learner: LearnerPage,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
    kind: str,
) -> Response:
    return await training.archive_document(session, settings, client, learner, wf_id, kind)
