"""Reviews of schools and coaches: written once by the journey (an activity), edited by their
learner in versions, answered once by the school, hidden by a regulator with a logged reason.

A hidden review's stars still count; its text is withheld from everyone but its author and the
regulator. Part C (the index, the school list) reads reviews through `public_reviews` and
`star_summary`, never the table's text directly.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evaluation.paging import page
from models.evaluation import Review, ReviewEdit
from models.evaluation_log import ReviewModeration
from workflows.training import utc


@dataclass
class NewReview:
    """A rating as the journey gave it; `review_id` is the journey's idempotency key for it."""

    review_id: str
    journey_id: str
    learner_id: str
    school_id: str
    coach_id: str | None
    stage: str  # theory | safety | followup (the stage it was given at)
    school_stars: int
    coach_stars: int | None
    text: str
    at: datetime


NEWEST_FIRST = (col(Review.created_at).desc(), col(Review.id))


class ReviewRefused(Exception):
    """An edit, reply or moderation the rules do not allow; the message is for people."""


class PublicReview(BaseModel):
    """What anyone on the platform may see of a review: no learner, no journey."""

    id: str
    school_id: str
    coach_id: str | None
    stage: str
    school_stars: int
    coach_stars: int | None
    text: str | None  # None when a regulator hid it
    text_hidden: bool
    version: int
    created_at: datetime
    updated_at: datetime
    reply: str | None
    replied_at: datetime | None


class OwnReview(PublicReview):
    """What its author sees: the text even when hidden, why it was hidden, and until when it
    may be edited."""

    journey_id: str
    hidden_reason: str | None
    editable_until: datetime


class ReviewRecord(OwnReview):
    """What a regulator sees: everything, with the learner and the moderation log."""

    learner_id: str
    hidden_by: str | None
    hidden_at: datetime | None
    versions: list["ReviewVersion"] = []
    moderation: list["ModerationEntry"] = []


class ReviewVersion(BaseModel):
    version: int
    school_stars: int
    coach_stars: int | None
    text: str
    edited_at: datetime


class ModerationEntry(BaseModel):
    action: str  # hide | show
    reason: str
    actor_id: str
    at: datetime


class StarSummary(BaseModel):
    reviews: int
    school_stars_avg: float | None
    coach_stars_avg: float | None


# ---- the journey's write -------------------------------------------------------------------


