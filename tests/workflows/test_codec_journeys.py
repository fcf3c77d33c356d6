"""Journeys through the payload codec (core/codec.py): the history Temporal keeps of them (what
an operator exports, what the Web UI reads) holds no learner's name, ID number or phone in
clear, and a journey begun under one key runs on after a rotation. Their histories are recorded
into codec/ for the replay tests (`make record-histories`)."""

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from core.codec import EncryptionCodec, KeyRing, data_converter
from core.config import DEMO_CODEC_KEYS, Settings
from tests import servers
from tests.factories import VALID_ID, journey_input, until
from tests.workflows.conftest import (
    CODEC_HISTORIES,
    PRE_ROTATION_KEY,
    Harness,
    keep_history,
    running_harness,
)
from tests.workflows.drive import pass_health, pay, to_health_check, to_payment
from workflows.journey import LearnerJourney
from workflows.journey_state import SignContract, StaffDecision, Withdraw

PERSONAL = ("张三", "13800138000", VALID_ID)  # the applicant of tests.factories.journey_input


def personal_in(raw: bytes) -> list[str]:
    """The applicant's data found in `raw`, as UTF-8 or as JSON's \\u escapes."""
    return [p for p in PERSONAL if p.encode() in raw or json.dumps(p)[1:-1].encode() in raw]


async def stored(handle: WorkflowHandle) -> bytes:
    """The journey's whole history as the server gives it out (an export, the UI's reads)."""
    history = await handle.fetch_history()
    return History(events=history.events).SerializeToString()


def test_the_search_finds_a_clear_payload() -> None:
    """The control: without the codec the same input shows all three."""
    [clear] = DataConverter.default.payload_converter.to_payloads([journey_input()])
    assert personal_in(clear.SerializeToString()) == list(PERSONAL)


async def test_exported_history_holds_no_personal_data_in_clear(harness: Harness) -> None:
    handle = await to_payment(harness)
    await pay(harness, handle)
    await until(handle, lambda v: v.state.stage == "theory")
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
    await handle.result()
    raw = await stored(handle)
    assert personal_in(raw) == []
    assert b"binary/encrypted" in raw
    await keep_history(handle, "paid_then_withdrawn", CODEC_HISTORIES)


class RotatingCodec(EncryptionCodec):
    """The platform's codec whose ring is swapped mid-test, as every process is restarted with
    the rotated XUEJIA_CODEC_KEYS."""

    def rotate(self, keys: str) -> None:
        self._ring = KeyRing.parse(keys)


@pytest.fixture
async def rotating() -> AsyncIterator[tuple[WorkflowEnvironment, RotatingCodec]]:
    codec = RotatingCodec(KeyRing.parse(PRE_ROTATION_KEY))
    converter = dataclasses.replace(data_converter(Settings(demo_mode=True)), payload_codec=codec)
    env = await servers.time_skipping_env(converter)
    yield env, codec
    await env.shutdown()


async def test_journey_begun_before_a_rotation_runs_on_after_it(
    rotating: tuple[WorkflowEnvironment, RotatingCodec], tmp_path: Path
) -> None:
    env, codec = rotating
    async with running_harness(env, tmp_path) as h:
        handle = await to_health_check(h, journey_input())
        await pass_health(h, handle)
        # The new key in front, the old one kept: the journey's first events stay readable.
        codec.rotate(f"{DEMO_CODEC_KEYS},{PRE_ROTATION_KEY}")
        await until(handle, lambda v: v.state.stage == "signing")
        await handle.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school1"))
        await until(handle, lambda v: v.state.contract.preview_sha256 != "")
        await handle.execute_update(LearnerJourney.sign_contract, SignContract("iVBORw0KGgo="))
        await handle.execute_update(LearnerJourney.withdraw, Withdraw("换城市"))
        result = await handle.result()
        assert result.status == "withdrawn"
        raw = await stored(handle)
        assert b"before-rotation" in raw and b"demo-1" in raw  # both keys sealed its events
        assert personal_in(raw) == []
        await keep_history(handle, "begun_before_key_rotation", CODEC_HISTORIES)
