"""The journey's writer of reviews: a learner's stars and text, once per journey and stage."""

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from evaluation.reviews import NewReview, record_review


class ReviewActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="reviews.record")
    def record(self, review: NewReview) -> None:
        """Idempotent on the review's id (and on journey and stage): a retry changes nothing."""
        with Session(self._engine) as session:
            record_review(session, review)
