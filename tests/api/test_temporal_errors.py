"""How the engine's failures reach people: never a 500 for a journey that is merely busy."""

import inspect

import pytest
from fastapi import HTTPException
from temporalio.client import WorkflowQueryFailedError

from api.errors import temporal_errors
from api.main import API_TEMPORAL_RETRY
from subsystems.common import CallbackSender


async def test_a_query_the_worker_could_not_answer_is_503_to_try_again() -> None:
    # What the SDK raises when a starved worker trips its deadlock guard during a query.
    failure = WorkflowQueryFailedError("[TMPRL1101] Potential deadlock detected")
    with pytest.raises(HTTPException) as refused:
        async with temporal_errors():
            raise failure
    assert refused.value.status_code == 503


def test_the_api_gives_up_on_an_unreachable_temporal_before_a_callback_times_out() -> None:
    """Found by the faults tests: with the SDK's 10 s of retries, a subsystem's callback timed
    out (5 s) while Temporal was down, instead of hearing 503 and retrying."""
    callback_timeout = inspect.signature(CallbackSender).parameters["timeout_seconds"].default
    assert API_TEMPORAL_RETRY.max_elapsed_time_millis < 1000 * callback_timeout
