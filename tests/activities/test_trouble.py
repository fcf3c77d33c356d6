"""The worker notes failing activity attempts that Temporal retries, and forgets them when an
attempt succeeds or the failure is final."""

import dataclasses
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from activities.http import BUSINESS_REJECTION, SubsystemError, business_rejection
from activities.trouble import TroubleRecorder
from models.ops import ActivityTrouble

POLICY = RetryPolicy(maximum_attempts=5, non_retryable_error_types=[BUSINESS_REJECTION])


class Outcome(ActivityInboundInterceptor):
    """The activity itself, as the next link of the chain: raises `error` or answers "ok"."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if self.error is not None:
            raise self.error
        return "ok"


async def attempt(engine: Engine, n: int, error: Exception | None) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        workflow_id="journey-a",
        workflow_type="LearnerJourney",
        activity_id="7",
        activity_type="bank.release",
        attempt=n,
        retry_policy=POLICY,
    )
    inbound = TroubleRecorder(engine).intercept_activity(Outcome(error))

    async def run() -> Any:
        return await inbound.execute_activity(None)  # type: ignore[arg-type]

    if error is None:
        assert await env.run(run) == "ok"
    else:
        with pytest.raises(type(error)):
            await env.run(run)


def noted(engine: Engine) -> list[tuple[str, str, int, str]]:
    with Session(engine) as session:
        rows = session.exec(select(ActivityTrouble)).all()
        return [(r.workflow_id, r.activity_id, r.attempt, r.error) for r in rows]


async def test_a_retried_failure_is_noted_and_its_success_forgets_it(engine: Engine) -> None:
    await attempt(engine, 1, None)
    assert noted(engine) == []  # the happy path writes nothing
    await attempt(engine, 1, SubsystemError("bank answered 503"))
    await attempt(engine, 2, SubsystemError("bank unreachable"))
    assert noted(engine) == [("journey-a", "7", 2, "SubsystemError: bank unreachable")]
    await attempt(engine, 3, None)
    assert noted(engine) == []


@pytest.mark.parametrize(
    ("n", "error"),
    [
        (2, business_rejection("余额不足")),  # non-retryable
        (2, ApplicationError("坏数据", non_retryable=True)),
        (5, SubsystemError("bank answered 503")),  # the last attempt the policy allows
    ],
)
async def test_a_final_failure_is_not_left_noted(engine: Engine, n: int, error: Exception) -> None:
    await attempt(engine, 1, SubsystemError("bank answered 503"))
    await attempt(engine, n, error)
    assert noted(engine) == []
