"""治理端 dashboard for regulators: journeys by stage and school in the region (SVG chart and
table), stuck journeys with a link to each in the Temporal UI, and the funds under
supervision per school. Calls api/gov_service.py and api/funds.py.

The service-quality index (一指数) of each city in the region: its latest ranking with levels,
the red and black lists and the level-2 figures, from the same publication the JSON port reads.
"""

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col

from api import gov_service as service
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.disputes import disputed_records
from api.funds import Funds, funds
from api.inputs import Answer, Reason
from api.pages.charts import bar_chart
from api.pages.web import (
    RegulatorPage,
    RegulatorPost,
    VisitorDep,
    render,
)
from api.routes.quality import ranking
from core.regions import region_prefix
from evaluation import reading
from models.journeys import JourneyRecord
from workflows.journey_state import STAGE_NAMES, Stage, WaitingOn

router = APIRouter(prefix="/gov", include_in_schema=False)
DEFAULT_STUCK_SECONDS = 3600
WAITING_NAMES = {
    WaitingOn.platform: "平台处理中",
    WaitingOn.learner: "学员",
    WaitingOn.school: "驾校",
    WaitingOn.health_centre: "体检机构",
    WaitingOn.bank: "银行",
    WaitingOn.regulator: "监管部门",
    WaitingOn.exam_centre: "考试（12123）",
    WaitingOn.nobody: "—",
}


@router.get("")
def dashboard(
    request: Request, who: VisitorDep, regulator: RegulatorPage, session: SessionDep
) -> HTMLResponse:
    schools = service.region_schools(session, regulator)
    counts = service.active_by_stage_and_school(session, regulator)
    money = funds(session, [s.id for s in schools], per="school")
    session.commit()
    stages = [s for s in Stage if s is not Stage.closed]
    per_stage = [
        (STAGE_NAMES[s], sum(n for (st, _), n in counts.items() if st == s)) for s in stages
    ]
    total = Funds(
        sum(f.deposited_fen for f in money.values()),
        sum(f.released_fen for f in money.values()),
        sum(f.refunded_fen for f in money.values()),
    )
    return render(
        request,
        who,
        "gov/dashboard.html",
        title=regulator.display_name,
        schools=schools,
        stages=stages,
        stage_names=STAGE_NAMES,
        counts=counts,
        chart=bar_chart(per_stage, "在训学员（按阶段）"),
        money=money,
        total=total,
    )


@router.get("/stuck")
async def stuck(
    request: Request,
    who: VisitorDep,
    regulator: RegulatorPage,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    minutes: int = Query(DEFAULT_STUCK_SECONDS // 60, ge=0, le=60 * 24 * 365),
) -> HTMLResponse:
    school_names = {s.id: s.name for s in service.region_schools(session, regulator)}
    found = await service.stuck_journeys(session, client, regulator, minutes * 60, limit=200)
    links = {
        j.workflow_id: service.temporal_ui_link(
            settings.temporal_ui_url, settings.temporal_namespace, j.workflow_id
        )
        for j in found
    }
    return render(
        request,
        who,
        "gov/stuck.html",
        title=regulator.display_name,
        journeys=found,
        links=links,
        minutes=minutes,
        school_names=school_names,
        waiting_names=WAITING_NAMES,
    )


# ---- the service-quality index (一指数) -----------------------------------------------------


@router.get("/index")
def quality_index(
    request: Request,
    who: VisitorDep,
    regulator: RegulatorPage,
    session: SessionDep,
    city: str | None = Query(None, pattern=r"^[0-9]{6}$"),
) -> HTMLResponse:
    cities = sorted({s.city_code for s in service.region_schools(session, regulator)})
    chosen = city if city in cities else (cities[0] if cities else None)
    publication = reading.latest_publication(session, chosen) if chosen else None
    entries = ranking(session, regulator, chosen).entries if publication else []
    session.commit()
    return render(
        request,
        who,
        "gov/index.html",
        title=regulator.display_name,
        cities=cities,
        city=chosen,
        publication=publication,
        entries=entries,
    )


# ---- stage reports to approve, disputes to rule on ------------------------------------------


@router.get("/reports")
def reports(
    request: Request, who: VisitorDep, regulator: RegulatorPage, session: SessionDep
) -> HTMLResponse:
    journeys = service.awaiting_regulator(session, regulator)
    session.commit()
    return render(request, who, "gov/reports.html", title=regulator.display_name, journeys=journeys)


@router.post("/journeys/{wf_id}/stages/{subject}/report")
async def decide_report(post: RegulatorPost, wf_id: str, subject: str) -> Response:
    client = await post.temporal()
    approve = post.field("decision") == "approve"

    async def decide() -> None:
        reason = "" if approve else post.text("reason", Reason, "退回须填写原因")
        await service.decide_stage_report(
            post.session, client, post.user, wf_id, subject, approve, reason, post.key
        )

    return await post.act("/gov/reports", "已审核通过" if approve else "已退回", decide)


@router.get("/disputes")
async def disputes(
    request: Request,
    who: VisitorDep,
    regulator: RegulatorPage,
    session: SessionDep,
    client: TemporalDep,
) -> HTMLResponse:
    scope = col(JourneyRecord.city_code).startswith(region_prefix(regulator.region_code or ""))
    found = await disputed_records(session, client, scope, limit=100)
    return render(request, who, "gov/disputes.html", title=regulator.display_name, disputes=found)


@router.post("/journeys/{wf_id}/records/{record_no}/ruling")
async def rule_dispute(post: RegulatorPost, wf_id: str, record_no: str) -> Response:
    client = await post.temporal()
    uphold = post.field("decision") == "uphold"

    async def rule() -> None:
        reason = post.text("reason", Answer, "请填写裁决理由")
        await service.rule_dispute(
            post.session, client, post.user, wf_id, record_no, uphold, reason, post.key
        )

    return await post.act("/gov/disputes", "已裁决", rule)
