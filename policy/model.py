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
class AgeLimits:
    """Who may enrol for one vehicle class: age in whole years (周岁) on the day of enrolment."""

    min_age: int
    max_age: int | None = None  # None: no upper limit


@dataclass
class Timers:
    """Every durable timer's length, in seconds (a demo policy makes days into seconds)."""

    health_result_wait: int  # how long to wait for a centre's result before reminding
    health_validity: int  # a result older than this forces a new check
    signing_reminder: int  # 面签 reminder to the school
    signing_expiry: int  # 面签 not done by then: the enrolment lapses
    payment_expiry: int  # an unpaid order is cancelled after this
    stuck_after: int  # a journey waiting this long is flagged as stuck
    followup_window: int = 30 * 86400  # 追评 allowed this long after graduation
    stage_report_auto_approve: int = 0  # >0: a report not reviewed in this time is approved
    # A practical record the learner neither confirms nor disputes is confirmed after this
    # (0: never by itself; it is then settled as unearned when the journey ends).
    record_confirm_window: int = 3 * 86400
    dispute_answer_window: int = 3 * 86400  # the school answers, or the record is voided
    dispute_decision_window: int = 15 * 86400  # the regulator rules, or the learner's side wins
    # Before training (health check, contract, payment): no progress for this long and the
    # enrolment lapses and the national platform is told (0: never).
    enrolment_lapse: int = 90 * 86400
    # Stage -> how long a journey may sit in it before ops see it as stuck; a stage not named
    # uses `stuck_after` (read by the ops stuck view from the file, never by a journey).
    stuck_after_stage: dict[str, int] = field(default_factory=dict)

    def stuck_threshold(self, stage: str) -> int:
        return self.stuck_after_stage.get(stage, self.stuck_after)


@dataclass
class TrainingRules:
    """Booking and counting rules for training (学时)."""

    theory_daily_cap_hours: int = 4  # classroom/remote theory counted per day
    practical_daily_cap_hours: int = 4  # field/road/simulator booked and counted per day
    booking_horizon_days: int = 14  # slots bookable this far ahead
    cancel_cutoff_hours: int = 24  # a later learner cancellation is "late"
    late_cancel_fee_pct: int = 50  # of the booked session's cost, paid to the school
    no_show_fee_pct: int = 100
    # A school-side cancellation costs the learner nothing and credits this to them.
    school_cancel_credit_fen: int = 0


@dataclass
class ExamRules:
    """公安部令第162号 reference values; durations in seconds so a demo can shorten them."""

    retake_wait: int = 10 * 86400  # after failing subject 2 or 3
    max_bookings: int = 5  # per subject 2 / 3, per learning permit
    permit_validity: int = 1095 * 86400  # 学习驾驶证明: 3 years
    booking_horizon_days: int = 60  # an exam date no later than this many days ahead
    # Earliest booking after the permit was issued, per subject.
    earliest_after_permit: dict[str, int] = field(
        default_factory=lambda: {"field": 10 * 86400, "road": 30 * 86400, "safety": 30 * 86400}
    )


@dataclass
class ReleaseRule:
    """How escrowed tuition is released to the school (see domain-reference.md, Money)."""

    model: str  # per_hour | staged
    enrolment_share_pct: int = 0  # released when payment lands
    # per_hour: the fixed fees (services) are due at enrolment, theory on its stage, and each
    # confirmed practical hour at its booked rate. staged: only the shares below.
    # released when each stage is approved: subject -> percent of tuition
    stage_share_pct: dict[str, int] = field(default_factory=dict)
    description: str = ""  # the contract sentence


@dataclass
class ComplaintRules:
    """Consultations and complaints (咨询投诉): answer times, the handling deadline counted in
    working days, and the city's holiday calendar that working days skip."""

    consultation_answer_seconds: int = 2 * 86400  # past this unanswered: flagged to regulators
    handling_working_days: int = 15  # the school answers a complaint within these
    reopen_working_days: int = 10  # a reopened complaint's new deadline
    # Reminders to the school, this many working days before the deadline.
    reminder_working_days_before: list[int] = field(default_factory=lambda: [3, 1])
    rating_window_seconds: int = 7 * 86400  # after the answer; then it closes unrated
    holidays: list[str] = field(default_factory=list)  # ISO dates off work (法定节假日)
    makeup_workdays: list[str] = field(default_factory=list)  # weekend days worked (调休)


@dataclass
class ReviewRules:
    """Reviews of schools and coaches (issue 10); seconds, so a demo can shorten them."""

    edit_window: int = 30 * 86400  # a learner may edit their review this long after giving it


@dataclass
class Policy:
    city_code: str
    city_name: str
    escrow_bank: str
    hours: dict[str, SubjectHours]  # vehicle class -> hours
    timers: Timers
    release: ReleaseRule
    training: TrainingRules = field(default_factory=TrainingRules)
    exams: ExamRules = field(default_factory=ExamRules)
    version: str = "1"
    # vehicle class -> age limits; empty only in journeys started before the rule existed
    ages: dict[str, AgeLimits] = field(default_factory=dict)
    complaints: ComplaintRules = field(default_factory=ComplaintRules)
    reviews: ReviewRules = field(default_factory=ReviewRules)


# ---- The service-quality index (一指数, issue 10) ----------------------------------------------
# Not part of `Policy`: a journey never needs it. The index's recompute reads it from the city's
# file each time, so editing the file changes the next publication without a code change.


@dataclass
class IndexItem:
    """One level-2 item: a measure (evaluation/measures.py names the known ones), its weight in
    the level-1 score, and how its values are brought to 0..1."""

    measure: str
    weight: float
    # min_max: against the city's schools in the same publication (the best scores 1, the
    # worst 0); target: against `best` (scores 1) and `worst` (scores 0), clamped.
    normalise: str = "min_max"
    best: float | None = None
    worst: float | None = None


@dataclass
class IndexLevel:
    level: str  # AAA | AA | A (below the last: B)
    min_score: float


@dataclass
class QualityIndex:
    items: list[IndexItem]
    levels: list[IndexLevel]  # highest first
    window_days: int = 365  # the statistics cover this many days up to the publication
    recompute_every: int = 7 * 86400  # the Schedule's interval, in seconds
    red_list_min_score: float = 90.0  # 红榜: at or above (and not black-listed)
    black_list_below_score: float = 60.0  # 黑榜: below this score...
    # ...or at or above any of these measure values, whatever the score (e.g. penalties: 3).
    black_list_at_least: dict[str, float] = field(default_factory=dict)
    complaint_hotline: str = "12328"  # shown beside each school's consultation phone
    version: str = "1"
