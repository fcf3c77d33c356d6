"""A city's rules of the trade as plain dataclasses: read once, passed into each workflow at start.

Only stdlib types here, so workflow code can import it and Temporal can carry it.
"""

from dataclasses import dataclass, field


@dataclass
class SubjectHours:
    """Required 学时 for one vehicle class (1 学时 = 60 minutes)."""

    theory: int  # 科目一
    theory_classroom_min: int
    field: int  # 科目二
    road: int  # 科目三
    safety: int  # 科目三安全文明 (科目四)
    safety_classroom_min: int


@dataclass
class Timers:
    """Every durable timer's length, in seconds (a demo policy makes days into seconds)."""

    health_result_wait: int  # how long to wait for a centre's result before reminding
    health_validity: int  # a result older than this forces a new check
    signing_reminder: int  # 面签 reminder to the school
    signing_expiry: int  # 面签 not done by then: the enrolment lapses
    payment_expiry: int  # an unpaid order is cancelled after this
    stuck_after: int  # a journey waiting this long is flagged as stuck


@dataclass
class ReleaseRule:
    """How escrowed tuition is released to the school (see domain-reference.md, Money)."""

    model: str  # per_hour | staged
    enrolment_share_pct: int = 0  # released when payment lands
    # released when each stage is approved: subject -> percent of tuition
    stage_share_pct: dict[str, int] = field(default_factory=dict)
    description: str = ""  # the contract sentence


@dataclass
class Policy:
    city_code: str
    city_name: str
    escrow_bank: str
    hours: dict[str, SubjectHours]  # vehicle class -> hours
    timers: Timers
    release: ReleaseRule
    version: str = "1"
