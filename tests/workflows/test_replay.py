"""Recorded journey histories must replay on today's workflow code: a change that would break
running journeys (non-determinism) fails here.

before_lifecycle_patch/ holds histories recorded by the code that ran before the money-and-
lifecycle rules (workflow.patched "money-and-lifecycle-1"), before_footprint_patch/ those
recorded before the footprint rules ("journey-footprint-1", issue 9): they prove journeys
started then still replay. current/ is re-recorded with `make record-histories` when a change
is made safe for running journeys (workflow.patched) or none are running; the folder it
replaced is kept under the patch's name. complaint/ holds complaint workflows' histories,
recorded with the journeys'. codec/ holds journeys recorded through the payload codec
(encrypted; one begun under a key rotated out since): every history is read through the
platform's data converter, whose decoding passes the older, clear histories through.
payment_check/ holds journeys whose payments were checked against their orders
("payment-check-1", issue 12) and refused, recorded by test_payment_checks.py."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from core.codec import CodecError, data_converter
from core.config import Settings
from tests.servers import platform_converter
from tests.workflows.conftest import REPLAY_KEYS
from workflows.complaint import ComplaintWorkflow
from workflows.journey import LearnerJourney

ROOT = Path(__file__).parent.parent / "data" / "histories"
HISTORIES = sorted(ROOT.glob("*/*.json"))

BEFORE_PATCH = {
    "part1_health_expired",
    "part1_order_expired_and_reissued",
    "part1_paid_then_withdrawn",
    "part1_signing_lapsed",
    "part2_graduated_per_hour",
    "part2_staged_withdrawn_mid_practical",
}
BEFORE_FOOTPRINT = BEFORE_PATCH | {
    "coach_change",
    "continue_as_new_then_withdrawn",
    "disputes",
    "double_click_confirm_record",
    "double_click_payment",
    "double_click_refused_after_withdrawal",
    "failed_exams_and_retakes",
    "no_show",
    "school_cancellation_credit_clawed_back",
    "topup_cancelled_at_graduation_paid_late",
    "topup_expired",
    "transfer",
    "transferred_in",
    "withdrawn_with_session_begun_0d",
    "withdrawn_with_session_begun_2d",
}
CURRENT = BEFORE_FOOTPRINT | {"footprint_written_away", "reviews_stored"}
# complaint/: complaint workflows (workflows/complaint.py), re-recorded with the journeys.
COMPLAINT = {"overdue_answered_rated", "reopened_once_then_rated"}
# codec/: recorded by tests/workflows/test_codec_journeys.py.
CODEC = {"paid_then_withdrawn", "begun_before_key_rotation"}
# The demo ring with the key the rotation history began under.
REPLAY_CONVERTER = data_converter(Settings(demo_mode=True, codec_keys=REPLAY_KEYS))
PAYMENT_CHECK = {
    "account_differs_refused_and_returned",
    "amount_differs_refused_and_returned",
    "channel_differs_refused_and_returned",
    "found_paid_otherwise_at_expiry",
    "refused_with_nothing_held_then_paid",
    "unknown_order_refused_then_paid",
    "wrong_callback_booked_as_the_bank_took_it",
}


def test_every_expected_history_is_recorded() -> None:
    recorded = {(p.parent.name, p.stem) for p in HISTORIES}
    expected = {("before_lifecycle_patch", name) for name in BEFORE_PATCH}
    expected |= {("before_footprint_patch", name) for name in BEFORE_FOOTPRINT}
    expected |= {("current", name) for name in CURRENT}
    expected |= {("complaint", name) for name in COMPLAINT}
    expected |= {("codec", name) for name in CODEC}
    expected |= {("payment_check", name) for name in PAYMENT_CHECK}
    assert recorded == expected


@pytest.mark.parametrize("path", HISTORIES, ids=[f"{p.parent.name}/{p.stem}" for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    await replay(path, REPLAY_CONVERTER)


async def test_a_history_sealed_under_a_key_dropped_from_the_ring_does_not_replay() -> None:
    """The platform's ring without the older key: the rotation history's workflow task fails
    on the codec's error (its message sealed too, as every failure's), never replays as if
    its first events were empty."""
    with pytest.raises(RuntimeError, match=f'type: "{CodecError.__name__}"'):
        await replay(ROOT / "codec" / "begun_before_key_rotation.json", platform_converter())


async def replay(path: Path, converter: DataConverter) -> None:
    record = json.loads(path.read_text())
    history = WorkflowHistory.from_json(record["workflow_id"], record["history"])
    replayer = Replayer(workflows=[LearnerJourney, ComplaintWorkflow], data_converter=converter)
    await replayer.replay_workflow(history)
