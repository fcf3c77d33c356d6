"""Passwords (PBKDF2) and access tokens (JWT) for the three ports."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from core.config import DEMO_PASSWORD

_ITERATIONS = 200_000


def hash_password(password: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _ITERATIONS)
    return f"pbkdf2${_ITERATIONS}${salt}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


def signs_in(password: str, stored: str, demo_mode: bool) -> bool:
    """The password is right, and outside demo mode it is not the demo's: the accounts demo mode
    seeds (all with the demo password, which is in the repository) cannot sign in elsewhere."""
    if not demo_mode and hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode()):
        return False
    return verify_password(password, stored)


def create_token(claims: dict[str, Any], secret: str, minutes: int) -> str:
    payload = {**claims, "exp": datetime.now(UTC) + timedelta(minutes=minutes)}
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_token(token: str, secret: str) -> dict[str, Any]:
    """Raises jwt.InvalidTokenError for a forged, malformed or expired token, and for one
    without an expiry or a subject: a token that never expires is never accepted."""
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
