"""The codec endpoint the Temporal Web UI calls (api/routes/codec.py): ops see payloads
decoded; every other role, and nobody, is refused; CORS only for the UI, only there."""

import base64

import pytest
from google.protobuf.json_format import MessageToDict
from sqlmodel import Session
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter

from api.accounts import open_session
from api.pages.web import SESSION_COOKIE
from api.routes.codec import ui_origin
from core.codec import KEY_ID, codec
from core.db import engine_for
from models.users import User
from tests.api.conftest import Api
from tests.factories import journey_input

DECODE, ENCODE = "/api/ops/codec/decode", "/api/ops/codec/encode"
OTHER_ROLES = ["learner1", "school1", "rizhao", "admin"]


def clear_input() -> dict[str, object]:
    """The journey input as the UI would post it, in clear (a payload before the codec)."""
    [payload] = DataConverter.default.payload_converter.to_payloads([journey_input()])
    return MessageToDict(Payloads(payloads=[payload]))


def ui(api: Api, **headers: str) -> dict[str, str]:
    return {"Origin": ui_origin(api.settings), "X-Namespace": "default", **headers}


def signed_in(api: Api, username: str) -> dict[str, str]:
    with Session(engine_for(api.settings.database_url)) as session:
        user = session.get(User, f"U-{username}")
        assert user is not None
        return {SESSION_COOKIE: open_session(session, api.settings, user)}


async def test_ops_encode_then_decode_gives_the_payload_back(api: Api) -> None:
    ops = await api.token("ops")
    sealed = await api.http.post(ENCODE, json=clear_input(), headers=ops)
    assert sealed.status_code == 200, sealed.text
    [payload] = sealed.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert "张三".encode() not in base64.b64decode(payload["data"])
    opened = await api.http.post(DECODE, json=sealed.json(), headers=ops)
    assert opened.status_code == 200, opened.text
    assert opened.json() == clear_input()


@pytest.mark.parametrize("path", [DECODE, ENCODE])
async def test_nobody_signed_in_is_refused(api: Api, path: str) -> None:
    r = await api.http.post(path, json=clear_input(), headers=ui(api))
    assert r.status_code == 401, r.text


@pytest.mark.parametrize("username", OTHER_ROLES)
@pytest.mark.parametrize("path", [DECODE, ENCODE])
async def test_every_other_role_is_refused(api: Api, path: str, username: str) -> None:
    by_token = await api.http.post(path, json=clear_input(), headers=await api.token(username))
    assert by_token.status_code == 403, by_token.text
    api.http.cookies = signed_in(api, username)
    by_cookie = await api.http.post(path, json=clear_input(), headers=ui(api))
    assert by_cookie.status_code == 403, by_cookie.text


async def test_ops_session_cookie_counts_only_on_a_call_from_the_ui(api: Api) -> None:
    """What the Web UI sends (include credentials): the pages' cookie, the UI's origin."""
    api.http.cookies = signed_in(api, "ops")
    sealed = await codec(api.settings).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"13800138000"')]
    )
    body = MessageToDict(Payloads(payloads=sealed))
    from_ui = await api.http.post(DECODE, json=body, headers=ui(api))
    assert from_ui.status_code == 200, from_ui.text
    assert base64.b64decode(from_ui.json()["payloads"][0]["data"]) == b'"13800138000"'
    elsewhere = await api.http.post(DECODE, json=body, headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 401
    no_origin = await api.http.post(DECODE, json=body)
    assert no_origin.status_code == 401


async def test_preflight_opens_the_codec_to_the_ui_only(api: Api) -> None:
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    r = await api.http.options(DECODE, headers={"Origin": ui_origin(api.settings), **ask})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ui_origin(api.settings)
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in r.headers["access-control-allow-headers"].lower()
    stranger = await api.http.options(DECODE, headers={"Origin": "https://evil.example", **ask})
    assert "access-control-allow-origin" not in stranger.headers
    # Every other route stays closed to the UI's origin.
    other = await api.http.options("/api/ops/stuck", headers={"Origin": ui_origin(api.settings)})
    assert "access-control-allow-origin" not in other.headers


async def test_a_payload_it_cannot_open_is_a_4xx_naming_payloads(api: Api) -> None:
    ops = await api.token("ops")
    [sealed] = await codec(api.settings).encode([Payload(data=b'"x"')])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    tampered = await api.http.post(
        DECODE, json=MessageToDict(Payloads(payloads=[sealed])), headers=ops
    )
    assert (
        tampered.status_code == 422 and "payloads" in tampered.text and "altered" in tampered.text
    )
    sealed.metadata[KEY_ID] = b"gone-1"
    unknown = await api.http.post(
        DECODE, json=MessageToDict(Payloads(payloads=[sealed])), headers=ops
    )
    assert unknown.status_code == 422 and "gone-1" in unknown.text
    bad = await api.http.post(DECODE, json={"payloads": [{"data": "%%%"}]}, headers=ops)
    assert bad.status_code == 422 and "payloads" in bad.text
