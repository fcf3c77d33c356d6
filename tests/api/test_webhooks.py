"""Subsystem callbacks: only a signature over the very body, made with that subsystem's own
secret and fresh, is accepted; a signed payload with impossible data is a 422 naming the field,
never a 500."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.records import JourneyProjection, RecordActivities
from api import nonces
from api.main import create_app
from core.config import DEMO_WEBHOOK_SECRETS, WEBHOOK_SUBSYSTEMS, Settings
from core.db import engine_for, migrate
from core.signing import MAX_SKEW_SECONDS, SIGNATURE_HEADER, sign
from models.demo import load_demo_data
from models.webhooks import WebhookNonce
from tests.api import conftest
from tests.api.conftest import Api
from tests.factories import production_secrets
from workflows.journey_state import JourneyState, JourneyView, PaymentOrder, Stage, Status

NOW = "2026-11-23T08:00:00+08:00"
GOOD = {
    "bank": {
        "event": "payment.succeeded",
        "order_id": "o-1",
        "payer_ref": "journey-nobody",
        "account_id": "ESC-S371100001",
        "amount_fen": 100,
        "channel": "alipay",
        "bank_txn_id": "T1",
        "paid_at": NOW,
    },
    "health": {
        "event": "health.result",
        "booking_id": "b-1",
        "learner_ref": "journey-nobody",
        "passed": True,
        "examined_at": NOW,
    },
    "timing": {
        "event": "training.record",
        "record_no": "R1",
        "session_id": "S1",
        "journey_ref": "journey-nobody",
        "subject": "field",
        "mode": "practical",
        "start": NOW,
        "end": "2026-11-23T10:00:00+08:00",
        "valid_minutes": 120,
    },
    "exam": {
        "event": "exam.result",
        "booking_id": "e-1",
        "journey_ref": "journey-nobody",
        "subject": 2,
        "exam_date": "2026-11-23",
        "attempts": [{"score": 90, "passed": True}],
        "passed": True,
    },
    "complaints": {
        "event": "complaint.handling",
        "event_id": "ev-1",
        "case_no": "12328-371100-00000001",
        "complaint_ref": "CP-of-journey-nobody",
        "kind": "accepted",
        "at": NOW,
    },
}


async def post(api: Api, kind: str, body: bytes, headers: dict[str, str]) -> int:
    r = await api.http.post(f"/api/webhooks/{kind}", content=body, headers=headers)
    return r.status_code


@pytest.mark.parametrize("kind", GOOD)
async def test_a_fresh_timestamp_does_not_make_a_wrong_signature_right(api: Api, kind: str) -> None:
    body = json.dumps(GOOD[kind]).encode()
    secret = api.settings.webhook_secrets()[kind]
    forged = {**sign(body, secret), SIGNATURE_HEADER: "0" * 64}
    assert await post(api, kind, body, forged) == 401
    other_secret = sign(body, "not-the-secret")
    assert await post(api, kind, body, other_secret) == 401
    # Signed, then changed on the way: the signature no longer fits the body.
    changed = body.replace(b"journey-nobody", b"journey-someone")
    assert await post(api, kind, changed, sign(body, secret)) == 401
    # The genuine callback gets past the signature (its journey does not exist: 404).
    assert await post(api, kind, body, sign(body, secret)) == 404


@pytest.mark.parametrize("kind", GOOD)
async def test_another_subsystems_key_forges_nothing(api: Api, kind: str) -> None:
    """A health centre's key cannot sign a bank payment, nor any subsystem's key another's
    callback: each endpoint checks its own subsystem's secret only."""
    body = json.dumps(GOOD[kind]).encode()
    secrets = api.settings.webhook_secrets()
    assert len(set(secrets.values())) == len(WEBHOOK_SUBSYSTEMS)
    for other in WEBHOOK_SUBSYSTEMS:
        expected = 404 if other == kind else 401
        assert await post(api, kind, body, sign(body, secrets[other])) == expected, other


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("bank", {"amount_fen": 0}, "amount_fen"),
        ("bank", {"amount_fen": 10**12}, "amount_fen"),
        ("bank", {"paid_at": "2026-11-23T08:00:00"}, "paid_at"),
        ("bank", {"order_id": "x" * 200}, "order_id"),
        ("health", {"examined_at": "2026-11-23T08:00:00"}, "examined_at"),
        ("health", {"passed": "yes"}, "passed"),
        ("timing", {"start": "2026-11-23T08:00:00"}, "start"),
        ("timing", {"valid_minutes": -5}, "valid_minutes"),
        ("timing", {"valid_minutes": 100_000}, "valid_minutes"),
        ("timing", {"subject": "flying"}, "subject"),
        ("timing", {"mode": "teleport"}, "mode"),
        ("exam", {"subject": 9}, "subject"),
        ("exam", {"exam_date": "yesterday"}, "exam_date"),
        ("exam", {"permit_issued_at": "2026-13-01"}, "permit_issued_at"),
        ("exam", {"attempts": [{"score": 101, "passed": True}]}, "score"),
        ("complaints", {"at": "2026-11-23T08:00:00"}, "at"),
        ("complaints", {"note": "x" * 501}, "note"),
    ],
)
async def test_impossible_callback_data_is_a_422_naming_the_field(
    api: Api, kind: str, change: dict, field: str
) -> None:
    body = json.dumps({**GOOD[kind], **change}).encode()
    r = await api.http.post(
        f"/api/webhooks/{kind}",
        content=body,
        headers=sign(body, api.settings.webhook_secrets()[kind]),
    )
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"][0]["loc"], r.text


