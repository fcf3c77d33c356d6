"""One log format for the API, the worker and activities: JSON lines naming the journey."""

import dataclasses
import json
import logging

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from core.logs import XuejiaFormatter, journey_context

log = logging.getLogger("xuejia.test")


def record(msg: str, **extra: object) -> logging.LogRecord:
    return log.makeRecord(log.name, logging.WARNING, __file__, 1, msg, (), None, extra=extra)


def as_json(rec: logging.LogRecord, process: str = "worker") -> dict[str, object]:
    return json.loads(XuejiaFormatter(process).format(rec))


async def test_a_line_logged_in_an_activity_names_its_journey_and_attempt() -> None:
    @activity.defn
    async def works() -> dict[str, object]:
        return as_json(record("银行暂不可用"))

    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id="journey-U-a-S1-C1", activity_type="bank.release", attempt=3
    )
    line = await env.run(works)
    assert line["journey_id"] == "journey-U-a-S1-C1"
    assert (line["activity"], line["attempt"]) == ("bank.release", 3)
    assert (line["msg"], line["level"], line["process"]) == ("银行暂不可用", "WARNING", "worker")


def test_the_journey_comes_from_the_record_the_request_or_the_sdk_extras() -> None:
    assert "journey_id" not in as_json(record("no journey"))
    assert as_json(record("own", journey_id="journey-a"))["journey_id"] == "journey-a"
    with journey_context("journey-b"):
        assert as_json(record("served"))["journey_id"] == "journey-b"
    sdk = record("wf", temporal_workflow={"workflow_id": "journey-c", "workflow_type": "X"})
    assert as_json(sdk)["journey_id"] == "journey-c"


def test_text_lines_carry_the_same_fields_for_people() -> None:
    rec = record("已受理", journey_id="journey-a", route="/api/x/{wf_id}", status=202)
    text = XuejiaFormatter("api", "text").format(rec)
    assert " api WARNING 已受理 " in text
    assert "journey_id=journey-a" in text and "route=/api/x/{wf_id}" in text
    assert "status=202" in text and "\n" not in text
