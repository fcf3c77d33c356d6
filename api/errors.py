"""Errors a person can act on: 4xx naming the field, Temporal failures mapped to HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException, status
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode


def field_error(field: str, message: str, code: int = 422) -> HTTPException:
    """The same shape FastAPI uses for validation errors, so clients handle one format."""
    return HTTPException(
        code, detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}]
    )


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


@asynccontextmanager
async def temporal_errors(what: str = "journey") -> AsyncIterator[None]:
    """Maps a refused Update to 409 with the workflow's reason, a missing workflow to 404."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise HTTPException(status.HTTP_409_CONFLICT, message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "请稍后重试") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise not_found(what) from exc
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "workflow engine error") from exc