def record_review(session: Session, new: NewReview) -> None:
    """Stores a review and its first version once: a retry, or a second rating of the same
    journey and stage, leaves the first (and any edits since) as they are."""
    if session.get(Review, new.review_id) is not None:
        return
    taken = session.exec(
        select(Review.id).where(Review.journey_id == new.journey_id, Review.stage == new.stage)
    ).first()
    if taken is not None:
        return
    session.add(
        Review(
            id=new.review_id,
            journey_id=new.journey_id,
            learner_id=new.learner_id,
            school_id=new.school_id,
            coach_id=new.coach_id or None,
            stage=new.stage,
            school_stars=new.school_stars,
            coach_stars=new.coach_stars,
            text=new.text,
            created_at=new.at,
            updated_at=new.at,
        )
    )
    session.flush()  # the review before its version (the foreign key)
    session.add(_version(new.review_id, 1, new.school_stars, new.coach_stars, new.text, new.at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent twin won; it wrote the same first version
        if session.get(Review, new.review_id) is None:
            raise


def _version(
    review_id: str, version: int, school: int, coach: int | None, text: str, at: datetime
) -> ReviewEdit:
    return ReviewEdit(
        review_id=review_id,
        version=version,
        school_stars=school,
        coach_stars=coach,
        text=text,
        edited_at=at,
    )


# ---- people's actions ----------------------------------------------------------------------


def edit_review(
    session: Session,
    review: Review,
    school_stars: int,
    coach_stars: int | None,
    text: str,
    now: datetime,
    edit_window: timedelta,
) -> Review:
    """A new version by its author within the edit window; the same content again is no edit."""
    if (review.school_stars, review.coach_stars, review.text) == (school_stars, coach_stars, text):
        return review
    if now > utc(review.created_at) + edit_window:
        raise ReviewRefused("已超过评价的修改期限")
    review.version += 1
    review.school_stars, review.coach_stars, review.text = school_stars, coach_stars, text
    review.updated_at = now
    session.add(review)
    session.add(_version(review.id, review.version, school_stars, coach_stars, text, now))
    session.commit()
    return review


def reply(
    session: Session, review: Review, text: str, by: str, now: datetime, *, edit: bool
) -> Review:
    """The school's answer: given once (`edit=False`), then only changed (`edit=True`)."""
    if not edit and review.reply is not None:
        if review.reply == text:
            return review  # the same answer sent twice
        raise ReviewRefused("驾校已回复该评价，如需修改请使用修改回复")
    if edit and review.reply is None:
        raise ReviewRefused("驾校尚未回复该评价")
    review.reply, review.replied_at, review.replied_by = text, now, by
    session.add(review)
    session.commit()
    return review


def moderate(
    session: Session, review: Review, hide: bool, reason: str, by: str, now: datetime
) -> Review:
    """Hides or shows again a review's text, logged; one already so is left as it is."""
    if review.hidden == hide:
        return review
    review.hidden = hide
    review.hidden_reason, review.hidden_by, review.hidden_at = (
        (reason, by, now) if hide else (None, None, None)
    )
    session.add(review)
    session.add(
        ReviewModeration(
            review_id=review.id,
            action="hide" if hide else "show",
            reason=reason,
            actor_id=by,
            at=now,
        )
    )
    session.commit()
    return review


# ---- what people see -----------------------------------------------------------------------


def public_view(review: Review) -> PublicReview:
    return PublicReview(
        id=review.id,
        school_id=review.school_id,
        coach_id=review.coach_id,
        stage=review.stage,
        school_stars=review.school_stars,
        coach_stars=review.coach_stars,
        text=None if review.hidden else review.text,
        text_hidden=review.hidden,
        version=review.version,
        created_at=utc(review.created_at),
        updated_at=utc(review.updated_at),
        reply=review.reply,
        replied_at=review.replied_at and utc(review.replied_at),
    )


def own_view(review: Review, edit_window: timedelta) -> OwnReview:
    return OwnReview(
        **public_view(review).model_dump(exclude={"text"}),
        text=review.text,
        journey_id=review.journey_id,
        hidden_reason=review.hidden_reason,
        editable_until=utc(review.created_at) + edit_window,
    )


def regulator_view(session: Session, review: Review, edit_window: timedelta) -> ReviewRecord:
    versions = session.exec(
        select(ReviewEdit).where(ReviewEdit.review_id == review.id).order_by(ReviewEdit.version)
    ).all()
    log = session.exec(
        select(ReviewModeration)
        .where(ReviewModeration.review_id == review.id)
        .order_by(col(ReviewModeration.at), col(ReviewModeration.id))
    ).all()
    return ReviewRecord(
        **own_view(review, edit_window).model_dump(),
        learner_id=review.learner_id,
        hidden_by=review.hidden_by,
        hidden_at=review.hidden_at and utc(review.hidden_at),
        versions=[
            ReviewVersion(**v.model_dump(exclude={"review_id"}) | {"edited_at": utc(v.edited_at)})
            for v in versions
        ],
        moderation=[
            ModerationEntry(action=m.action, reason=m.reason, actor_id=m.actor_id, at=utc(m.at))
            for m in log
        ],
    )


def _of(school_id: str, coach_id: str | None) -> list[Any]:
    """The conditions for a school's reviews, or one of its coaches'."""
    where = [col(Review.school_id) == school_id]
    if coach_id is not None:
        where.append(col(Review.coach_id) == coach_id)
    return where


def public_reviews(
    session: Session,
    school_id: str,
    coach_id: str | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[PublicReview]]:
    """A school's (or one of its coaches') reviews, newest first, hidden text withheld; with
    how many there are in all."""
    where = _of(school_id, coach_id)
    total, rows = page(
        session, select(Review).where(*where), *NEWEST_FIRST, limit=limit, offset=offset
    )
    return total, [public_view(r) for r in rows]


def star_summary(
    session: Session, school_id: str, coach_id: str | None = None, since: datetime | None = None
) -> StarSummary:
    """How many reviews and their average stars (hidden ones count: only their text is
    withheld); the index's satisfaction item reads this."""
    where = _of(school_id, coach_id)
    if since is not None:
        where.append(col(Review.created_at) >= since)
    count, school_avg, coach_avg = session.exec(
        select(func.count(), func.avg(Review.school_stars), func.avg(Review.coach_stars)).where(
            *where
        )
    ).one()
    return StarSummary(
        reviews=count,
        school_stars_avg=None if school_avg is None else round(float(school_avg), 2),
        coach_stars_avg=None if coach_avg is None else round(float(coach_avg), 2),
    )
