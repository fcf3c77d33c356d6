"""A hand-drawn signature that is not an image, or too large, is refused before anything runs."""

import io

import pytest
from PIL import Image

from tests.api.conftest import Api

URL = "/api/learner/journeys/journey-U-learner1-S371100001-C1/contract/signature"


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not an image",
        png(400, 150),  # blank: no ink
        png(20, 10),  # too small to be a signature
        b"\x89PNG" + b"0" * (600 * 1024),  # over 512 KiB
    ],
)
async def test_bad_signature_is_a_422_naming_the_field(api: Api, data: bytes) -> None:
    headers = await api.token("learner1")
    r = await api.http.post(
        URL, files={"signature": ("sig.png", data, "image/png")}, headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "signature"]


async def test_missing_signature_is_a_422(api: Api) -> None:
    r = await api.http.post(URL, headers=await api.token("learner1"))
    assert r.status_code == 422
