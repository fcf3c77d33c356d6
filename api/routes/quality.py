"""治理端: the service-quality index (一指数) of the regulator's cities: the latest ranking, its
history with rank changes, a school's breakdown down to its inputs, and a recompute on demand.

A regulator sees the cities of their region only; another region's city or school is a 404.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.bodies import StrictRoute
from api.deps import IdempotencyKey, RegulatorUser, SessionDep, SettingsDep, TemporalDep
from api.errors import api_error, field_error
from api.inputs import CityCode, Id
from api.quality import (
    Figures,
    IndexMark,
    PublicationInfo,
    figures,
    index_mark,
    publication_info,
)
from core.regions import region_covers
from evaluation import reading
from evaluation.measures import MEASURES
from models.quality import IndexItemValue, IndexPublication
from models.registry import School
from models.users import User
from policy.loader import load_quality_indexes
from workflows.quality_index import IndexOutcome, IndexRecompute, IndexRecomputeWorkflow

router = APIRouter(prefix="/api/gov/index", tags=["gov"], route_class=StrictRoute)
# How long a recompute on demand is waited for before the caller is told to look later.
RECOMPUTE_WAIT_SECONDS = 30.0


def index_city(regulator: User, city_code: str | None, where: str = "query") -> str:
    """The city asked for, inside the regulator's region; a city regulator's own by default."""
    region = regulator.region_code or ""
    if city_code is None:
        if region.endswith("00") and not region.endswith("0000"):
            return region
        raise field_error("city_code", "请指定辖区内的城市代码", kind="city_required", where=where)
    if not region_covers(region, city_code):
        raise api_error(404, "辖区内没有此城市", "not_found")
    return city_code


def _latest(session: Session, city_code: str) -> IndexPublication:
    publication = reading.latest_publication(session, city_code)
    if publication is None:
        raise api_error(404, "该城市尚未发布服务质量指数", "not_found")
    return publication


class RankingEntry(BaseModel):
    school_id: str
    name: str
    index: IndexMark
    figures: Figures


class Ranking(BaseModel):
    publication: PublicationInfo
    entries: list[RankingEntry]


def _names(session: Session, school_ids: list[str]) -> dict[str, str]:
    rows = session.exec(select(School.id, School.name).where(col(School.id).in_(school_ids)))
    return {school_id: name for school_id, name in rows}


@router.get("/ranking")
def ranking(
    session: SessionDep, regulator: RegulatorUser, city_code: CityCode | None = None
) -> Ranking:
    """The latest publication's ranking, best first (schools without a score last)."""
    publication = _latest(session, index_city(regulator, city_code))
    rows = reading.scores(session, [publication.id])
    names = _names(session, [r.school_id for r in rows])
    return Ranking(
        publication=publication_info(publication),
        entries=[
            RankingEntry(
                school_id=r.school_id,
                name=names.get(r.school_id, ""),
                index=index_mark(r),
                figures=figures(r),
            )
            for r in rows
        ],
    )


class HistoryEntry(BaseModel):
    school_id: str
    name: str
    score: float | None
    level: str | None
    rank: int | None
    previous_rank: int | None = Field(description="上一期名次；上一期无名次时为空")
    rank_change: int | None = Field(description="名次变化：正数为上升，负数为下降")


class HistoryPublication(BaseModel):
    publication: PublicationInfo
    entries: list[HistoryEntry]


