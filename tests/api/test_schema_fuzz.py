"""Schemathesis against every operation of the API, in-process: no answer is a server error and
every documented answer matches its schema.

Each port is called with a token of its role, and the path and the JSON body carry real ids (the
learner's own journey, running under a worker so queries and update validators answer, and
review; the school, its coach, vehicle, ground and health centre, a published slot), so requests
reach the handlers and the checks behind validation instead of stopping at 401, 403, 404 or "no
such coach". Dates include the ends of the calendar and the coming hours (see `_moments`).
Webhooks are called unsigned: 401 is their answer, and it must not be a 500. Booking and record
ids stay generated: a journey that never leaves sign-up has none.

`make test` runs a few derandomized examples per operation; `make fuzz`
(XUEJIA_HYPOTHESIS_PROFILE=fuzz) runs many more, freshly random, with schemathesis's boundary
cases (its coverage phase) on top. Status codes are not checked against the schema yet: it
documents only 200/201/422, so every 401, 404 and 409 would fail.
"""

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.records import RecordActivities
from api.main import create_app
from core.config import Settings
from core.db import engine_for
from core.idcard import check_char
from core.security import create_token
from evaluation.reviews import NewReview, record_review
from models.training import CHINA
from models.users import Role
from tests.api.conftest import add_learner
from tests.api.conftest import test_settings as api_settings
from tests.api.live_api import BASE_URL, LiveApi
from tests.factories import journey_projection

FUZZ = os.environ.get("XUEJIA_HYPOTHESIS_PROFILE") == "fuzz"
SCHOOL = "S371100001"
COACH = f"{SCHOOL}-K1"
# The school's own ids, in a path or a body, where schemathesis would send random strings.
SCHOOL_IDS = {
    "school_id": SCHOOL,
    "coach_id": COACH,
    "vehicle_id": f"{SCHOOL}-V1",
    "ground_id": f"{SCHOOL}-G1",
    "centre_id": "H371100001",
}
# Who calls each port besides the learner: the school's staff, its city's regulator, ops.
PORT_USERS = {
    "/api/school/": ("U-school1", Role.school_staff),
    "/api/gov/": ("U-rizhao", Role.regulator),
    "/api/ops/": ("U-ops", Role.ops),
}
UNAUTHENTICATED = ("/api/auth/token", "/api/webhooks/")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Operations that call a subsystem this world does not run: 503 (unavailable) is their honest
# answer, and any other 5xx still fails.
NEEDS_A_SUBSYSTEM = ("/api/ops/journeys/{wf_id}/resend-callback",)
CHECKS_WITHOUT_5XX = [c for c in CHECKS if c is not not_a_server_error]


def _moments() -> st.SearchStrategy[datetime]:
    """Aware times of every kind, with more of two than schemathesis's own date-times give:
    the ends of the calendar at the widest offsets (where date arithmetic overflows), and the
    coming hours (a slot must start on the hour, in the future), so requests pass validation
    and reach the code behind it."""
    offsets = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
    ends = [datetime.min.replace(tzinfo=tz) for tz in offsets] + [
        datetime.max.replace(minute=0, second=0, microsecond=0, tzinfo=tz) for tz in offsets
    ]
    next_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    coming = st.integers(0, 24 * 60).map(lambda n: next_hour + timedelta(hours=n))
    anything = st.datetimes(timezones=st.sampled_from(offsets))
    return st.one_of(anything, st.sampled_from(ends), coming)


schemathesis.openapi.format("date-time", _moments().map(datetime.isoformat))
schemathesis.openapi.format(
    "date", st.one_of(st.dates(), st.sampled_from([date.min, date.max])).map(date.isoformat)
)

schema = schemathesis.openapi.from_dict(
    create_app(Settings()).openapi(),
    config=schemathesis.Config.from_dict(
        {
            # A fixed seed in `make test`, so a failure there is the same failure on a rerun.
            **({} if FUZZ else {"seed": 8}),
            "phases": {
                "examples": {"enabled": False},  # the schema has none
                # Every method the path lacks answers 405 from the router: no handler is reached.
                "coverage": {"enabled": FUZZ, "unexpected-methods": []},
            },
        }
    ),
)


@dataclass
class World:
    """The API, a token per port, a slot the school published, and a consultation and a
    complaint of another learner's, at the school."""

    live: LiveApi
    tokens: dict[str, str]  # by path prefix
    slot_id: str
    consultation_id: str
    complaint_id: str


@dataclass
class Caller:
    """One test's learner and their journey at sign-up (terminated at teardown)."""

    token: str
    wf_id: str
    review_id: str  # the learner's review of the school


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(settings: Settings, user_id: str, role: Role) -> str:
    """The token login would give, without paying for the password hash on every test."""
    return create_token(
        {"sub": user_id, "role": role.value}, settings.jwt_secret, settings.jwt_minutes
    )


_id_numbers = itertools.count()


def fresh_id_number() -> str:
    """A valid ID number no other learner of this module holds, of someone born in 1995."""
    n = next(_id_numbers)
    first17 = f"11010519950{n % 9 + 1}{n // 9 % 28 + 1:02d}{n // 252 % 1000:03d}"
    return first17 + check_char(first17)


