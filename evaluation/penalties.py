"""Administrative penalties from the enforcement system, taken in once per case number.

A decision against a school (or a coach) the platform does not know is not an error of the
sender's to retry: it is kept as refused, with why, for ops to follow up; the same case sent
again once the registry knows the school is taken in then.
"""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlmodel import Session

from models.evaluation import Penalty
from models.evaluation_log import PenaltyRefusal
from models.registry import Coach, School

Outcome = Literal["recorded", "duplicate", "refused"]


class PenaltyNotice(BaseModel):
    case_no: str
    school_id: str
    coach_id: str | None
    city_code: str
    kind: str
    reason: str
    amount_fen: int
    decided_at: datetime


def refusal_reason(session: Session, notice: PenaltyNotice) -> str | None:
    school = session.get(School, notice.school_id)
    if school is None:
        return "驾校不存在"
    if notice.coach_id is not None:
        coach = session.get(Coach, notice.coach_id)
        if coach is None or coach.school_id != notice.school_id:
            return "教练不存在或不属于该驾校"
    return None


def ingest(session: Session, notice: PenaltyNotice, now: datetime | None = None) -> Outcome:
    now = now or datetime.now(UTC)
    if session.get(Penalty, notice.case_no) is not None:
        return "duplicate"  # a decision does not change: the first one stands
    refused = session.get(PenaltyRefusal, notice.case_no)
    reason = refusal_reason(session, notice)
    if reason is not None:
        if refused is None:
            session.add(
                PenaltyRefusal(
                    case_no=notice.case_no,
                    school_id=notice.school_id,
                    coach_id=notice.coach_id,
                    city_code=notice.city_code,
                    reason=reason,
                    received_at=now,
                )
            )
            session.commit()
        return "refused"
    if refused is not None:
        session.delete(refused)  # the registry knows the school now
    session.add(
        Penalty(
            id=notice.case_no,
            school_id=notice.school_id,
            coach_id=notice.coach_id,
            city_code=notice.city_code,
            kind=notice.kind,
            reason=notice.reason,
            amount_fen=notice.amount_fen,
            decided_at=notice.decided_at,
            received_at=now,
        )
    )
    session.commit()
    return "recorded"
