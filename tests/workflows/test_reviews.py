"""Ratings a journey takes (a theory-like stage's confirmation, the follow-up after graduation)
land in the review table once each, with their first version (REVIEWS_PATCH)."""

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError

from evaluation.reviews import public_reviews, star_summary
from models.evaluation import Review, ReviewEdit
from tests.factories import until
from tests.workflows.conftest import Harness
from tests.workflows.drive import finish_subject, to_training
from workflows.journey import LearnerJourney
from workflows.journey_state import FollowupReview, RateStage


async def test_a_journeys_ratings_are_stored_once_each_with_their_first_version(
    harness: Harness,
) -> None:
    handle = await to_training(harness)
    for subject in ("theory", "field", "road", "safety"):
        await finish_subject(harness, handle, subject, "S371100001")
    await until(handle, lambda v: v.state.stage == "followup")
    await handle.execute_update(
        LearnerJourney.add_followup_review, FollowupReview(4, 3, "科目三练车时间偏少")
    )
    await handle.result()
    with Session(harness.engine) as session:
        reviews = session.exec(select(Review).where(Review.journey_id == handle.id)).all()
        assert sorted((r.stage, r.school_stars, r.coach_stars, r.text) for r in reviews) == [
            ("followup", 4, 3, "科目三练车时间偏少"),
            ("safety", 5, 4, "讲解清楚"),
            ("theory", 5, 4, "讲解清楚"),
        ]
        assert {(r.learner_id, r.school_id, r.coach_id, r.version) for r in reviews} == {
            ("U-learner1", "S371100001", "S371100001-K1", 1)
        }
        # The id names neither the learner nor the journey: schools and the public see it.
        assert all("learner" not in r.id and handle.id not in r.id for r in reviews)
        first = session.exec(select(ReviewEdit)).all()
        assert sorted((e.review_id, e.version) for e in first) == sorted((r.id, 1) for r in reviews)
        total, shown = public_reviews(session, "S371100001")
        assert total == 3 and shown[0].stage == "followup"
        assert star_summary(session, "S371100001").school_stars_avg == 4.67
    await harness.keep_history(handle, "reviews_stored")


async def test_a_practical_stage_is_rated_once_before_its_report_and_counted(
    harness: Harness,
) -> None:
    handle = await to_training(harness)
    early = RateStage("field", 5, 5, "还没开始练")
    with pytest.raises(WorkflowUpdateFailedError):  # 科目二 is not the stage yet
        await handle.execute_update(LearnerJourney.rate_practical_stage, early)
    await finish_subject(harness, handle, "theory", "S371100001")
    await until(handle, lambda v: v.state.stage == "field")
    rating = RateStage("field", 4, 5, "教练耐心")
    first = await handle.execute_update(LearnerJourney.rate_practical_stage, rating)
    again = await handle.execute_update(LearnerJourney.rate_practical_stage, rating)
    assert (first.action, first.repeat, again.repeat) == ("stage_rated", False, True)
    other = RateStage("field", 1, 1, "改主意了")
    with pytest.raises(WorkflowUpdateFailedError):  # a change is an edit of the review
        await handle.execute_update(LearnerJourney.rate_practical_stage, other)
    with Session(harness.engine) as session:
        [review] = session.exec(
            select(Review).where(Review.journey_id == handle.id, Review.stage == "field")
        ).all()
        assert (review.school_stars, review.coach_stars, review.text) == (4, 5, "教练耐心")
    await handle.terminate("test done")