@router.get("/history")
def history(
    session: SessionDep,
    regulator: RegulatorUser,
    city_code: CityCode | None = None,
    limit: int = Query(10, ge=1, le=100, description="最近几期"),
) -> list[HistoryPublication]:
    """The city's latest publications, newest first, each school's rank against the one before."""
    city = index_city(regulator, city_code)
    found = reading.publications(session, city, limit + 1)  # one more: the oldest's previous
    rows = reading.scores(session, [p.id for p in found])
    by_publication: dict[str, dict[str, tuple[float | None, str | None, int | None]]] = {}
    for r in rows:
        by_publication.setdefault(r.publication_id, {})[r.school_id] = (r.score, r.level, r.rank)
    names = _names(session, sorted({r.school_id for r in rows}))
    answer = []
    for newer, older in zip(found[:limit], [*found[1:], None], strict=False):
        before = by_publication.get(older.id, {}) if older is not None else {}
        entries = []
        for school_id, (score, level, rank) in by_publication.get(newer.id, {}).items():
            previous = before.get(school_id, (None, None, None))[2]
            change = previous - rank if previous is not None and rank is not None else None
            entries.append(
                HistoryEntry(
                    school_id=school_id,
                    name=names.get(school_id, ""),
                    score=score,
                    level=level,
                    rank=rank,
                    previous_rank=previous,
                    rank_change=change,
                )
            )
        entries.sort(key=lambda e: (e.rank is None, e.rank or 0, e.school_id))
        answer.append(HistoryPublication(publication=publication_info(newer), entries=entries))
    return answer


class ItemEntry(BaseModel):
    school_id: str
    name: str
    value: float | None = Field(description="无数据时为空（排在最后）")
    numerator: float
    denominator: float | None


class ItemRanking(BaseModel):
    publication: PublicationInfo
    measure: str
    label: str
    unit: str
    higher_is_better: bool
    entries: list[ItemEntry]


@router.get("/items/{measure}")
def item_ranking(
    measure: Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9_]+$")],
    session: SessionDep,
    regulator: RegulatorUser,
    city_code: CityCode | None = None,
) -> ItemRanking:
    """One level-2 item published on its own: every school's value in the latest publication,
    best first (any known measure, weighted in the index or not)."""
    m = MEASURES.get(measure)
    if m is None:
        raise field_error("measure", "没有这一指标", kind="unknown_measure", where="path")
    publication = _latest(session, index_city(regulator, city_code))
    rows = reading.scores(session, [publication.id])
    names = _names(session, [r.school_id for r in rows])
    sign = -1 if m.higher_is_better else 1
    entries = [
        ItemEntry(
            school_id=r.school_id,
            name=names.get(r.school_id, ""),
            value=r.measures.get(measure),
            numerator=r.counters.get(m.numerator, 0),
            denominator=None if m.denominator is None else r.counters.get(m.denominator, 0),
        )
        for r in rows
    ]
    entries.sort(key=lambda e: (e.value is None, sign * (e.value or 0), e.school_id))
    return ItemRanking(
        publication=publication_info(publication),
        measure=measure,
        label=m.label,
        unit=m.unit,
        higher_is_better=m.higher_is_better,
        entries=entries,
    )


class ItemBreakdown(BaseModel):
    measure: str
    label: str
    unit: str
    higher_is_better: bool
    value: float | None = Field(description="指标值 = 分子 / 分母 × 比例；分母为零时为空（不计入）")
    numerator: float = Field(description="分子（计数）")
    numerator_counts: str
    denominator: float | None
    denominator_counts: str | None
    scale: float
    method: str = Field(description="标准化方法：min_max（全市最差至最好）| target（政策目标值）")
    low: float | None = Field(description="得 0 分的值")
    high: float | None = Field(description="得满分的值")
    normalised: float | None = Field(description="标准化得分 0–1 = (值 − low) / (high − low)")
    weight: float
    points: float | None = Field(
        description="计入综合评分的分数 = 100 × 权重 × 标准化得分 / 有数据的权重之和"
    )


class Breakdown(BaseModel):
    publication: PublicationInfo
    school_id: str
    name: str
    index: IndexMark
    weights_applied: float = Field(description="有数据的指标权重之和")
    items: list[ItemBreakdown]
    counters: dict[str, float] = Field(description="统计区间内的全部计数")
    rules: dict = Field(description="本期所用的城市指数规则（政策文件 quality_index）")


