"""服务端 一键式择校: choosing a school by credit (version 2 of the school list).

Every filed, compliant school with its ground, classes, fees, contacts and its figures from the
latest index publication of its city (pass rates, penalties, complaints, satisfaction, score,
level, red or black list): filtered by class, distance, price and level, sorted by distance,
price or index, paged. Served from the stored publication, never recomputed per request.
`GET /api/learner/schools` (filing data only) stays as it was.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from api.bodies import StrictRoute
from api.deps import LearnerUser, SessionDep
from api.errors import field_error, not_found
from api.inputs import CityCode, Id, Latitude, Longitude, VehicleClass
from api.journeys import distance_km
from api.quality import Figures, IndexMark, figures, index_mark
from evaluation import reading
from evaluation.reviews import PublicReview, public_reviews
from models.quality import IndexCoachStats, IndexSchoolScore
from models.registry import Coach, FeeSchedule, School, TrainingGround
from models.training import CHINA
from policy.model import Policy
from workflows.steps import tuition_of

router = APIRouter(prefix="/api/learner/v2", tags=["learner"], route_class=StrictRoute)
DETAIL_REVIEWS = 5
LEVEL_ORDER = {"AAA": 4, "AA": 3, "A": 2, "B": 1}
Level = Literal["AAA", "AA", "A", "B"]


class Ground(BaseModel):
    name: str
    address: str
    lat: float
    lon: float
    area_m2: int


class ClassFees(BaseModel):
    vehicle_class: str
    services_fen: int
    theory_fen: int
    simulator_rates_fen: list[int] = Field(description="模拟器每学时：平时、高峰、节假日")
    field_rates_fen: list[int]
    road_rates_fen: list[int]
    tuition_fen: int | None = Field(description="培训费：固定费用加大纲学时按平时单价")


class Contacts(BaseModel):
    consultation_phone: str = Field(description="咨询：驾校电话")
    complaint_hotline: str = Field(description="投诉：交通运输服务监督电话")


class SchoolCard(BaseModel):
    id: str
    name: str
    city_code: str
    district_code: str
    address: str
    lat: float
    lon: float
    distance_km: float | None = Field(description="距学员位置（给出 lat、lon 时）")
    filing_no: str
    ground_area_m2: int = Field(description="训练场地总面积")
    grounds: list[Ground]
    vehicle_classes: list[str]
    fees: list[ClassFees]
    price_fen: int | None = Field(description="所选车型（未选时最低车型）的培训费")
    contacts: Contacts
    figures: Figures | None = Field(description="最近一期指数的统计；尚未发布时为空")
    index: IndexMark | None
    published_at: datetime | None = Field(description="该期指数的统计截止时间")


class SchoolPage(BaseModel):
    items: list[SchoolCard]
    total: int = Field(description="符合条件的驾校总数")
    page: int
    page_size: int


class ListQuery(BaseModel):
    """The list's filters, sort and page, checked together (distance needs a position)."""

    city_code: CityCode | None = None
    vehicle_class: VehicleClass | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    max_distance_km: float | None = None
    max_price_fen: int | None = None
    min_level: Level | None = None
    sort: Literal["index", "distance", "price"] = "index"
    page: int = 1
    page_size: int = 20


def list_query(
    city_code: CityCode | None = None,
    vehicle_class: VehicleClass | None = None,
    lat: Latitude | None = None,
    lon: Longitude | None = None,
    max_distance_km: Annotated[
        float | None, Query(gt=0, le=1000, allow_inf_nan=False, description="距离上限（公里）")
    ] = None,
    max_price_fen: Annotated[
        int | None, Query(ge=0, le=100_000_000, description="培训费上限（分）")
    ] = None,
    min_level: Annotated[Level | None, Query(description="信用等级不低于")] = None,
    sort: Annotated[
        Literal["index", "distance", "price"],
        Query(description="index：指数评分从高到低；distance：由近及远；price：从低到高"),
    ] = "index",
    page: Annotated[int, Query(ge=1, le=10_000, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="每页条数")] = 20,
) -> ListQuery:
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise field_error(
            missing, "lat 与 lon 须同时提供", kind="position_incomplete", where="query"
        )
    if lat is None and (sort == "distance" or max_distance_km is not None):
        raise field_error(
            "lat",
            "按距离排序或筛选须提供学员位置 lat、lon",
            kind="position_required",
            where="query",
        )
    return ListQuery(**locals())


