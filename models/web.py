"""What the pages' sign-in keeps: browser sessions, one-time SMS codes, and the attempts that
rate limits count."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256, so a
    leaked table signs nobody in; signing out deletes the row."""

    token_sha256: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    created_at: datetime
    expires_at: datetime


class SmsCode(SQLModel, table=True):
    """A one-time code sent to a phone: valid until it expires, is used, or is guessed at too
    often."""

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(index=True, max_length=11)
    code_sha256: str = Field(max_length=64)
    sent_at: datetime
    expires_at: datetime
    failed_attempts: int = 0
    used: bool = False


class AuthAttempt(SQLModel, table=True):
    """One counted event (a code sent, a failed sign-in) by what it is counted under."""

    __table_args__ = (sa.Index("ix_authattempt_kind_subject_at", "kind", "subject", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # code_phone | code_ip | login_user | login_ip
    subject: str = Field(max_length=64)  # the phone, the address or the username
    at: datetime
