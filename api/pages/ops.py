"""The ops console (平台运维): stuck journeys with their reasons and Temporal UI links, the three
ops actions as forms (each through the same functions as /api/ops, so each is in the audit
log), and the latest audit entries."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import ops_actions as actions
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.inputs import PathId
from api.ops_stuck import stuck_journeys
from api.pages.web import OpsPage, OpsPost, VisitorDep, render

router = APIRouter(prefix="/ops", include_in_schema=False)
ACTION_NAMES = {
    "retry_activity": "立即重试活动",
    "resend_callback": "请子系统重发回调",
    "cancel_with_refund": "取消并退款",
}
OUTCOME_NAMES = {"done": "已执行", "refused": "被拒绝"}
SUBSYSTEMS = {"bank": "监管银行", "health": "体检机构", "timing": "计时平台", "exam": "12123"}


@router.get("")
async def console(
    request: Request,
    who: VisitorDep,
    _: OpsPage,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
) -> HTMLResponse:
    stuck = await stuck_journeys(session, client, settings, request.app.state.policies)
    return render(
        request,
        who,
        "ops/console.html",
        title="平台运维",
        stuck=stuck,
        audit=actions.audit_log(session, None, 50),
        action_names=ACTION_NAMES,
        outcome_names=OUTCOME_NAMES,
        subsystems=SUBSYSTEMS,
    )


def _done(wf_id: str) -> str:
    return f"已执行，见下方运维记录：{wf_id}"


@router.post("/journeys/{wf_id}/retry-activity")
async def retry_activity(wf_id: PathId, post: OpsPost, client: TemporalDep) -> Response:
    async def run() -> object:
        body = actions.RetryActivity(
            reason=post.field("reason"), activity_id=post.field("activity_id") or None
        )
        return await actions.retry_activity(post.session, client, post.user, wf_id, body)

    return await post.act("/ops", _done(wf_id), run)


@router.post("/journeys/{wf_id}/resend-callback")
async def resend_callback(wf_id: PathId, post: OpsPost) -> Response:
    async def run() -> object:
        body = actions.ResendCallback.model_validate(
            {k: post.field(k) for k in ("reason", "subsystem", "ref")}
        )
        return await actions.resend_callback(post.session, post.settings, post.user, wf_id, body)

    return await post.act("/ops", _done(wf_id), run)


@router.post("/journeys/{wf_id}/cancel")
async def cancel(wf_id: PathId, post: OpsPost, client: TemporalDep) -> Response:
    async def run() -> object:
        body = actions.CancelWithRefund(reason=post.field("reason"))
        return await actions.cancel_with_refund(post.session, client, post.user, wf_id, body)

    return await post.act("/ops", _done(wf_id), run)
