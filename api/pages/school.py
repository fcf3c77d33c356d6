"""企业端 console for a school's staff: pending 面签 signings to approve or reject, the
school's learners by stage, and the funds held and released for each. Calls
api/school_service.py and api/funds.py.

Consultations and complaints to answer before their deadlines (the same functions as the
school port's JSON routes).
"""

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col

from api import school_service as service
from api.deps import SessionDep, TemporalDep
from api.disputes import disputed_records
from api.funds import funds
from api.inputs import Answer, LongText, Reason
from api.pages.web import (
    StaffPage,
    StaffPost,
    VisitorDep,
    render,
)
from api.routes import complaints, consultations
from api.routes.consultations import ConsultationAnswer
from models.journeys import JourneyRecord
from models.registry import School
from models.users import User
from workflows.journey_state import STAGE_NAMES, TRAINING_STAGES, Stage, WaitingOn

router = APIRouter(prefix="/school", include_in_schema=False)
CONSOLE = "/school"


def school_name(session: SessionDep, staff: User) -> str:
    """The console is titled by the staff member's school."""
    school = session.get(School, staff.school_id or "")
    return school.name if school else "驾校管理"


@router.get("")
def console(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep
) -> HTMLResponse:
    journeys = service.school_journeys(session, staff)
    money = funds(session, [staff.school_id or ""], per="journey")
    session.commit()
    pending = [j for j in journeys if j.stage == Stage.signing and j.waiting_on == WaitingOn.school]
    by_stage = Counter(j.stage for j in journeys if j.status == "active")
    return render(
        request,
        who,
        "school/console.html",
        tab="console",
        title=school_name(session, staff),
        pending=pending,
        journeys=journeys,
        by_stage=[(STAGE_NAMES[s], by_stage[s.value]) for s in Stage if by_stage[s.value]],
        money=money,
    )


@router.post("/journeys/{wf_id}/signing/approve")
async def approve_signing(post: StaffPost, wf_id: str) -> Response:
    client = await post.temporal()
    return await post.act(
        CONSOLE,
        "面签已通过",
        lambda: service.approve_signing(post.session, client, post.user, wf_id, post.key),
    )


@router.post("/journeys/{wf_id}/signing/reject")
async def reject_signing(post: StaffPost, wf_id: str) -> Response:
    client = await post.temporal()

    async def reject() -> None:
        reason = post.text("reason", Reason, "请填写驳回原因")
        await service.reject_signing(post.session, client, post.user, wf_id, reason, post.key)

    return await post.act(CONSOLE, "已驳回面签", reject)


# ---- stage reports (阶段报审) and disputed records -------------------------------------------


@router.get("/reports")
def reports(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep
) -> HTMLResponse:
    """Learners in training: the stage each is in, to submit its report once its hours are met
    (the journey refuses one that is not)."""
    training = {s.value for s in TRAINING_STAGES}
    journeys = [
        j
        for j in service.school_journeys(session, staff)
        if j.stage in training and j.status == "active"
    ]
    session.commit()
    title = school_name(session, staff)
    return render(
        request, who, "school/reports.html", title=title, tab="reports", journeys=journeys
    )


@router.post("/journeys/{wf_id}/stages/{subject}/report")
async def submit_report(post: StaffPost, wf_id: str, subject: str) -> Response:
    client = await post.temporal()
    return await post.act(
        "/school/reports",
        "阶段报审已提交，待学员确认",
        lambda: service.submit_stage_report(
            post.session, client, post.user, wf_id, subject, post.key
        ),
    )


@router.get("/disputes")
async def disputes(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep, client: TemporalDep
) -> HTMLResponse:
    title = school_name(session, staff)
    scope = col(JourneyRecord.school_id) == staff.school_id
    found = await disputed_records(session, client, scope, limit=50)
    return render(request, who, "school/disputes.html", title=title, tab="disputes", disputes=found)


@router.post("/journeys/{wf_id}/records/{record_no}/answer")
async def answer_dispute(post: StaffPost, wf_id: str, record_no: str) -> Response:
    client = await post.temporal()
    concede = post.field("decision") == "concede"

    async def answer() -> None:
        text = post.text("answer", Answer, "请填写答复")
        await service.answer_dispute(
            post.session, client, post.user, wf_id, record_no, concede, text, post.key
        )

    done = "已认可异议，该学时作废" if concede else "已提出申辩，待监管部门裁决"
    return await post.act("/school/disputes", done, answer)


# ---- consultations and complaints to answer before their deadlines -------------------------

DEADLINE_NAMES = {"on_time": "未到期", "due_soon": "即将到期", "overdue": "已超期"}
COMPLAINT_STATUS = {
    "filed": "已受理",
    "delivered": "待答复",
    "answered": "已答复",
    "closed": "已办结",
}


@router.get("/inbox")
def inbox(request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep) -> HTMLResponse:
    asked = consultations.school_consultations(session, staff, unanswered=None)
    filed = complaints.school_complaints(session, staff, open_only=False)
    session.commit()
    return render(
        request,
        who,
        "school/inbox.html",
        tab="inbox",
        title=school_name(session, staff),
        consultations=sorted(asked, key=lambda c: (c.answered_at is not None, c.due_at)),
        complaints=sorted(filed, key=lambda c: c.status not in ("filed", "delivered")),
        deadline_names=DEADLINE_NAMES,
        status_names=COMPLAINT_STATUS,
    )


@router.post("/consultations/{consultation_id}/answer")
async def answer_consultation(post: StaffPost, consultation_id: str) -> Response:
    async def answer() -> None:
        text = post.text("answer", LongText, "请填写答复")
        consultations.answer(
            consultation_id, ConsultationAnswer(answer=text), post.session, post.user
        )

    return await post.act("/school/inbox", "咨询已答复", answer)


@router.post("/complaints/{complaint_id}/answer")
async def answer_complaint(post: StaffPost, complaint_id: str) -> Response:
    client = await post.temporal()

    async def answer() -> None:
        text = post.text("answer", LongText, "请填写处理答复")
        body = complaints.AnswerBody(answer=text)
        await complaints.answer(complaint_id, body, post.session, client, post.user, post.key)

    return await post.act("/school/inbox", "投诉已答复", answer)
