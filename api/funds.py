"""Funds under supervision (资金监管) from the platform's ledger: per learner for a school's
console, per school for a regulator. deposited = held + released + refunded for each."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from models.ledger import EntryKind, LedgerEntry


@dataclass
class Funds:
    deposited_fen: int = 0
    released_fen: int = 0  # less what was clawed back
    refunded_fen: int = 0  # including what was clawed back from the school

    @property
    def held_fen(self) -> int:
        return self.deposited_fen - self.released_fen - self.refunded_fen


def funds(session: Session, school_ids: list[str], per: str) -> dict[str, Funds]:
    """Totals by journey (`per="journey"`) or by school (`per="school"`) of `school_ids`."""
    group = col(LedgerEntry.journey_id) if per == "journey" else col(LedgerEntry.school_id)
    rows = session.exec(
        select(group, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
        .where(col(LedgerEntry.school_id).in_(school_ids))
        .group_by(group, LedgerEntry.kind)
    ).all()
    totals: dict[str, Funds] = {}
    for key, kind, amount in rows:
        f = totals.setdefault(key, Funds())
        if kind == EntryKind.deposit:
            f.deposited_fen += amount
        elif kind == EntryKind.release:
            f.released_fen += amount
        elif kind == EntryKind.refund:
            f.refunded_fen += amount
        else:  # clawback: from the school back to the learner
            f.released_fen -= amount
            f.refunded_fen += amount
    return totals
