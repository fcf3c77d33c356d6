"""The worker notes each activity attempt that failed and will be retried (and forgets it when
an attempt succeeds or the failure is final), so ops see what a journey waits on: the stuck
view reads these rows instead of asking every running journey for its pending activities."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from models.ops import ActivityTrouble

log = logging.getLogger("xuejia.activities")
JOURNEY_WORKFLOW = "LearnerJourney"  # workflows/journey.py (not imported: it is workflow code)
ERROR_CHARS = 500


def will_retry(exc: Exception, info: activity.Info) -> bool:
    """Whether Temporal schedules another attempt after this failure."""
    if isinstance(exc, ApplicationError) and exc.non_retryable:
        return False
    policy = info.retry_policy
    if policy is None:
        return True
    if policy.maximum_attempts and info.attempt >= policy.maximum_attempts:
        return False
    kind = exc.type if isinstance(exc, ApplicationError) and exc.type else type(exc).__name__
    return kind not in (policy.non_retryable_error_types or [])


def note_failure(engine: Engine, info: activity.Info, exc: Exception) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = session.get(ActivityTrouble, (info.workflow_id, info.activity_id))
        if row is None:
            row = ActivityTrouble(
                workflow_id=info.workflow_id or "",
                activity_id=info.activity_id,
                activity_type=info.activity_type,
                attempt=info.attempt,
                error="",
                first_failed_at=now,
                last_failed_at=now,
            )
        row.attempt, row.last_failed_at = info.attempt, now
        row.error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        session.add(row)
        session.commit()


def forget(engine: Engine, info: activity.Info) -> None:
    with Session(engine) as session:
        row = session.get(ActivityTrouble, (info.workflow_id, info.activity_id))
        if row is not None:
            session.delete(row)
            session.commit()


class TroubleRecorder(Interceptor):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self._engine)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, engine: Engine) -> None:
        super().__init__(next)
        self._engine = engine

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        # Journeys only (the stuck view's), and not local activities (ops cannot retry them).
        if info.is_local or info.workflow_type != JOURNEY_WORKFLOW:
            return await self.next.execute_activity(input)
        try:
            result = await self.next.execute_activity(input)
        except Exception as exc:
            if will_retry(exc, info):
                await self._note(note_failure, info, exc)
            elif info.attempt > 1:
                await self._note(forget, info)
            raise
        if info.attempt > 1:  # only a retried activity can have a row: none on the happy path
            await self._note(forget, info)
        return result

    async def _note(self, write: Any, *args: Any) -> None:
        """The bookkeeping never changes the activity's outcome: a failed write is logged."""
        try:
            await asyncio.to_thread(write, self._engine, *args)
        except Exception:
            log.exception("could not note activity %s's attempt", args[0].activity_type)
