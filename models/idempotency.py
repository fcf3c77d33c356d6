"""Idempotency keys the API has seen: a client's key for one action, bound to the request it
first came with, so the same key with another request is refused instead of answered with
the first request's result."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class IdempotencyClaim(SQLModel, table=True):
    __tablename__ = "idempotency_claim"

    # The journey Update's id, derived from (caller, action, key): the primary key is what
    # settles two requests racing with one key.
    update_id: str = Field(primary_key=True, max_length=80)
    user_id: str = Field(max_length=32)
    action: str = Field(max_length=64)
    journey_id: str = Field(max_length=128)
    fingerprint: str = Field(max_length=64)  # SHA-256 of the journey and the Update's argument
    created_at: datetime
