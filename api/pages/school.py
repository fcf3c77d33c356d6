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

from api import school_service as service
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.funds import funds
from api.inputs import Reason
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
from models.registry import School
from workflows.journey_state import STAGE_NAMES, Stage, WaitingOn

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
