"""Reviews on every port: the learner edits and lists their own, anyone on the learner port
reads a school's or a coach's (hidden text withheld), the school answers its own, and the
regulator of the region reads them all and hides abusive text with a logged reason."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.bodies import StrictRoute
from api.deps import LearnerUser, RegulatorUser, SessionDep, StaffUser
from api.errors import api_error, field_error, not_found
from api.inputs import Answer, Id, PathId, Reason, ReviewText, Stars
from core.regions import region_covers, region_prefix
from evaluation import reviews as rv
from evaluation.paging import page
from models.evaluation import Review
from models.registry import Coach, School
from models.users import User
from policy.model import ReviewRules

router = APIRouter(route_class=StrictRoute)
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


class PublicPage(BaseModel):
    total: int
    items: list[rv.PublicReview]


class RegulatorPage(BaseModel):
    total: int
    items: list[rv.ReviewRecord]


class ReviewEditBody(BaseModel):
    school_stars: Stars
    coach_stars: Stars | None = None
    text: ReviewText = ""


class ReplyBody(BaseModel):
    text: Answer


class ModerationBody(BaseModel):
    reason: Reason


def _now() -> datetime:
    return datetime.now(UTC)


def _edit_window(request: Request, session: Session, review: Review) -> timedelta:
    school = session.get(School, review.school_id)
    policy = request.app.state.policies.get(school.city_code if school else "")
    rules = policy.reviews if policy is not None else ReviewRules()
    return timedelta(seconds=rules.edit_window)


def _refused(err: rv.ReviewRefused) -> Exception:
    return api_error(status.HTTP_409_CONFLICT, str(err), "review_refused")


# ---- learner port --------------------------------------------------------------------------


def _own(session: Session, review_id: str, learner: User) -> Review:
    review = session.get(Review, review_id)
    if review is None or review.learner_id != learner.id:
        raise not_found("review")  # never confirm that someone else's review exists
    return review


@router.get("/api/learner/reviews", tags=["learner"])
def my_reviews(request: Request, session: SessionDep, learner: LearnerUser) -> list[rv.OwnReview]:
    rows = session.exec(
        select(Review)
        .where(Review.learner_id == learner.id)
        .order_by(col(Review.created_at), col(Review.id))
    ).all()
    return [rv.own_view(r, _edit_window(request, session, r)) for r in rows]


@router.put("/api/learner/reviews/{review_id}", tags=["learner"])
def edit_my_review(
    review_id: PathId,
    body: ReviewEditBody,
    request: Request,
    session: SessionDep,
    learner: LearnerUser,
) -> rv.OwnReview:
    """A new version of one's own review, within the city's edit window."""
    review = _own(session, review_id, learner)
    if (review.coach_id is None) != (body.coach_stars is None):
        message = "请为教练评分" if review.coach_id else "该评价没有教练，不能给教练评分"
        raise field_error("coach_stars", message)
    window = _edit_window(request, session, review)
    try:
        edited = rv.edit_review(
            session, review, body.school_stars, body.coach_stars, body.text, _now(), window
        )
    except rv.ReviewRefused as err:
        raise _refused(err) from err
    return rv.own_view(edited, window)


@router.get("/api/learner/schools/{school_id}/reviews", tags=["learner"])
def school_reviews(
    school_id: PathId,
    session: SessionDep,
    _: LearnerUser,
    coach_id: Id | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> PublicPage:
    """A school's reviews, or one of its coaches', newest first (for the school's detail)."""
    school = session.get(School, school_id)
    if school is None or not school.compliant:
        raise not_found("school")
    if coach_id is not None:
        coach = session.get(Coach, coach_id)
        if coach is None or coach.school_id != school_id:
            raise not_found("coach")
    total, items = rv.public_reviews(session, school_id, coach_id, limit=limit, offset=offset)
    return PublicPage(total=total, items=items)


# ---- school port ---------------------------------------------------------------------------


def _school_review(session: Session, review_id: str, staff: User) -> Review:
    review = session.get(Review, review_id)
    if review is None or review.school_id != staff.school_id:
        raise not_found("review")
    return review


@router.get("/api/school/reviews", tags=["school"])
def my_school_reviews(
    session: SessionDep,
    staff: StaffUser,
    coach_id: Id | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> PublicPage:
    total, items = rv.public_reviews(
        session, staff.school_id or "", coach_id, limit=limit, offset=offset
    )
    return PublicPage(total=total, items=items)


def _answer(
    session: Session, review_id: str, body: ReplyBody, staff: User, edit: bool
) -> rv.PublicReview:
    review = _school_review(session, review_id, staff)
    try:
        return rv.public_view(rv.reply(session, review, body.text, staff.id, _now(), edit=edit))
    except rv.ReviewRefused as err:
        raise _refused(err) from err


@router.post("/api/school/reviews/{review_id}/reply", tags=["school"])
def reply_to_review(
    review_id: PathId, body: ReplyBody, session: SessionDep, staff: StaffUser
) -> rv.PublicReview:
    """The school's answer, once (the same answer again is no second one)."""
    return _answer(session, review_id, body, staff, edit=False)


@router.put("/api/school/reviews/{review_id}/reply", tags=["school"])
def edit_reply(
    review_id: PathId, body: ReplyBody, session: SessionDep, staff: StaffUser
) -> rv.PublicReview:
    return _answer(session, review_id, body, staff, edit=True)


# ---- governance port -----------------------------------------------------------------------


def _region_review(session: Session, review_id: str, regulator: User) -> Review:
    review = session.get(Review, review_id)
    school = review and session.get(School, review.school_id)
    if school is None or not region_covers(regulator.region_code or "", school.city_code):
        raise not_found("review")
    return review  # type: ignore[return-value]


@router.get("/api/gov/reviews", tags=["gov"])
def region_reviews(
    request: Request,
    session: SessionDep,
    regulator: RegulatorUser,
    school_id: Id | None = None,
    hidden: bool | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RegulatorPage:
    """Every review of the region's schools, hidden text included, newest first."""
    where = [col(School.city_code).startswith(region_prefix(regulator.region_code or ""))]
    if school_id is not None:
        where.append(col(Review.school_id) == school_id)
    if hidden is not None:
        where.append(col(Review.hidden) == hidden)
    query = select(Review).join(School, col(School.id) == col(Review.school_id)).where(*where)
    total, rows = page(session, query, *rv.NEWEST_FIRST, limit=limit, offset=offset)
    items = [rv.regulator_view(session, r, _edit_window(request, session, r)) for r in rows]
    return RegulatorPage(total=total, items=items)


@router.get("/api/gov/reviews/{review_id}", tags=["gov"])
def region_review(
    review_id: PathId, request: Request, session: SessionDep, regulator: RegulatorUser
) -> rv.ReviewRecord:
    """One review with every version and its moderation log."""
    review = _region_review(session, review_id, regulator)
    return rv.regulator_view(session, review, _edit_window(request, session, review))


def _moderate(
    request: Request, session: Session, review_id: str, hide: bool, reason: str, who: User
) -> rv.ReviewRecord:
    review = _region_review(session, review_id, who)
    rv.moderate(session, review, hide, reason, who.id, _now())
    return rv.regulator_view(session, review, _edit_window(request, session, review))


@router.post("/api/gov/reviews/{review_id}/hide", tags=["gov"])
def hide_review(
    review_id: PathId,
    body: ModerationBody,
    request: Request,
    session: SessionDep,
    regulator: RegulatorUser,
) -> rv.ReviewRecord:
    """Hides abusive text (the stars still count); the reason is logged with who and when."""
    return _moderate(request, session, review_id, True, body.reason, regulator)


@router.post("/api/gov/reviews/{review_id}/show", tags=["gov"])
def show_review(
    review_id: PathId,
    body: ModerationBody,
    request: Request,
    session: SessionDep,
    regulator: RegulatorUser,
) -> rv.ReviewRecord:
    """Shows a hidden text again (after an edit, or a mistaken hiding), logged the same way."""
    return _moderate(request, session, review_id, False, body.reason, regulator)
