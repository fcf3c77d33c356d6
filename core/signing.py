"""HMAC signatures on webhooks between the platform and the subsystems.

The sender signs `timestamp.nonce.body` with the shared secret, a fresh nonce each time it
sends; the receiver recomputes it, refuses stale timestamps, and refuses a nonce it has seen
(api/nonces.py), so a captured callback can be replayed neither later nor at once.
"""

import hashlib
import hmac
import re
import secrets
import time

SIGNATURE_HEADER = "X-Xuejia-Signature"
TIMESTAMP_HEADER = "X-Xuejia-Timestamp"
NONCE_HEADER = "X-Xuejia-Nonce"
MAX_SKEW_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; str.isdigit() would take "²"
_NONCE = re.compile(r"[0-9A-Za-z_-]{16,64}")


def sign(
    body: bytes, secret: str, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The headers of one delivery: a new nonce unless one is given."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16) if nonce is None else nonce
    signed = f"{ts}.{nonce}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: mac, TIMESTAMP_HEADER: ts, NONCE_HEADER: nonce}


def verify(
    body: bytes, secret: str, signature: str | None, timestamp: str | None, nonce: str | None
) -> bool:
    """Whether `signature` is ours over `timestamp.nonce.body` and fresh; never raises, whatever
    the headers hold (only ASCII digits of a sane length are a timestamp, only a token of 16 to
    64 URL-safe characters a nonce). Whether the nonce is new is the receiver's to check."""
    if not signature or not timestamp or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if not nonce or not _NONCE.fullmatch(nonce):
        return False
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = sign(body, secret, int(timestamp), nonce)[SIGNATURE_HEADER]
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
