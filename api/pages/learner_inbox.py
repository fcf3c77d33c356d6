"""The learner's consultations (咨询) and complaints (投诉): asking a school, filing about a
journey, following each to its answer, then rating the handling or reopening it once. The same
functions as the learner port's JSON routes, so every rule (whose journey, the policy's
deadlines, the once-only reopening) is theirs."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import catalog
from api import learner_service as service
from api.complaints import ComplaintCategory
from api.deps import SessionDep
from api.inputs import LongText, Reason
from api.pages.web import LearnerPage, LearnerPost, Posted, VisitorDep, render
from api.routes import complaints, consultations

router = APIRouter(prefix="/learner", include_in_schema=False)
INBOX = "/learner/inbox"
CATEGORY_NAMES = {
    ComplaintCategory.fees: "收费",
    ComplaintCategory.teaching: "教学质量",
    ComplaintCategory.service: "服务态度",
    ComplaintCategory.contract: "合同履行",
    ComplaintCategory.training_hours: "学时",
    ComplaintCategory.safety: "安全",
    ComplaintCategory.other: "其他",
}
STATUS_NAMES = {
    "filed": "已受理",
    "delivered": "办理中",
    "answered": "驾校已答复",
    "closed": "已办结",
}


@router.get("/inbox")
def inbox(
    request: Request, who: VisitorDep, learner: LearnerPage, session: SessionDep
) -> HTMLResponse:
    journeys = service.learner_journeys(session, learner)
    schools = catalog.compliant_schools(session)
    asked = consultations.my_consultations(session, learner)
    filed = complaints.my_complaints(session, learner)
    session.commit()
    return render(
        request,
        who,
        "learner/inbox.html",
        tab="inbox",
        journeys=journeys,
        schools=schools,
        school_names={s.id: s.name for s in schools},
        consultations=asked,
        complaints=filed,
        categories=CATEGORY_NAMES,
        status_names=STATUS_NAMES,
    )


@router.post("/consultations")
async def ask(post: LearnerPost) -> Response:
    async def asked() -> None:
        question = post.text("question", LongText, "请填写咨询内容")
        body = consultations.ConsultationAsk(school_id=post.field("school_id"), question=question)
        consultations.ask(body, post.request, post.session, post.user, post.key)

    return await post.act(INBOX, "咨询已提交，驾校将在规定时间内答复", asked)


@router.post("/complaints")
async def file(post: LearnerPost) -> Response:
    client = await post.temporal()

    async def filed() -> None:
        content = post.text("content", LongText, "请填写投诉内容")
        body = complaints.ComplaintFile.model_validate(
            {
                "journey_id": post.field("journey_id"),
                "category": post.field("category"),
                "content": content,
            }
        )
        await complaints.file(
            body, post.request, post.session, post.settings, client, post.user, post.key
        )

    return await post.act(INBOX, "投诉已受理，已转交12328及相关单位", filed)


@router.post("/complaints/{complaint_id}/rating")
async def rate(post: LearnerPost, complaint_id: str) -> Response:
    client = await post.temporal()

    async def rated() -> None:
        body = complaints.RatingBody.model_validate({"stars": _stars(post)})
        await complaints.rate(complaint_id, body, post.session, client, post.user, post.key)

    return await post.act(INBOX, "已评价，投诉办结", rated)


@router.post("/complaints/{complaint_id}/reopen")
async def reopen(post: LearnerPost, complaint_id: str) -> Response:
    client = await post.temporal()

    async def reopened() -> None:
        reason = post.text("reason", Reason, "请填写重新打开的原因")
        body = complaints.ReopenBody(reason=reason)
        await complaints.reopen(complaint_id, body, post.session, client, post.user, post.key)

    return await post.act(INBOX, "投诉已重新打开，驾校须在新的期限内答复", reopened)


def _stars(post: Posted) -> int:
    value = post.field("stars")
    return int(value) if value in ("1", "2", "3", "4", "5") else 0  # 0: refused, named
