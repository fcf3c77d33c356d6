"""Input that cannot be right is a 4xx naming the field, in Chinese with a stable code, and never
a 500: non-finite numbers, broken Unicode, dates and numbers out of any sane range, headers
that are not what a subsystem sends, and data that would be accepted but is wrong.

These run the app alone: Temporal is a stand-in that fails the test if anything reaches it,
so every refusal here is made before a journey is asked or started.
"""

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from api.journeys import ApplicantData, check_age
from api.main import create_app
from core.db import engine_for, migrate
from core.signing import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from models.demo import load_demo_data
from models.training import CHINA
from models.users import User
from tests.api.conftest import Api
from tests.api.conftest import test_settings as settings_in
from tests.api.test_training_routes import ENROLMENT, SCHOOL
from tests.api.test_webhooks import GOOD as WEBHOOK_BODIES
from tests.factories import VALID_ID, policy
from tests.test_idcard import ARABIC_INDIC, FULLWIDTH, make_id, to_arabic_indic, to_fullwidth

SLOT = {
    "subject": "field",
    "kind": "car",
    "coach_id": f"{SCHOOL}-K1",
    "vehicle_id": f"{SCHOOL}-V1",
    "ground_id": f"{SCHOOL}-G1",
    "start": "2030-01-02T09:00:00+08:00",
    "hours": 2,
}
LEAVE = {"start": "2030-01-02T00:00:00+08:00", "end": "2030-01-03T00:00:00+08:00", "reason": "病假"}
JOURNEY = "/api/learner/journeys/journey-U-learner1-S371100001-C1"
USERS = {"learner": "learner1", "staff": "school1", "ops": "ops"}
CJK = re.compile("[\u4e00-\u9fff]")


class NoTemporal:
    """Stands in for the Temporal client: a request that reaches it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the request reached Temporal ({name})")


@pytest.fixture(scope="module")
async def app_only(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """One app and database for the module: each test that enrols brings its own learner."""
    settings = settings_in(tmp_path_factory.mktemp("inputs"))
    migrate(settings.database_url)
    with Session(engine_for(settings.database_url)) as session:
        load_demo_data(session)
    app = create_app(settings, temporal=NoTemporal())  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Api(app, http, settings)


def years_ago(years: int) -> date:
    """The birth date that makes one `years` old today (a 29 February birthday counts from
    1 March); the age rule counts in China time."""
    today = datetime.now(CHINA).date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 3, 1)


def raw(body: dict[str, Any], field: str, literal: str) -> bytes:
    """`body` as JSON with `field` set to a literal no JSON encoder would write."""
    return json.dumps({**body, field: "@@"}).replace('"@@"', literal).encode()


async def send(
    api: Api,
    method: str,
    path: str,
    who: str | None,
    content: bytes | None = None,
    content_type: str | None = "application/json",
    **headers: str,
) -> httpx.Response:
    if who is not None:
        headers.update(await api.token(USERS[who]))
    if content is not None and content_type is not None:
        headers["content-type"] = content_type
    return await api.http.request(method, path, content=content, headers=headers)


def assert_refused(r: httpx.Response, status: int, *loc: str | int) -> dict[str, Any]:
    """The answer is `status` in the app's one error shape, in Chinese, naming `loc`."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"} and re.fullmatch("[a-z][a-z0-9_]*", body["code"])
    problems = body["detail"] if isinstance(body["detail"], list) else []
    for message in [p["msg"] for p in problems] or [body["detail"]]:
        assert CJK.search(message), r.text
    if loc:
        assert [p for p in problems if p["loc"] == list(loc)], r.text
    return body


# ---- the requests that answered 500 --------------------------------------------------------

