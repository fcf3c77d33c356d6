"""How the engine's failures reach people: never a 500 for a journey that is merely busy."""

import pytest
from fastapi import HTTPException
from temporalio.client import WorkflowQueryFailedError

from api.errors import temporal_errors


async def test_a_query_the_worker_could_not_answer_is_503_to_try_again() -> None:
    # What the SDK raises when a starved worker trips its deadlock guard during a query.
    failure = WorkflowQueryFailedError("[TMPRL1101] Potential deadlock detected")
    with pytest.raises(HTTPException) as refused:
        async with temporal_errors():
            raise failure
    assert refused.value.status_code == 503