@router.get("/schools")
def list_schools(
    request: Request,
    session: SessionDep,
    _: LearnerUser,
    q: Annotated[ListQuery, Depends(list_query)],
) -> SchoolPage:
    query = select(School).where(School.compliant)
    if q.city_code:
        query = query.where(School.city_code == q.city_code)
    schools = [
        s
        for s in session.exec(query.order_by(School.id)).all()
        if not q.vehicle_class or q.vehicle_class in s.vehicle_classes
    ]
    cards = _cards(session, request.app.state.policies, schools, q)
    cards = [c for c in cards if _wanted(c, q)]
    cards.sort(key=_sort_key(q.sort))
    start = (q.page - 1) * q.page_size
    return SchoolPage(
        items=cards[start : start + q.page_size],
        total=len(cards),
        page=q.page,
        page_size=q.page_size,
    )


class CoachCard(BaseModel):
    id: str
    name: str
    gender: str
    age: int
    photo_url: str
    permitted_classes: list[str]
    years_teaching: int
    learners_taught: int | None = Field(description="带教人数；尚未发布指数时为空")
    penalties: int | None
    complaints: int | None
    satisfaction: float | None = Field(description="平均星级（1–5）")
    reviews: int | None


class SchoolDetail(BaseModel):
    school: SchoolCard
    coaches: list[CoachCard]
    reviews: list[PublicReview] = Field(
        description=f"最新的 {DETAIL_REVIEWS} 条评价（被隐藏的评价不显示文字）；"
        "全部评价见 /api/learner/schools/{school_id}/reviews"
    )
    reviews_total: int


def _compliant_school(session: Session, school_id: str) -> School:
    school = session.get(School, school_id)
    if school is None or not school.compliant:
        raise not_found("school")
    return school


@router.get("/schools/{school_id}")
def school_detail(
    school_id: Id,
    request: Request,
    session: SessionDep,
    _: LearnerUser,
    lat: Latitude | None = None,
    lon: Longitude | None = None,
) -> SchoolDetail:
    school = _compliant_school(session, school_id)
    q = ListQuery(lat=lat, lon=lon) if lat is not None and lon is not None else ListQuery()
    card = _cards(session, request.app.state.policies, [school], q)[0]
    total, reviews = public_reviews(session, school.id, limit=DETAIL_REVIEWS)
    return SchoolDetail(
        school=card,
        coaches=_coach_cards(session, school, card),
        reviews=reviews,
        reviews_total=total,
    )


@router.get("/schools/{school_id}/coaches")
def school_coaches(school_id: Id, session: SessionDep, _: LearnerUser) -> list[CoachCard]:
    school = _compliant_school(session, school_id)
    publication = reading.latest_publication(session, school.city_code)
    stats = reading.coach_stats(session, publication.id, school.id) if publication else {}
    return _coaches(session, school, stats)


def _coach_cards(session: Session, school: School, card: SchoolCard) -> list[CoachCard]:
    stats = reading.coach_stats(session, card.index.publication_id, school.id) if card.index else {}
    return _coaches(session, school, stats)


def _coaches(
    session: Session, school: School, stats: dict[str, IndexCoachStats]
) -> list[CoachCard]:
    year = datetime.now(CHINA).year
    coaches = session.exec(
        select(Coach).where(Coach.school_id == school.id, Coach.active).order_by(Coach.id)
    ).all()
    cards = []
    for c in coaches:
        s = stats.get(c.id)
        cards.append(
            CoachCard(
                id=c.id,
                name=c.name,
                gender=c.gender,
                age=year - c.birth_year,
                photo_url=c.photo_url,
                permitted_classes=c.permitted_classes,
                years_teaching=c.years_teaching,
                learners_taught=s.learners_taught if s else None,
                penalties=s.penalties if s else None,
                complaints=s.complaints if s else None,
                satisfaction=round(s.stars / s.reviews, 2) if s and s.reviews else None,
                reviews=s.reviews if s else None,
            )
        )
    return cards


