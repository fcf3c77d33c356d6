"""Nonces of the subsystems' callbacks, kept while their signatures could still be accepted."""

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class WebhookNonce(SQLModel, table=True):
    """A callback's nonce, taken once: the primary key is what settles two copies racing.
    `expires_at` (Unix seconds) is when its signed timestamp falls out of the window; after
    that the signature is refused anyway, and the row is pruned."""

    __tablename__ = "webhook_nonce"

    subsystem: str = Field(primary_key=True, max_length=16)
    nonce: str = Field(primary_key=True, max_length=64)
    expires_at: int = Field(sa_type=sa.BigInteger, index=True)
