"""Idempotency keys: a client's key for one action makes a retry of it the same journey Update.

A key is scoped by who sends it and what for: the Update id derives from (caller, action,
key), so one caller's key never answers another caller's request or another action. The
first request with a key binds it to a fingerprint of that request (the journey and the
Update's argument, as the journey receives it); the same key with another request is refused
(422) instead of being answered with the first request's result.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.converter import DataConverter

from api.errors import field_error
from models.idempotency import IdempotencyClaim
from models.users import User

HEADER = "Idempotency-Key"
# What a key may be: visible ASCII, at most 128 characters.
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"


@dataclass
class Idempotency:
    """The caller's key (if they sent one) for the action a route is about to run."""

    session: Session
    user: User
    key: str | None

    def update_id(self, journey_id: str, action: str, arg: Any) -> str:
        """The Update id for this request: fresh without a key; with one, the same for every
        retry of the same request, and refused for a different request under the key.

        Called just before the Update is sent: it ends the request's database transaction, so
        no connection is held while the journey answers."""
        try:
            return self._update_id(journey_id, action, arg)
        finally:
            self.session.commit()

    def _update_id(self, journey_id: str, action: str, arg: Any) -> str:
        if self.key is None:
            return uuid.uuid4().hex
        update_id = "key-" + _sha256(self.user.id, action, self.key)
        fingerprint = _sha256(journey_id, _payload(arg))
        claim = IdempotencyClaim(
            update_id=update_id,
            user_id=self.user.id,
            action=action,
            journey_id=journey_id,
            fingerprint=fingerprint,
            created_at=datetime.now(UTC),
        )
        if self._first_fingerprint(claim) != fingerprint:
            raise field_error(
                HEADER,
                "该 Idempotency-Key 已用于另一个请求，新的请求请换一个新的键",
                kind="idempotency_key_reused",
                where="header",
            )
        return update_id

    def _first_fingerprint(self, claim: IdempotencyClaim) -> str:
        """The fingerprint of the key's first request: this one's, unless the key was used
        before, or by a twin request that recorded it first (the primary key decides)."""
        update_id, fingerprint = claim.update_id, claim.fingerprint
        first = self.session.get(IdempotencyClaim, update_id)
        if first is None:
            self.session.add(claim)
            try:
                self.session.commit()
                return fingerprint
            except IntegrityError:
                self.session.rollback()
                first = self.session.get(IdempotencyClaim, update_id)
                assert first is not None  # the row that clashed is committed
        return first.fingerprint


def record_id(prefix: str, update_id: str) -> str:
    """The id of a record a request creates, from its `update_id`: with an Idempotency-Key a
    retry finds the record the first request made; without one, a fresh id."""
    return f"{prefix}-{update_id[-24:]}"


def _payload(arg: Any) -> bytes:
    """The Update's argument exactly as it is sent to the journey."""
    return DataConverter.default.payload_converter.to_payloads([arg])[0].data


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
