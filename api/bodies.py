"""Request bodies, read strictly before any handler or model sees them.

A JSON body must say it is JSON (else 415) and be UTF-8 JSON holding only finite numbers,
integers of sane length and strings without lone surrogates or control characters: each
fault is a 422 naming the field it is in. Invalid UTF-8 is decoded with `surrogateescape`, so
a bad byte shows up as a lone surrogate in the very string that holds it. A form body must be
a form. Every router uses `StrictRoute`.
"""

import json
import math
import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.errors import api_error

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MAX_INT_DIGITS = 30
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, newline, CR are text


class _Refused:
    """A number the parser refused, left in place so the walk can say where it was."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


_NON_FINITE = _Refused("finite_number")
_TOO_LONG = _Refused("int_parsing_size")


def _float(text: str) -> float | _Refused:
    value = float(text)  # 1e400 is inf
    return value if math.isfinite(value) else _NON_FINITE


def _int(text: str) -> int | _Refused:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else _TOO_LONG


def _problem(loc: tuple[str | int, ...], kind: str, msg: str = "") -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg}


def _string_fault(loc: tuple[str | int, ...], text: str) -> dict[str, Any] | None:
    if _SURROGATE.search(text):
        return _problem(loc, "string_unicode")
    if _CONTROL.search(text):
        return _problem(loc, "string_control_character", "不能含有控制字符")
    return None


def _faults(data: Any) -> Iterator[dict[str, Any]]:
    """Every refused number and string, in document order (iterative: any depth is safe)."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [(("body",), data)]
    while pending:
        loc, value = pending.pop()
        children: list[tuple[tuple[str | int, ...], Any]] = []
        if isinstance(value, _Refused):
            yield _problem(loc, value.kind)
        elif isinstance(value, str):
            if fault := _string_fault(loc, value):
                yield fault
        elif isinstance(value, dict):
            for key, item in value.items():
                if fault := _string_fault((*loc, key), key):
                    yield fault
                children.append(((*loc, key), item))
        elif isinstance(value, list):
            children = [((*loc, i), item) for i, item in enumerate(value)]
        pending.extend(reversed(children))


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`; raises RequestValidationError naming each faulty field."""
    text = body.decode("utf-8", "surrogateescape")
    try:
        data = json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_float)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([_problem(("body", exc.pos), "json_invalid")]) from exc
    except RecursionError as exc:
        raise RequestValidationError([_problem(("body",), "json_invalid")]) from exc
    faults = list(_faults(data))
    if faults:
        raise RequestValidationError(faults)
    return data


def media_type(request: Request) -> str | None:
    raw = request.headers.get("content-type")
    return raw.split(";", 1)[0].strip().lower() if raw else None


def is_json(media: str | None) -> bool:
    return media is not None and (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    )


async def check_json_body(request: Request) -> None:
    body = await request.body()
    if not body:
        return  # an optional body left out; a required one is reported missing
    if not is_json(media_type(request)):
        raise api_error(415, "请求内容须为 JSON（Content-Type: application/json）")
    parse_json(body)


async def check_form_body(request: Request) -> None:
    media = media_type(request)
    if media is None:
        return  # nothing sent: the form's fields are reported missing
    if media not in FORM_TYPES:
        raise api_error(415, "请求内容须为表单（multipart/form-data 或 x-www-form-urlencoded）")
    try:
        await request.form()  # cached for the handler
    except StarletteHTTPException as exc:  # a malformed multipart body
        raise RequestValidationError(
            [_problem(("body",), "form_invalid", "表单格式不正确")]
        ) from exc


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictRoute(APIRoute):
    """An APIRoute that checks its body's media type and content before FastAPI reads it."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        check = (
            check_form_body
            if isinstance(self.body_field.field_info, params.Form)
            else check_json_body
        )

        async def strict(request: Request) -> Response:
            await check(request)
            return await handler(request)

        return strict