@router.get("/schools/{school_id}/breakdown")
def breakdown(
    school_id: Id,
    session: SessionDep,
    regulator: RegulatorUser,
    publication_id: str | None = Query(None, max_length=160, pattern=r"^[\x21-\x7e]+$"),
) -> Breakdown:
    """Every number of the school's published index, traced to its counts, denominators,
    weights and normalisation (the latest publication unless one is named)."""
    school = session.get(School, school_id)
    if school is None or not region_covers(regulator.region_code or "", school.city_code):
        raise api_error(404, "辖区内没有此驾校", "not_found")
    if publication_id is None:
        publication = _latest(session, school.city_code)
    else:
        publication = session.get(IndexPublication, publication_id)
        if publication is None or publication.city_code != school.city_code:
            raise api_error(404, "该驾校所在城市没有这一期指数", "not_found")
    score = reading.scores(session, [publication.id], [school.id])
    if not score:
        raise api_error(404, "该驾校不在这一期指数中", "not_found")
    order = [i["measure"] for i in publication.rules.get("items", [])]
    items = sorted(
        reading.items(session, publication.id, school.id),
        key=lambda i: order.index(i.measure) if i.measure in order else len(order),
    )
    return Breakdown(
        publication=publication_info(publication),
        school_id=school.id,
        name=school.name,
        index=index_mark(score[0]),
        weights_applied=sum(i.weight for i in items if i.normalised is not None),
        items=[_item(i) for i in items],
        counters=score[0].counters,
        rules=publication.rules,
    )


def _item(i: IndexItemValue) -> ItemBreakdown:
    m = MEASURES[i.measure]
    return ItemBreakdown(
        **i.model_dump(exclude={"publication_id", "school_id"}),
        label=m.label,
        unit=m.unit,
        higher_is_better=m.higher_is_better,
        numerator_counts=m.numerator,
        denominator_counts=m.denominator,
        scale=m.scale,
    )


class RecomputeRequest(BaseModel):
    city_code: CityCode | None = Field(None, description="辖区内的城市；市级监管部门可省略")


@router.post("/publications", status_code=status.HTTP_201_CREATED)
async def recompute(
    body: RecomputeRequest,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    regulator: RegulatorUser,
    key: IdempotencyKey,
) -> PublicationInfo:
    """Recomputes and publishes the city's index now (as the Schedule does). With an
    Idempotency-Key, a retry answers with the same publication."""
    city = index_city(regulator, body.city_code, where="body")
    if city not in load_quality_indexes(settings.policy_paths):
        raise field_error(
            "city_code", "该城市的政策文件未设置服务质量指数规则", kind="no_index_rules"
        )
    req = IndexRecompute(city, trigger="regulator", requested_by=regulator.id)
    # Also ends the request's transaction: no connection is held while the recompute runs.
    run_id = key.update_id(f"index-{city}", "index.recompute", req)
    outcome = await _run_recompute(client, settings.task_queue, f"index-{city}-{run_id}", req)
    if outcome.refused:
        raise api_error(409, outcome.refused, "index_refused")
    publication = session.get(IndexPublication, outcome.publication_id)
    if publication is None:
        raise api_error(503, "指数已计算，请稍后查看", "unavailable")
    return publication_info(publication)


async def _run_recompute(
    client: Client, task_queue: str, workflow_id: str, req: IndexRecompute
) -> IndexOutcome:
    try:
        handle = await client.start_workflow(
            IndexRecomputeWorkflow.run,
            req,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle_for(IndexRecomputeWorkflow.run, workflow_id)
    try:
        return await asyncio.wait_for(handle.result(), RECOMPUTE_WAIT_SECONDS)
    except (TimeoutError, WorkflowFailureError) as exc:
        raise api_error(503, "指数计算暂未完成，请稍后在历史中查看", "unavailable") from exc
