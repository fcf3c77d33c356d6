"""Webhook signatures: verify() answers False for any header value, never raises."""

import time

import pytest

from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

BODY = b'{"event": "x"}'
SECRET = "s3cret"


def test_a_genuine_signature_verifies() -> None:
    headers = sign(BODY, SECRET)
    assert verify(BODY, SECRET, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])


@pytest.mark.parametrize(
    "timestamp",
    ["²", "１７００００００００", "1" * 310, "9" * 4301, "-1", " 1700000000", "1e9", ""],
    ids=[
        "superscript",
        "fullwidth",
        "310-digits",
        "4301-digits",
        "negative",
        "space",
        "exp",
        "empty",
    ],
)
def test_a_timestamp_that_is_not_ascii_unix_seconds_is_refused(timestamp: str) -> None:
    signature = sign(BODY, SECRET)[SIGNATURE_HEADER]
    assert verify(BODY, SECRET, signature, timestamp) is False


@pytest.mark.parametrize(
    "signature",
    ["é" * 64, "\u00ff", "签名", "\ud800" * 64],
    ids=["latin1", "ff", "cjk", "surrogate"],
)
def test_a_non_ascii_signature_with_a_fresh_timestamp_is_refused(signature: str) -> None:
    assert verify(BODY, SECRET, signature, str(int(time.time()))) is False
