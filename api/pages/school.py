"""企业端 console for a school's staff: pending 面签 signings to approve or reject, the
school's learners by stage, and the funds held and released for each. Calls
api/school_service.py and api/funds.py.

Hooks for what lands with issue 10 and the training console: consultations and complaints to
answer, slot publishing on a week calendar, stage reports, disputed records.
"""

from collections import Counter

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import col

from api import school_service as service
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.disputes import disputed_records
from api.funds import funds
from api.inputs import Answer, Reason
from api.pages.web import (
    CheckedForm,
    StaffPage,
    VisitorDep,
    explain,
    field,
    form_idempotency,
    redirect,
    render,
)
from models.journeys import JourneyRecord
from models.registry import School
from workflows.journey_state import STAGE_NAMES, TRAINING_STAGES, Stage, WaitingOn

router = APIRouter(prefix="/school", include_in_schema=False)
CONSOLE = "/school"


@router.get("")
def console(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep
) -> HTMLResponse:
    journeys = service.school_journeys(session, staff)
    school = session.get(School, staff.school_id)
    money = funds(session, [staff.school_id or ""], per="journey")
    session.commit()
    pending = [j for j in journeys if j.stage == Stage.signing and j.waiting_on == WaitingOn.school]
    by_stage = Counter(j.stage for j in journeys if j.status == "active")
    return render(
        request,
        who,
        "school/console.html",
        tab="console",
        title=school.name if school else "驾校管理",
        pending=pending,
        journeys=journeys,
        by_stage=[(STAGE_NAMES[s], by_stage[s.value]) for s in Stage if by_stage[s.value]],
        money=money,
    )


@router.post("/journeys/{wf_id}/signing/approve")
async def approve_signing(
    staff: StaffPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
) -> Response:
    key = form_idempotency(session, staff, form)
    try:
        await service.approve_signing(session, client, staff, wf_id, key)
    except HTTPException as exc:
        return redirect(settings, CONSOLE, explain(exc), ok=False)
    return redirect(settings, CONSOLE, "面签已通过")


class Rejection(BaseModel):
    reason: Reason


@router.post("/journeys/{wf_id}/signing/reject")
async def reject_signing(
    staff: StaffPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
) -> Response:
    key = form_idempotency(session, staff, form)
    try:
        reason = Rejection(reason=field(form, "reason")).reason
        await service.reject_signing(session, client, staff, wf_id, reason, key)
    except ValidationError:
        return redirect(settings, CONSOLE, "请填写驳回原因", ok=False)
    except HTTPException as exc:
        return redirect(settings, CONSOLE, explain(exc), ok=False)
    return redirect(settings, CONSOLE, "已驳回面签")


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
    return render(request, who, "school/reports.html", tab="reports", journeys=journeys)


@router.post("/journeys/{wf_id}/stages/{subject}/report")
async def submit_report(
    staff: StaffPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
    subject: str,
) -> Response:
    key = form_idempotency(session, staff, form)
    try:
        await service.submit_stage_report(session, client, staff, wf_id, subject, key)
    except HTTPException as exc:
        return redirect(settings, "/school/reports", explain(exc), ok=False)
    return redirect(settings, "/school/reports", "阶段报审已提交，待学员确认")


@router.get("/disputes")
async def disputes(
    request: Request, who: VisitorDep, staff: StaffPage, session: SessionDep, client: TemporalDep
) -> HTMLResponse:
    scope = col(JourneyRecord.school_id) == staff.school_id
    found = await disputed_records(session, client, scope, limit=50)
    return render(request, who, "school/disputes.html", tab="disputes", disputes=found)


class DisputeReply(BaseModel):
    answer: Answer


@router.post("/journeys/{wf_id}/records/{record_no}/answer")
async def answer_dispute(
    staff: StaffPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    wf_id: str,
    record_no: str,
) -> Response:
    key = form_idempotency(session, staff, form)
    concede = field(form, "decision") == "concede"
    try:
        answer = DisputeReply(answer=field(form, "answer")).answer
        await service.answer_dispute(session, client, staff, wf_id, record_no, concede, answer, key)
    except ValidationError:
        return redirect(settings, "/school/disputes", "请填写答复", ok=False)
    except HTTPException as exc:
        return redirect(settings, "/school/disputes", explain(exc), ok=False)
    done = "已认可异议，该学时作废" if concede else "已提出申辩，待监管部门裁决"
    return redirect(settings, "/school/disputes", done)
