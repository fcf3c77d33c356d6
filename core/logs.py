"""One log format for every process (API, worker, activities): a JSON object per line, carrying
the journey a line is about, so one journey's lines can be found across processes.

The journey id comes from, in this order: the record's own `journey_id` (`extra=`), the API
request being served (`journey_context`), the activity running (`activity.info()`), or the
workflow or activity the SDK logs about (its `temporal_workflow`/`temporal_activity` extras).
`text` renders the same fields on one readable line, for a person watching `make run`'s logs.
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio import activity

LogFormat = Literal["json", "text"]
_journey: ContextVar[str | None] = ContextVar("xuejia_journey", default=None)

# Fields a record may carry through `extra=` that are written out (besides the journey id).
EXTRA_FIELDS = ("route", "method", "status", "latency_ms", "activity", "attempt", "event")


@contextmanager
def journey_context(journey_id: str | None) -> Iterator[None]:
    """Lines logged inside (in this task or thread) name `journey_id`."""
    token = _journey.set(journey_id)
    try:
        yield
    finally:
        _journey.reset(token)


def journey_of(record: logging.LogRecord) -> str | None:
    own = getattr(record, "journey_id", None)
    if own:
        return str(own)
    if (served := _journey.get()) is not None:
        return served
    if activity.in_activity():
        return activity.info().workflow_id
    for sdk_extra in ("temporal_activity", "temporal_workflow"):
        info = getattr(record, sdk_extra, None)
        if isinstance(info, dict) and info.get("workflow_id"):
            return str(info["workflow_id"])
    return None


def fields_of(record: logging.LogRecord, process: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "process": process,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    if (journey := journey_of(record)) is not None:
        fields["journey_id"] = journey
    if activity.in_activity():
        info = activity.info()
        fields.setdefault("activity", info.activity_type)
        fields.setdefault("attempt", info.attempt)
    for name in EXTRA_FIELDS:
        if (value := getattr(record, name, None)) is not None:
            fields[name] = value
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


class XuejiaFormatter(logging.Formatter):
    def __init__(self, process: str, style: LogFormat = "json") -> None:
        super().__init__()
        self.process = process
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record, self.process)
        if self.style == "json":
            return json.dumps(fields, ensure_ascii=False, default=str)
        head = f"{fields.pop('ts')[11:23]} {fields.pop('process')} {fields.pop('level')}"
        message, exc = fields.pop("msg"), fields.pop("exc", None)
        fields.pop("logger")
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        return " ".join(p for p in (head, message, tail) if p) + (f"\n{exc}" if exc else "")


def configure_logging(process: str, style: LogFormat = "json", level: int = logging.INFO) -> None:
    """The root logger writes through the formatter to stderr (uvicorn's own loggers too)."""
    handler = logging.StreamHandler()
    handler.setFormatter(XuejiaFormatter(process, style))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request log below replaces uvicorn's access lines (they carry no journey or latency).
    logging.getLogger("uvicorn.access").disabled = True
