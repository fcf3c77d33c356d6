"""HMAC signatures on webhooks between the platform and the subsystems.

The sender signs `timestamp.body` with the shared secret; the receiver recomputes it and
refuses stale timestamps so a captured callback cannot be replayed later.
"""

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "X-Xuejia-Signature"
TIMESTAMP_HEADER = "X-Xuejia-Timestamp"
MAX_SKEW_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; str.isdigit() would take "²"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: mac, TIMESTAMP_HEADER: ts}


def verify(body: bytes, secret: str, signature: str | None, timestamp: str | None) -> bool:
    """Whether `signature` is ours over `timestamp.body` and fresh; never raises, whatever
    the headers hold (only ASCII digits of a sane length are a timestamp)."""
    if not signature or not timestamp or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = sign(body, secret, int(timestamp))[SIGNATURE_HEADER]
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