BODIES_5XX = [
    ("enrol-lat-NaN", "/api/learner/journeys", "learner", raw(ENROLMENT, "lat", "NaN"), "lat"),
    ("enrol-lat-Inf", "/api/learner/journeys", "learner", raw(ENROLMENT, "lat", "Infinity"), "lat"),
    ("enrol-lon--Inf", "/api/learner/journeys", "learner", raw(ENROLMENT, "lon", "-Infinity"),
     "lon"),
    ("enrol-lat-1e400", "/api/learner/journeys", "learner", raw(ENROLMENT, "lat", "1e400"), "lat"),
    ("slot-hours-Inf", "/api/school/slots", "staff", raw(SLOT, "hours", "Infinity"), "hours"),
    ("enrol-name-surrogate", "/api/learner/journeys", "learner",
     raw(ENROLMENT, "name", '"\\ud800"'), "name"),
    ("leave-reason-surrogate", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff",
     raw(LEAVE, "reason", '"\\udfff"'), "reason"),
    ("enrol-name-bad-utf8", "/api/learner/journeys", "learner",
     json.dumps(ENROLMENT, ensure_ascii=False).encode().replace("张三".encode(), b"\xff\xfe\xfd"),
     "name"),
    ("slot-start-9999", "/api/school/slots", "staff", raw(SLOT, "start", '"9999-12-31T23:00:00Z"'),
     "start"),
    ("slot-start-0001+14", "/api/school/slots", "staff",
     raw(SLOT, "start", '"0001-01-01T00:00:00+14:00"'), "start"),
    ("leave-9999", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff",
     json.dumps({**LEAVE, "start": "9999-12-31T20:00:00Z", "end": "9999-12-31T23:30:00Z"}).encode(),
     "start"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "who", "content", "field"), [c[1:] for c in BODIES_5XX], ids=[c[0] for c in BODIES_5XX]
)
async def test_a_body_that_answered_500_is_a_422_naming_the_field(
    app_only: Api, path: str, who: str, content: bytes, field: str
) -> None:
    assert_refused(await send(app_only, "POST", path, who, content), 422, "body", field)


@pytest.mark.parametrize(
    ("path", "who", "loc"),
    [
        (f"{JOURNEY}/health-centres?lat=inf&lon=119.5", "learner", ("query", "lat")),
        (f"{JOURNEY}/health-centres?lat=35.4&lon=-infinity", "learner", ("query", "lon")),
        (f"{JOURNEY}/health-centres?lat=91&lon=119.5", "learner", ("query", "lat")),
        ("/api/school/slots?from=0001-01-01T00:00:00%2B14:00", "staff", ("query", "from")),
        ("/api/school/slots?to=9999-12-31T23:59:59Z", "staff", ("query", "to")),
        ("/api/ops/stuck?older_than_seconds=100000000000", "ops", ("query", "older_than_seconds")),
    ],
)
async def test_a_query_out_of_range_is_a_422_naming_the_parameter(
    app_only: Api, path: str, who: str, loc: tuple[str, str]
) -> None:
    assert_refused(await send(app_only, "GET", path, who), 422, *loc)


def _fresh() -> str:
    return str(int(time.time()))


NONCE = {NONCE_HEADER: "0123456789abcdef"}
HEADERS_5XX = {
    "superscript-timestamp": lambda sig: {SIGNATURE_HEADER: sig, TIMESTAMP_HEADER: "²", **NONCE},
    "310-digit-timestamp": lambda sig: {
        SIGNATURE_HEADER: sig,
        TIMESTAMP_HEADER: "1" * 310,
        **NONCE,
    },
    "4301-digit-timestamp": lambda sig: {
        SIGNATURE_HEADER: sig,
        TIMESTAMP_HEADER: "1" * 4301,
        **NONCE,
    },
    "non-ascii-signature": lambda sig: {
        SIGNATURE_HEADER: "é" * 64,
        TIMESTAMP_HEADER: _fresh(),
        **NONCE,
    },
    "non-ascii-nonce": lambda sig: {
        SIGNATURE_HEADER: sig,
        TIMESTAMP_HEADER: _fresh(),
        NONCE_HEADER: "é" * 32,
    },
}


