"""The escrow ledger (一账户): double entry, integers in fen, one row per bank-confirmed movement.

Each row moves `amount_fen` from `debit` to `credit`. Accounts:
- `escrow:<school>`   cash in the school's escrow account at the bank
- `held:<journey>`    what is still held for one learner
- `school:<school>`   released to the school
- `refunded:<journey>` paid back to the learner
A clawback moves money the school was paid back to the learner (school -> refunded), so
deposited = held + (release - clawback) + (refund + clawback) holds for every learner at every
moment.
"""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


class EntryKind(StrEnum):
    deposit = "deposit"
    release = "release"
    refund = "refund"
    clawback = "clawback"


class LedgerEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The bank instruction's idempotency key: a retried posting is a no-op, never a double.
    idempotency_key: str = Field(unique=True, max_length=160)
    journey_id: str = Field(index=True, max_length=128)
    school_id: str = Field(index=True, max_length=32)
    kind: EntryKind
    amount_fen: int
    debit: str = Field(max_length=160)
    credit: str = Field(max_length=160)
    bank_txn_id: str = Field(max_length=64)
    created_at: datetime


def accounts_for(kind: EntryKind, journey_id: str, school_id: str) -> tuple[str, str]:
    """(debit, credit) for a movement of this kind."""
    held = f"held:{journey_id}"
    return {
        EntryKind.deposit: (f"escrow:{school_id}", held),
        EntryKind.release: (held, f"school:{school_id}"),
        EntryKind.refund: (held, f"refunded:{journey_id}"),
        EntryKind.clawback: (f"school:{school_id}", f"refunded:{journey_id}"),
    }[kind]
