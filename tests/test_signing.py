"""Webhook signatures: verify() answers False for any header value, never raises."""

import time

import pytest

from core.signing import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

BODY = b'{"event": "x"}'
SECRET = "s3cret"
HEADERS = (SIGNATURE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER)
NONCE = "0123456789abcdef"


def test_a_genuine_signature_verifies() -> None:
    headers = sign(BODY, SECRET)
    assert verify(BODY, SECRET, *(headers[h] for h in HEADERS))


def test_the_nonce_is_new_each_time_and_signed() -> None:
    first, second = sign(BODY, SECRET), sign(BODY, SECRET)
    assert first[NONCE_HEADER] != second[NONCE_HEADER]
    # Another nonce under the same signature and timestamp is not what was signed.
    other = {**first, NONCE_HEADER: second[NONCE_HEADER]}
    assert verify(BODY, SECRET, *(other[h] for h in HEADERS)) is False


@pytest.mark.parametrize("nonce", [None, "", "short", "x" * 65, "签名" * 10, "a b" * 8])
def test_a_missing_or_malformed_nonce_is_refused(nonce: str | None) -> None:
    headers = sign(BODY, SECRET, nonce=nonce or "n" * 16)
    signature, timestamp = headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    assert verify(BODY, SECRET, signature, timestamp, nonce) is False


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
    signature = sign(BODY, SECRET, nonce=NONCE)[SIGNATURE_HEADER]
    assert verify(BODY, SECRET, signature, timestamp, NONCE) is False


@pytest.mark.parametrize(
    "signature",
    ["é" * 64, "\u00ff", "签名", "\ud800" * 64],
    ids=["latin1", "ff", "cjk", "surrogate"],
)
def test_a_non_ascii_signature_with_a_fresh_timestamp_is_refused(signature: str) -> None:
    assert verify(BODY, SECRET, signature, str(int(time.time())), NONCE) is False