@pytest.mark.parametrize("headers", HEADERS_5XX)
@pytest.mark.parametrize("kind", WEBHOOK_BODIES)
async def test_webhook_headers_that_answered_500_are_a_401(
    app_only: Api, kind: str, headers: str
) -> None:
    body = json.dumps(WEBHOOK_BODIES[kind]).encode()
    signature = sign(body, app_only.settings.webhook_secrets()[kind])[SIGNATURE_HEADER]
    sent = {k: v.encode("latin-1") for k, v in HEADERS_5XX[headers](signature).items()}
    r = await app_only.http.post(f"/api/webhooks/{kind}", content=body, headers=sent)
    assert_refused(r, 401)


async def test_a_signed_webhook_with_a_non_finite_number_names_the_field(app_only: Api) -> None:
    body = raw(WEBHOOK_BODIES["bank"], "amount_fen", "NaN")
    r = await app_only.http.post(
        "/api/webhooks/bank",
        content=body,
        headers=sign(body, app_only.settings.bank_webhook_secret),
    )
    assert_refused(r, 422, "body", "amount_fen")


async def test_a_signed_webhook_out_of_the_date_window_names_the_field(app_only: Api) -> None:
    body = json.dumps({**WEBHOOK_BODIES["timing"], "end": "9999-12-31T23:59:59Z"}).encode()
    r = await app_only.http.post(
        "/api/webhooks/timing",
        content=body,
        headers=sign(body, app_only.settings.timing_webhook_secret),
    )
    assert_refused(r, 422, "body", "end")


@pytest.mark.parametrize(
    ("literal", "code"),
    [("NaN", "finite_number"), ("1" * 5000, "int_parsing_size"), ('"a\\u0000b"', None)],
)
async def test_what_json_cannot_carry_into_the_database_is_refused_anywhere(
    app_only: Api, literal: str, code: str | None
) -> None:
    # A field no model declares: refused by the body rule itself, not by a model.
    r = await send(app_only, "POST", "/api/school/slots", "staff", raw(SLOT, "extra", literal))
    body = assert_refused(r, 422, "body", "extra")
    assert code is None or body["detail"][0]["type"] == code


async def test_the_error_handler_never_echoes_the_input(app_only: Api) -> None:
    secret = "不要回显的内容"
    r = await send(
        app_only, "POST", "/api/learner/journeys", "learner",
        json.dumps({**ENROLMENT, "phone": secret}).encode(),
    )  # fmt: skip
    assert_refused(r, 422, "body", "phone")
    assert secret not in r.text and "input" not in r.json()["detail"][0]


# ---- media types ---------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_json_sent_as_something_else_is_a_415(app_only: Api, content_type: str) -> None:
    r = await send(
        app_only, "POST", "/api/learner/journeys", "learner",
        json.dumps(ENROLMENT).encode(), content_type,
    )  # fmt: skip
    assert_refused(r, 415)


async def test_json_sent_without_a_content_type_is_a_415(app_only: Api) -> None:
    r = await send(
        app_only, "POST", "/api/learner/journeys", "learner", b"\xff{not json", content_type=None
    )
    assert_refused(r, 415)


async def test_a_login_sent_as_json_is_a_415(app_only: Api) -> None:
    body = json.dumps({"username": "learner1", "password": "x"}).encode()
    assert_refused(await send(app_only, "POST", "/api/auth/token", None, body), 415)


async def test_a_broken_multipart_body_is_a_422_not_a_400(app_only: Api) -> None:
    r = await send(
        app_only, "POST", f"{JOURNEY}/contract/signature", "learner",
        b"--x\r\nno headers\r\n", "multipart/form-data",
    )  # fmt: skip
    assert_refused(r, 422, "body")


