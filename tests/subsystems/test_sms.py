"""The SMS gateway simulator: what the platform sends is kept, listed per phone and shown on
the demo inbox page."""

from collections.abc import AsyncIterator

import httpx
import pytest

from subsystems import sms
from tests.subsystems.helpers import SECRET


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    app = sms.create_app(":memory:", SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sms"
    ) as client:
        yield client
    await app.state.sim.aclose()


async def test_messages_are_kept_per_phone_newest_first(gateway: httpx.AsyncClient) -> None:
    for phone, text in (
        ("13900000001", "验证码 111111"),
        ("13900000002", "验证码 222222"),
        ("13900000001", "验证码 333333"),
    ):
        r = await gateway.post("/messages", json={"phone": phone, "text": text})
        assert r.status_code == 201
    r = await gateway.get("/messages", params={"phone": "13900000001"})
    assert [m["text"] for m in r.json()] == ["验证码 333333", "验证码 111111"]
    page = (await gateway.get("/inbox")).text
    assert page.index("333333") < page.index("222222") < page.index("111111")


async def test_a_bad_phone_or_an_empty_text_is_refused(gateway: httpx.AsyncClient) -> None:
    for body in ({"phone": "12345", "text": "x"}, {"phone": "13900000001", "text": ""}):
        r = await gateway.post("/messages", json=body)
        assert r.status_code == 422
    r = await gateway.get("/inbox", params={"phone": "<script>"})
    assert r.status_code == 422