def _cards(
    session: Session, policies: dict[str, Policy], schools: list[School], q: ListQuery
) -> list[SchoolCard]:
    """The schools' cards: four queries whatever the number of schools."""
    city_of = {s.id: s.city_code for s in schools}
    ids = list(city_of)
    latest = reading.latest_by_city(session, city_of.values())
    scores: dict[str, IndexSchoolScore] = {
        r.school_id: r
        for r in reading.scores(session, [p.id for p in latest.values()], ids)
        if r.publication_id == latest[city_of[r.school_id]].id
    }
    fees: dict[str, list[FeeSchedule]] = {}
    for f in session.exec(
        select(FeeSchedule)
        .where(col(FeeSchedule.school_id).in_(ids))
        .order_by(FeeSchedule.vehicle_class)
    ):
        fees.setdefault(f.school_id, []).append(f)
    grounds: dict[str, list[TrainingGround]] = {}
    for g in session.exec(select(TrainingGround).where(col(TrainingGround.school_id).in_(ids))):
        grounds.setdefault(g.school_id, []).append(g)
    cards = []
    for s in schools:
        policy = policies.get(s.city_code)
        rules = latest.get(s.city_code)
        hotline = (rules.rules if rules else {}).get("complaint_hotline", "12328")
        class_fees = [_class_fees(f, policy) for f in fees.get(s.id, [])]
        score = scores.get(s.id)
        cards.append(
            SchoolCard(
                id=s.id,
                name=s.name,
                city_code=s.city_code,
                district_code=s.district_code,
                address=s.address,
                lat=s.lat,
                lon=s.lon,
                distance_km=None
                if q.lat is None or q.lon is None
                else round(distance_km(q.lat, q.lon, s.lat, s.lon), 2),
                filing_no=s.filing_no,
                ground_area_m2=sum(g.area_m2 for g in grounds.get(s.id, [])),
                grounds=[
                    Ground.model_validate(g, from_attributes=True) for g in grounds.get(s.id, [])
                ],
                vehicle_classes=s.vehicle_classes,
                fees=class_fees,
                price_fen=_price(class_fees, q.vehicle_class),
                contacts=Contacts(consultation_phone=s.phone, complaint_hotline=hotline),
                figures=figures(score) if score else None,
                index=index_mark(score) if score else None,
                published_at=rules.as_of if rules and score else None,
            )
        )
    return cards


def _class_fees(f: FeeSchedule, policy: Policy | None) -> ClassFees:
    hours = policy.hours.get(f.vehicle_class) if policy else None
    return ClassFees(
        vehicle_class=f.vehicle_class,
        services_fen=f.services_fen,
        theory_fen=f.theory_fen,
        simulator_rates_fen=f.simulator_rates_fen,
        field_rates_fen=f.field_rates_fen,
        road_rates_fen=f.road_rates_fen,
        tuition_fen=tuition_of(f, hours) if hours else None,
    )


def _price(fees: list[ClassFees], vehicle_class: str | None) -> int | None:
    prices = [
        f.tuition_fen
        for f in fees
        if f.tuition_fen is not None and (vehicle_class is None or f.vehicle_class == vehicle_class)
    ]
    return min(prices) if prices else None


def _wanted(card: SchoolCard, q: ListQuery) -> bool:
    if q.max_distance_km is not None and (card.distance_km or 0) > q.max_distance_km:
        return False
    if q.max_price_fen is not None and (card.price_fen is None or card.price_fen > q.max_price_fen):
        return False
    if q.min_level is not None:
        level = card.index.level if card.index else None
        return level is not None and LEVEL_ORDER[level] >= LEVEL_ORDER[q.min_level]
    return True


def _sort_key(sort: str) -> Callable[[SchoolCard], tuple[object, ...]]:
    if sort == "distance":
        return lambda c: (c.distance_km or 0.0, c.id)
    if sort == "price":
        return lambda c: (c.price_fen is None, c.price_fen or 0, c.id)
    return lambda c: (
        c.index is None or c.index.score is None,
        -(c.index.score or 0) if c.index else 0,
        c.id,
    )