def test_outside_demo_mode_each_subsystem_needs_its_own_secret() -> None:
    own = production_secrets()
    base = {"demo_mode": False}
    assert Settings(**base, **own).webhook_secrets()["bank"] == "bank-secret-0123456789"
    with pytest.raises(ValueError, match="XUEJIA_HEALTH_WEBHOOK_SECRET must be set"):
        Settings(**base, **{**own, "health_webhook_secret": DEMO_WEBHOOK_SECRETS["health"]})
    with pytest.raises(ValueError, match="its own"):
        Settings(**base, **{**own, "health_webhook_secret": own["bank_webhook_secret"]})


# Where each callback names its journey.
JOURNEY_FIELD = {"bank": "payer_ref", "health": "learner_ref", "timing": "journey_ref"}
JOURNEY_FIELD["exam"] = "journey_ref"


async def signals(env: WorkflowEnvironment, workflow_id: str) -> int:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    signalled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return sum(1 for e in history.events if e.event_type == signalled)


@pytest.mark.parametrize("kind", JOURNEY_FIELD)
async def test_a_replayed_callback_is_refused_and_signals_nothing(
    api: Api, dev_env: WorkflowEnvironment, kind: str
) -> None:
    """The very same delivery sent again, within the signature's time window, is a 409 and
    reaches no journey; the subsystem's own retry (a new delivery, a new nonce) still lands."""
    # A journey nobody works on: its signals stay in its history, to be counted.
    wf_id = f"journey-{uuid.uuid4().hex}"
    await dev_env.client.start_workflow("LearnerJourney", id=wf_id, task_queue=wf_id)
    try:
        body = json.dumps({**GOOD[kind], JOURNEY_FIELD[kind]: wf_id}).encode()
        secret = api.settings.webhook_secrets()[kind]
        delivery = sign(body, secret)
        assert await post(api, kind, body, delivery) == 200
        replayed = await api.http.post(f"/api/webhooks/{kind}", content=body, headers=delivery)
        assert (replayed.status_code, replayed.json()["code"]) == (409, "replayed_callback")
        assert await signals(dev_env, wf_id) == 1
        assert await post(api, kind, body, sign(body, secret)) == 200
        assert await signals(dev_env, wf_id) == 2
    finally:
        await dev_env.client.get_workflow_handle(wf_id).terminate()


class ClosedJourneys:
    """Stands in for the Temporal client when every journey has ended: signals find nothing,
    and the late-payment refunds started are kept to be looked at."""

    def __init__(self) -> None:
        self.started: list[Any] = []

    def get_workflow_handle(self, workflow_id: str) -> "ClosedJourneys":
        return self

    async def signal(self, signal: Any, arg: Any) -> None:
        raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")

    async def start_workflow(self, run: Any, arg: Any, **options: Any) -> None:
        self.started.append(arg)


@pytest.fixture
async def closed(tmp_path: Path) -> AsyncIterator[tuple[Api, ClosedJourneys]]:
    settings = conftest.test_settings(tmp_path)
    migrate(settings.database_url)
    with Session(engine_for(settings.database_url)) as session:
        load_demo_data(session)  # the journeys' schools and learners
    temporal = ClosedJourneys()
    app = create_app(settings, temporal=temporal)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Api(app, http, settings), temporal