# ---- bad data that was accepted ------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "code"),
    [
        (date.today() + timedelta(days=30), "id_number_birth_date"),  # born next month
        (date(1800, 5, 1), "id_number_birth_date"),
        (date.today() - timedelta(days=6 * 366), "too_young"),  # a 6-year-old
        (years_ago(18) + timedelta(days=1), "too_young"),  # 18 tomorrow
    ],
    ids=["future", "1800", "six", "seventeen"],
)
async def test_the_policy_age_rule_refuses_enrolment(app_only: Api, born: date, code: str) -> None:
    me = await app_only.token(app_only.add_learner())
    body = {**ENROLMENT, "id_number": make_id(born)}
    r = await app_only.http.post("/api/learner/journeys", json=body, headers=me)
    refusal = assert_refused(r, 422, "body", "id_number")
    assert refusal["detail"][0]["type"] == code


def test_an_applicant_of_18_or_of_90_may_enrol() -> None:
    # No upper limit for C1/C2 since 2020 (policy/rizhao.yaml `ages`).
    for years in (18, 90):
        check_age(make_id(years_ago(years)), "C1", policy().ages["C1"])


NOT_NAMES = {
    "spaces": "   ",
    "zero-width": "\u200b\u200b",
    "zero-width-inside": "张\u200b三",
    "rtl-override": "\u202e张三",
    "nul": "张\u0000三",
    "bell": "张\u0007三",
    "line-separator": "张\u2028三",
    "digits": "12",
}


@pytest.mark.parametrize("name", NOT_NAMES.values(), ids=NOT_NAMES.keys())
async def test_a_name_no_person_has_is_refused(app_only: Api, name: str) -> None:
    me = await app_only.token(app_only.add_learner())
    r = await app_only.http.post(
        "/api/learner/journeys", json={**ENROLMENT, "name": name}, headers=me
    )
    assert_refused(r, 422, "body", "name")


@pytest.mark.parametrize(
    "name", ["张三", "阿依古丽·买买提", "欧阳 娜娜", "Anna-Lena O'Neil", "  李四 "]
)
def test_a_real_name_passes(name: str) -> None:
    assert ApplicantData.model_validate({**ENROLMENT, "name": name}).name == name.strip()


@pytest.mark.parametrize("typed", [FULLWIDTH, ARABIC_INDIC, VALID_ID.lower(), f" {VALID_ID} "])
def test_an_id_number_is_stored_in_its_normal_form(typed: str) -> None:
    assert ApplicantData.model_validate({**ENROLMENT, "id_number": typed}).id_number == VALID_ID


async def test_the_same_person_cannot_bind_a_second_account_with_other_digits(
    app_only: Api,
) -> None:
    number = make_id(date(1990, 5, 17), region="371102", serial="551")
    first = app_only.add_learner()
    with Session(engine_for(app_only.settings.database_url)) as session:
        user = session.exec(select(User).where(User.username == first)).one()
        user.id_number = number  # bound by an earlier enrolment, in ASCII
        session.add(user)
        session.commit()
    me = await app_only.token(app_only.add_learner())
    for typed in (to_fullwidth(number), to_arabic_indic(number), f" {number.lower()} "):
        r = await app_only.http.post(
            "/api/learner/journeys", json={**ENROLMENT, "id_number": typed}, headers=me
        )
        assert assert_refused(r, 409, "body", "id_number")["code"] == "id_number_taken"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("110105194912310²2X", "id_number_checksum"),  # was "invalid literal for int()"
        (FULLWIDTH[:17] + "１", "id_number_checksum"),  # was "check digit is wrong", in English
        ("110105194912310፩2X", "id_number_format"),
    ],
)
async def test_an_id_number_refusal_is_chinese_with_a_code(
    app_only: Api, typed: str, code: str
) -> None:
    me = await app_only.token(app_only.add_learner())
    r = await app_only.http.post(
        "/api/learner/journeys", json={**ENROLMENT, "id_number": typed}, headers=me
    )
    assert assert_refused(r, 422, "body", "id_number")["detail"][0]["type"] == code
    assert "int()" not in r.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": True}, "lat"),
        ({"lon": False}, "lon"),
        ({"lat": "35.4"}, "lat"),
        ({"lat": 90.5}, "lat"),
        ({"lon": -180.5}, "lon"),
    ],
)
async def test_a_position_must_be_a_number_on_earth(
    app_only: Api, change: dict[str, Any], field: str
) -> None:
    me = await app_only.token(app_only.add_learner())
    r = await app_only.http.post("/api/learner/journeys", json={**ENROLMENT, **change}, headers=me)
    assert_refused(r, 422, "body", field)


