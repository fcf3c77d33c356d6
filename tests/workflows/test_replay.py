"""Recorded journey histories must replay on today's workflow code: a change that would break
running journeys (non-determinism) fails here. Re-record with `make record-histories` only
when the change is made safe for running journeys (workflow.patched) or none are running."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.journey import LearnerJourney

HISTORIES = sorted((Path(__file__).parent.parent / "data" / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    record = json.loads(path.read_text())
    history = WorkflowHistory.from_json(record["workflow_id"], record["history"])
    await Replayer(workflows=[LearnerJourney]).replay_workflow(history)