def closed_with_orders(api: Api, *statuses: str) -> str:
    """A withdrawn journey as its last write left it, with orders pay-1, pay-2, ... of these
    statuses."""
    learner_id = "U-" + api.add_learner()
    wf_id = f"journey-{learner_id}-S371100001-C1"
    at = datetime(2026, 11, 2, 8, tzinfo=UTC)
    orders = [
        PaymentOrder(f"{wf_id}:pay-{n}", "alipay", 574000, "", at, status=status)
        for n, status in enumerate(statuses, 1)
    ]
    state = JourneyState(stage=Stage.closed, status=Status.withdrawn, orders=orders)
    view = JourneyView(wf_id, learner_id, "S371100001", "371100", "C1", "", state)
    RecordActivities(engine_for(api.settings.database_url)).project_journey(
        JourneyProjection(
            wf_id, learner_id, "S371100001", "371100", "C1", "", "closed", "withdrawn",
            "nobody", at, at, "", 5, closed_view=view,
        )
    )  # fmt: skip
    return wf_id


async def test_a_late_payment_is_checked_against_the_journeys_orders(
    closed: tuple[Api, ClosedJourneys],
) -> None:
    """For a journey that has ended: a payment for an order it refused (and handed back)
    starts no refund; any other, even for an order it never made, is refunded as paid from the
    account the bank says it was paid into, not the one it should have been."""
    api, temporal = closed
    wf_id = closed_with_orders(api, "expired", "refused")

    async def late(order_id: str) -> httpx.Response:
        event = {**GOOD["bank"], "payer_ref": wf_id, "order_id": order_id}
        event |= {"account_id": "ESC-S371100002", "amount_fen": 1}
        body = json.dumps(event).encode()
        headers = sign(body, api.settings.bank_webhook_secret)
        return await api.http.post("/api/webhooks/bank", content=body, headers=headers)

    assert (await late(f"{wf_id}:pay-2")).json() == {"status": "refused"}
    assert temporal.started == []
    for order_id in (f"{wf_id}:pay-1", "opened-outside-1"):
        assert (await late(order_id)).json() == {"status": "refunding"}
    assert [(p.order_id, p.account_id, p.amount_fen) for p in temporal.started] == [
        (f"{wf_id}:pay-1", "ESC-S371100002", 1),
        ("opened-outside-1", "ESC-S371100002", 1),
    ]


class TemporalDownOnce:
    """Stands in for the Temporal client: the first signal fails as if the engine were down,
    the next ones land."""

    def __init__(self) -> None:
        self.signalled: list[Any] = []
        self.failures_left = 1

    def get_workflow_handle(self, workflow_id: str) -> "TemporalDownOnce":
        return self

    async def signal(self, signal: Any, arg: Any) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RPCError("engine unavailable", RPCStatusCode.UNAVAILABLE, b"")
        self.signalled.append(arg)


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[tuple[Api, TemporalDownOnce]]:
    settings = conftest.test_settings(tmp_path)
    migrate(settings.database_url)
    temporal = TemporalDownOnce()
    app = create_app(settings, temporal=temporal)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Api(app, http, settings), temporal


async def test_a_delivery_that_met_an_outage_lands_when_sent_again(
    flaky: tuple[Api, TemporalDownOnce],
) -> None:
    """Its nonce was taken, then Temporal was down (503): the nonce is given back, so the same
    delivery sent again is taken, not refused as a replay; once taken, it is."""
    api, temporal = flaky
    body = json.dumps(GOOD["health"]).encode()
    delivery = sign(body, api.settings.health_webhook_secret)
    assert await post(api, "health", body, delivery) == 503
    assert temporal.signalled == []
    assert await post(api, "health", body, delivery) == 200
    assert await post(api, "health", body, delivery) == 409
    assert len(temporal.signalled) == 1


def test_a_nonce_is_taken_once_and_pruned_when_its_window_has_passed(tmp_path: Path) -> None:
    settings = conftest.test_settings(tmp_path)
    migrate(settings.database_url)
    now = int(time.time())
    with Session(engine_for(settings.database_url)) as session:
        # Signed two windows ago: its signature is refused now, so the nonce may go.
        assert nonces.take(session, "bank", "old-nonce-0000000", now - 2 * MAX_SKEW_SECONDS)
        assert nonces.take(session, "bank", "new-nonce-0000000", now)
        assert not nonces.take(session, "bank", "new-nonce-0000000", now)
        # The same nonce from another subsystem is that subsystem's own.
        assert nonces.take(session, "health", "new-nonce-0000000", now)
        kept = session.exec(select(WebhookNonce.subsystem, WebhookNonce.nonce)).all()
        assert sorted(kept) == [("bank", "new-nonce-0000000"), ("health", "new-nonce-0000000")]
