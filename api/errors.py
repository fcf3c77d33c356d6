"""Errors a person can act on, in one shape app-wide, and Temporal failures mapped to HTTP.

Every error answers `{"detail": ..., "code": ...}`: `detail` is a Chinese sentence, or for
input that cannot be right a list of `{"loc", "msg", "type"}` naming each field; `code` (and
each item's `type`) is a stable snake_case code for programs. Nothing the caller sent is
echoed back, so answering can never fail on a value that cannot be serialised.
"""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.messages import message_for, safe_text

log = logging.getLogger("xuejia.api")

# A stable snake_case code for programs.
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]

# The code and Chinese sentence an error of this status gets when nothing more precise is said.
STATUS_DEFAULTS: dict[int, tuple[Code, str]] = {
    400: ("bad_request", "请求无效"),
    401: ("not_authenticated", "未登录或登录已失效"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持此请求方法"),
    409: ("conflict", "当前状态下不能执行此操作"),
    413: ("too_large", "请求过大"),
    415: ("unsupported_media_type", "不支持的请求内容类型"),
    422: ("invalid_input", "输入有误"),
    500: ("internal_error", "服务器内部错误，请稍后重试"),
    503: ("unavailable", "服务暂不可用，请稍后重试"),
}

# Chinese names of the things `not_found` is asked about.
THINGS = {
    "journey": "报名记录",
    "school": "驾校",
    "coach": "教练",
    "slot": "课时",
    "document": "文档",
    "contract": "合同",
    "invoice": "发票",
    "registration": "登记表",
    "teaching_log": "教学日志",
    "training_records": "培训记录",
    "certificate": "结业证书",
    "consultation": "咨询",
    "complaint": "投诉",
    "review": "评价",
}


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description='where: ["body", "name"], ["query", "lat"], ...')
    msg: str = Field(description="中文说明")
    type: Code = Field(description="e.g. string_too_long, id_number_checksum")


class ErrorBody(BaseModel):
    """Every error response: a sentence, or a list of field problems, and a stable code."""

    detail: str | list[FieldProblem]
    code: Code
    journey_id: str | None = Field(
        None, description="the journey the refusal is about, e.g. the running enrolment (409)"
    )


class ApiError(HTTPException):
    """An HTTPException that carries its stable code."""

    def __init__(
        self,
        status_code: int,
        detail: str | list[dict[str, Any]],
        code: Code,
        headers: dict[str, str] | None = None,
        journey_id: str | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code
        self.journey_id = journey_id


def api_error(
    status_code: int, message: str, code: Code | None = None, headers: dict[str, str] | None = None
) -> ApiError:
    return ApiError(status_code, message, code or _default(status_code)[0], headers)


def field_error(
    field: str,
    message: str,
    code: int = 422,
    *,
    kind: Code = "value_error",
    where: str = "body",
    journey_id: str | None = None,
) -> ApiError:
    """One field's problem, in the shape of validation errors, so clients handle one format.

    `code` is the HTTP status (422, or 409 for a clash such as an ID number already bound);
    `kind` the stable code of the problem.
    """
    problem = {"loc": [where, field], "msg": message, "type": kind}
    return ApiError(
        code, [problem], "invalid_input" if code == 422 else kind, journey_id=journey_id
    )


def not_found(what: str) -> ApiError:
    return ApiError(status.HTTP_404_NOT_FOUND, f"{THINGS.get(what, what)}不存在", "not_found")


def problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as field problems: Chinese message, stable type, no input echoed."""
    return [
        {
            "loc": [_safe_loc(part) for part in error.get("loc", ())],
            "msg": message_for(error),
            "type": safe_text(error.get("type") or "value_error", 64),
        }
        for error in errors
    ]


def _safe_loc(part: object) -> str | int:
    return part if isinstance(part, int) else safe_text(part, 64)


def _default(status_code: int) -> tuple[Code, str]:
    if status_code in STATUS_DEFAULTS:
        return STATUS_DEFAULTS[status_code]
    try:
        code = HTTPStatus(status_code).name.lower()
    except ValueError:
        code = "error"
    return code, "请求未能完成"


def _phrase(status_code: int) -> str | None:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return None


def error_response(
    status_code: int,
    detail: object,
    code: Code,
    headers: dict[str, str] | None = None,
    journey_id: str | None = None,
) -> JSONResponse:
    body = {"detail": detail, "code": code}
    if journey_id is not None:
        body["journey_id"] = journey_id
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _on_invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, problems(exc.errors()), "invalid_input")


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, sentence = _default(exc.status_code)
    detail: object = exc.detail
    journey_id = None
    if isinstance(exc, ApiError):
        code, journey_id = exc.code, exc.journey_id
    elif not isinstance(detail, str | list) or detail == _phrase(exc.status_code):
        detail = sentence  # the framework's own English reason phrase
    if isinstance(detail, str):
        detail = safe_text(detail, 500)
    return error_response(exc.status_code, detail, code, exc.headers, journey_id)


async def _on_database_unavailable(_: Request, __: Exception) -> JSONResponse:
    """The database is busy (no free connection in time) or unreachable: try again later; the
    request's transaction was rolled back, so nothing is half-written."""
    code, sentence = STATUS_DEFAULTS[503]
    return error_response(503, sentence, code, {"Retry-After": "1"})


async def _on_crash(_: Request, __: Exception) -> JSONResponse:
    code, sentence = STATUS_DEFAULTS[500]
    return error_response(500, sentence, code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(PoolTimeout, _on_database_unavailable)
    app.add_exception_handler(OperationalError, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_crash)


ERROR_STATUSES = (401, 403, 404, 409, 415, 422, 503)
# Documented on every route (FastAPI's own 422 schema is replaced by this one).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": STATUS_DEFAULTS[code][1]} for code in ERROR_STATUSES
}


@asynccontextmanager
async def temporal_errors(what: str = "journey") -> AsyncIterator[None]:
    """Maps a refused Update to 409 with the workflow's reason, a missing workflow to 404."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise api_error(status.HTTP_409_CONFLICT, message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise api_error(status.HTTP_503_SERVICE_UNAVAILABLE, "请稍后重试") from exc
    except WorkflowQueryFailedError as exc:
        # The worker could not answer in time (a starved worker trips the SDK's 2-second
        # deadlock guard on a query): the journey is fine and the next try is answered.
        log.warning("query of a %s failed: %s", what, exc)
        raise api_error(status.HTTP_503_SERVICE_UNAVAILABLE, "请稍后重试") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise not_found(what) from exc
        raise api_error(
            status.HTTP_503_SERVICE_UNAVAILABLE, "流程引擎暂不可用，请稍后重试"
        ) from exc