@pytest.mark.parametrize(
    ("query", "loc"),
    [("stage=zzz", ("query", "stage")), ("waiting_on=anyone", ("query", "waiting_on"))],
)
async def test_the_school_filters_take_only_known_values(
    app_only: Api, query: str, loc: tuple[str, str]
) -> None:
    r = await send(app_only, "GET", f"/api/school/journeys?{query}", "staff")
    assert "须为以下之一" in assert_refused(r, 422, *loc)["detail"][0]["msg"]


async def test_the_school_filters_still_filter(app_only: Api) -> None:
    r = await send(app_only, "GET", "/api/school/journeys?stage=theory&waiting_on=school", "staff")
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize(
    ("method", "path", "who", "body"),
    [
        ("GET", "/api/learner/schools", None, None),
        ("GET", "/api/ops/stuck", "learner", None),
        ("GET", "/api/nowhere", "learner", None),
        ("POST", "/api/auth/token", None, b"username=ops&password=wrong"),
        ("POST", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff", json.dumps({}).encode()),
        ("POST", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff",
         json.dumps({**LEAVE, "end": LEAVE["start"]}).encode()),
        ("POST", "/api/school/coaches/nobody/leave", "staff", json.dumps(LEAVE).encode()),
    ],
)  # fmt: skip
async def test_every_message_people_read_is_chinese(
    app_only: Api, method: str, path: str, who: str | None, body: bytes | None
) -> None:
    content_type = "application/x-www-form-urlencoded" if "token" in path else "application/json"
    r = await send(app_only, method, path, who, body, content_type)
    assert r.status_code in (401, 403, 404, 422), r.text
    assert_refused(r, r.status_code)


# ---- the contract: the OpenAPI says what the server refuses --------------------------------


async def test_every_route_with_a_body_reads_it_strictly(app_only: Api) -> None:
    """Checked before anything else, even who is calling: the wrong media type is a 415."""
    operations = [
        (method, re.sub(r"\{[^}]+\}", "x", path))
        for path, item in app_only.app.openapi()["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert len(operations) > 20
    for method, path in operations:
        r = await send(app_only, method.upper(), path, None, b"x", "text/plain")
        assert_refused(r, 415)


def test_every_operation_documents_its_errors(app_only: Api) -> None:
    schema = app_only.app.openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "415", "422"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
                    method,
                    path,
                    status,
                )
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail", "code"]


def _schema(app_only: Api, name: str) -> dict[str, Any]:
    return app_only.app.openapi()["components"]["schemas"][name]["properties"]


@pytest.mark.parametrize(
    ("model", "field", "path", "who", "body"),
    [
        ("JourneyCreate", "coach_id", "/api/learner/journeys", "learner",
         {**ENROLMENT, "coach_id": "K 1"}),
        ("JourneyCreate", "id_number", "/api/learner/journeys", "learner",
         {**ENROLMENT, "id_number": "1" * 41}),
        ("CoachChangeCreate", "reason", f"{JOURNEY}/coach-change", "learner",
         {"coach_id": f"{SCHOOL}-K2", "reason": "   "}),
        ("CoachChangeCreate", "coach_id", f"{JOURNEY}/coach-change", "learner",
         {"coach_id": " ", "reason": "时间不合适"}),
        ("TransferCreate", "school_id", f"{JOURNEY}/transfer", "learner",
         {**ENROLMENT, "reason": "搬家", "school_id": ""}),
        ("SlotCreate", "coach_id", "/api/school/slots", "staff", {**SLOT, "coach_id": ""}),
        ("LeaveCreate", "reason", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff",
         {**LEAVE, "reason": "  "}),
    ],
)  # fmt: skip
async def test_what_the_server_refuses_the_schema_refuses_too(
    app_only: Api, model: str, field: str, path: str, who: str, body: dict[str, Any]
) -> None:
    """The value breaks a length or pattern the schema states, and the server says so."""
    rules = _schema(app_only, model)[field]
    value = body[field]
    assert len(value) < rules.get("minLength", 0) or (
        len(value) > rules.get("maxLength", 10**6)
        or ("pattern" in rules and not re.search(rules["pattern"], value))
    ), rules
    assert_refused(await send(app_only, "POST", path, who, json.dumps(body).encode()), 422)


def test_the_schema_states_names_positions_and_id_numbers(app_only: Api) -> None:
    fields = _schema(app_only, "JourneyCreate")
    assert (fields["name"]["minLength"], fields["name"]["maxLength"]) == (2, 30)
    assert (fields["lat"]["minimum"], fields["lat"]["maximum"]) == (-90, 90)
    assert (fields["lon"]["minimum"], fields["lon"]["maximum"]) == (-180, 180)
    assert fields["id_number"]["minLength"] == 18
    assert _schema(app_only, "TransferCreate")["lat"] == fields["lat"]


def test_the_schema_states_the_login_form(app_only: Api) -> None:
    body = app_only.app.openapi()["paths"]["/api/auth/token"]["post"]["requestBody"]
    ref = body["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"]
    fields = app_only.app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert fields["username"]["maxLength"] == 64 and "pattern" in fields["username"]
    assert fields["password"]["maxLength"] == 128


@pytest.mark.parametrize(
    "form", [{"username": "a" * 65, "password": "x"}, {"username": "ops\x00", "password": "x"}]
)
async def test_a_login_out_of_the_schema_is_a_422(app_only: Api, form: dict[str, str]) -> None:
    r = await app_only.http.post("/api/auth/token", data=form)
    assert_refused(r, 422, "body", "username")


def test_the_schema_describes_the_signature_upload(app_only: Api) -> None:
    path = "/api/learner/journeys/{wf_id}/contract/signature"
    body = app_only.app.openapi()["paths"][path]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = app_only.app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert "PNG" in fields["signature"]["description"]


async def test_an_exam_date_out_of_the_window_is_refused(app_only: Api) -> None:
    body = json.dumps({"subject": "theory", "exam_date": "9999-12-31"}).encode()
    assert_refused(
        await send(app_only, "POST", f"{JOURNEY}/exams", "learner", body), 422, "body", "exam_date"
    )


@pytest.mark.parametrize(
    ("path", "who", "loc"),
    [
        (f"/api/learner/journeys/{'x' * 300}", "learner", ("path", "wf_id")),
        ("/api/learner/schools/S371100001%00/coaches", "learner", ("path", "school_id")),
        (f"/api/school/journeys/{'j' * 129}", "staff", ("path", "wf_id")),
    ],
)
async def test_an_id_in_the_path_is_bounded(
    app_only: Api, path: str, who: str, loc: tuple[str, str]
) -> None:
    # Before: a NUL reached the database (PostgreSQL refuses it: a 500), a long id Temporal.
    assert_refused(await send(app_only, "GET", path, who), 422, *loc)


async def test_a_signature_sent_as_text_is_refused_in_chinese(app_only: Api) -> None:
    headers = await app_only.token("learner1")
    r = await app_only.http.post(
        f"{JOURNEY}/contract/signature", data={"signature": "not a file"}, headers=headers
    )
    assert_refused(r, 422, "body", "signature")
    assert "UploadFile" not in r.text


async def test_a_c1_control_character_is_refused_like_any_other(app_only: Api) -> None:
    r = await send(app_only, "POST", f"/api/school/coaches/{SCHOOL}-K1/leave", "staff",
                   raw(LEAVE, "reason", '"\\u0085"'))  # fmt: skip
    assert_refused(r, 422, "body", "reason")