def publish_slot(live: LiveApi, token: str) -> str:
    start = (datetime.now(CHINA) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    body = {
        "subject": "field",
        **{k: SCHOOL_IDS[k] for k in ("coach_id", "vehicle_id", "ground_id")},
        "start": start.isoformat(),
        "hours": 1,
    }
    r = live.request("POST", "/api/school/slots", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def world(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # With the demo's history and its first index publication, so the index's reads answer.
    settings = api_settings(tmp_path_factory.mktemp("fuzz"), demo_history=True)
    address = dev_env.client.service_client.config.target_host
    with LiveApi(settings, address, dev_env.client.namespace) as live:
        tokens = {port: mint(settings, *user) for port, user in PORT_USERS.items()}
        slot_id = publish_slot(live, tokens["/api/school/"])
        yield World(live, tokens, slot_id, *consultation_and_complaint(live))


def project(live: LiveApi, wf_id: str, learner_id: str) -> None:
    """The journey's read-model row, as its first projection would write it (no activities run
    here), so routes that start from the read model find the journey."""
    writer = RecordActivities(engine_for(live.settings.database_url))
    writer.project_journey(journey_projection(wf_id, learner_id))


def consultation_and_complaint(live: LiveApi) -> tuple[str, str]:
    learner_id = f"U-{add_learner(live.settings.database_url, '!')}"
    headers = bearer(mint(live.settings, learner_id, Role.learner))
    asked = live.request(
        "POST",
        "/api/learner/consultations",
        json={"school_id": SCHOOL, "question": "周末可以练车吗？"},
        headers=headers,
    )
    assert asked.status_code == 201, asked.text
    wf_id = f"journey-{learner_id}-{SCHOOL}-C1"
    project(live, wf_id, learner_id)
    filed = live.request(
        "POST",
        "/api/learner/complaints",
        json={"journey_id": wf_id, "category": "fees", "content": "额外收费"},
        headers=headers,
    )
    assert filed.status_code == 201, filed.text
    return asked.json()["id"], filed.json()["id"]


@pytest.fixture
def caller(world: World) -> Iterator[Caller]:
    live = world.live
    # No password: the test mints the token.
    learner_id = f"U-{add_learner(live.settings.database_url, '!')}"
    token = mint(live.settings, learner_id, Role.learner)
    enrolment = {
        "school_id": SCHOOL,
        "coach_id": COACH,
        "vehicle_class": "C1",
        "name": "张三",
        "phone": "13800138000",
        "id_number": fresh_id_number(),
        "lat": 35.42,
        "lon": 119.52,
    }
    r = live.request("POST", "/api/learner/journeys", json=enrolment, headers=bearer(token))
    assert r.status_code == 201, r.text
    wf_id = r.json()["workflow_id"]
    project(live, wf_id, learner_id)
    yield Caller(token, wf_id, seed_review(live.settings, learner_id, wf_id))
    live.run(live.temporal.get_workflow_handle(wf_id).terminate("fuzz test done"))


def seed_review(settings: Settings, learner_id: str, wf_id: str) -> str:
    """A review of the school by the learner, as the journey would have written it."""
    review_id = f"R{learner_id[2:]}"
    review = NewReview(
        review_id, wf_id, learner_id, SCHOOL, COACH, "theory", 4, 5, "讲解清楚", datetime.now(UTC)
    )
    with Session(engine_for(settings.database_url)) as session:
        record_review(session, review)
    return review_id


def use_real_ids(case: schemathesis.Case, ids: dict[str, str]) -> None:
    """Puts real ids where the case names them: in the path, and in a JSON body wherever the
    generated value is a string (a value of the wrong type stays, so that refusal is tried)."""
    path = case.path_parameters or {}
    body = case.body if isinstance(case.body, dict) else {}
    for values in (path, body):
        for name, value in values.items():
            if name in ids and (values is path or isinstance(value, str)):
                values[name] = ids[name]


def token_for(path: str, world: World, caller: Caller) -> str | None:
    if path.startswith(UNAUTHENTICATED):
        return None
    port = next((p for p in world.tokens if path.startswith(p)), None)
    return world.tokens[port] if port else caller.token


@schema.parametrize()
@settings(
    derandomize=not FUZZ,
    database=None,
    deadline=None,
    # One learner and journey per operation, not per example, on purpose; requests are slow.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_within_its_schema(
    case: schemathesis.Case, world: World, caller: Caller
) -> None:
    ids = {
        **SCHOOL_IDS,
        "wf_id": caller.wf_id,
        "journey_id": caller.wf_id,
        "slot_id": world.slot_id,
        "consultation_id": world.consultation_id,
        "complaint_id": world.complaint_id,
        "review_id": caller.review_id,
    }
    use_real_ids(case, ids)
    token = token_for(case.path, world, caller)
    if token is not None:
        case.headers = {**(case.headers or {}), **bearer(token)}
    # requests encodes the case as schemathesis's own transport would; httpx carries it in-process.
    sent = requests.Request(**case.as_transport_kwargs(base_url=BASE_URL)).prepare()
    response = world.live.request(
        sent.method or "", sent.url or "", headers=dict(sent.headers), content=sent.body
    )
    unavailable = case.path in NEEDS_A_SUBSYSTEM and response.status_code == 503
    case.validate_response(response, checks=CHECKS_WITHOUT_5XX if unavailable else CHECKS)
