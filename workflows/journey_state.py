"""The learner journey's inputs, state, and the payloads of its updates and signals.

Every field is a plain type so Temporal's JSON converter carries it, and new fields get
defaults so histories recorded before them still replay.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from policy.model import Policy
from workflows.documents_data import FeeAnnex


class Stage(StrEnum):
    signup = "signup"  # 报名
    health_check = "health_check"  # 体检
    signing = "signing"  # 面签
    contract = "contract"  # 签订合同
    payment = "payment"  # 缴费
    theory = "theory"  # 科目一 道路交通安全法律法规
    field = "field"  # 科目二 场地驾驶
    road = "road"  # 科目三 道路驾驶
    safety = "safety"  # 科目三 安全文明驾驶常识 (科目四)
    graduation = "graduation"  # 结业
    followup = "followup"  # 追评
    closed = "closed"  # 结束


# What people read for each stage.
STAGE_NAMES = {
    Stage.signup: "报名",
    Stage.health_check: "体检",
    Stage.signing: "面签",
    Stage.contract: "签订合同",
    Stage.payment: "缴费",
    Stage.theory: "科目一",
    Stage.field: "科目二",
    Stage.road: "科目三",
    Stage.safety: "安全文明驾驶常识",
    Stage.graduation: "结业",
    Stage.followup: "追评",
    Stage.closed: "已结束",
}


class Subject(StrEnum):
    theory = "theory"
    field = "field"
    road = "road"
    safety = "safety"


# The training stages in order, and each one's 12123 exam subject number.
TRAINING_STAGES = (Stage.theory, Stage.field, Stage.road, Stage.safety)
EXAM_SUBJECT = {Subject.theory: 1, Subject.field: 2, Subject.road: 3, Subject.safety: 4}
THEORY_LIKE = (Subject.theory, Subject.safety)  # classroom/remote, not booked


class Status(StrEnum):
    active = "active"
    completed = "completed"
    withdrawn = "withdrawn"  # 退学
    rejected = "rejected"  # a step was refused; the enrolment ends
    failed = "failed"  # e.g. health check failed, exam attempts used up, permit expired
    transferred = "transferred"  # 转校: continues as a new journey at another school


class WaitingOn(StrEnum):
    platform = "platform"  # our own activities are working
    learner = "learner"
    school = "school"
    health_centre = "health_centre"
    bank = "bank"
    regulator = "regulator"
    exam_centre = "exam_centre"  # 12123: the exam is booked, its result awaited
    nobody = "nobody"


class Channel(StrEnum):
    unionpay = "unionpay"  # 云闪付
    alipay = "alipay"
    wechat = "wechat"


@dataclass
class Applicant:
    name: str
    phone: str
    id_number: str
    lat: float
    lon: float


@dataclass
class SchoolSnapshot:
    """The school as it was filed when the learner enrolled (the contract's counterparty)."""

    id: str
    name: str
    filing_no: str
    address: str
    phone: str
    city_code: str
    escrow_account: str


@dataclass
class CarriedHours:
    """Confirmed training carried over from a previous school (转校)."""

    from_journey: str
    confirmed_minutes: dict[str, int] = field(default_factory=dict)  # subject -> minutes
    passed_subjects: list[str] = field(default_factory=list)
    permit_issued_at: datetime | None = None


@dataclass
class JourneyInput:
    learner_id: str
    applicant: Applicant
    school: SchoolSnapshot
    coach_id: str
    coach_name: str
    vehicle_class: str
    fees: FeeAnnex
    policy: Policy
    carried: CarriedHours | None = None
    # Set only by continue-as-new: the state to go on from.
    resume: "JourneyState | None" = None
    # Continue as new past this many history events (Temporal suggests it at 4,096).
    history_limit: int = 4000


@dataclass
class StepOutcome:
    step: str
    outcome: str
    at: datetime
    detail: str = ""


@dataclass
class HealthCheck:
    booking_id: str = ""
    centre_id: str = ""
    centre_name: str = ""
    slot: str = ""
    fee_fen: int = 0
    passed: bool | None = None
    examined_at: datetime | None = None
    reason: str = ""
    attempts: int = 0


@dataclass
class ContractState:
    contract_no: str = ""
    preview_sha256: str = ""
    signed_sha256: str = ""
    signed_at: datetime | None = None
    # Of the learner's signature image: the same one sent again gets the signed contract.
    signature_sha256: str = ""


@dataclass
class PaymentOrder:
    order_id: str
    channel: str
    amount_fen: int
    pay_url: str
    expires_at: datetime
    status: str = "pending"  # pending | paid | expired | refused (paid otherwise than ordered)
    purpose: str = "tuition"  # tuition | topup


@dataclass
class Money:
    """The journey's own view of its escrow: deposited = held + released + refunded."""

    deposited_fen: int = 0
    released_fen: int = 0
    refunded_fen: int = 0
    moves: int = 0  # bank instructions so far: part of each new instruction's key
    # Payments refused because they differ from their order (amount, account, channel), handed
    # straight back: in the ledger as deposited and refunded, never held here.
    returned_fen: int = 0

    @property
    def held_fen(self) -> int:
        return self.deposited_fen - self.released_fen - self.refunded_fen


@dataclass
class JourneyState:
    stage: Stage = Stage.signup
    status: Status = Status.active
    waiting_on: WaitingOn = WaitingOn.platform
    stage_entered_at: datetime | None = None
    learner_no: str = ""  # 全国统一编号
    end_reason: str = ""
    steps: list[StepOutcome] = field(default_factory=list)
    health: HealthCheck = field(default_factory=HealthCheck)
    signing_approved_by: str = ""
    contract: ContractState = field(default_factory=ContractState)
    tuition_fen: int = 0
    orders: list[PaymentOrder] = field(default_factory=list)
    # Orders the journey never made that a payment named, refused once (see _refuse_payment).
    foreign_orders: list[str] = field(default_factory=list)
    money: Money = field(default_factory=Money)
    invoice_sha256: str = ""
    invoice_no: str = ""
    withdraw_requested: str = ""  # the reason, once asked
    version: int = 0  # bumps on every change; orders read-model writes
    # Part 2: training, exams, graduation.
    coach_id: str = ""  # the current coach (a change of coach replaces it)
    coach_change: "CoachChange | None" = None
    subjects: dict[str, "SubjectProgress"] = field(default_factory=dict)
    records: list["RecordEntry"] = field(default_factory=list)
    bookings: list["Booking"] = field(default_factory=list)
    permit_issued_at: datetime | None = None  # 学习驾驶证明
    due: "SchoolDue" = field(default_factory=lambda: SchoolDue())
    credit_fen: int = 0  # school-side cancellation credits, deducted from what is due
    certificate_no: str = ""
    archive: dict[str, str] = field(default_factory=dict)  # document -> sha256
    followup_review: "Review | None" = None
    transferred_to: str = ""
    runs: int = 1  # continue-as-new count
    # When the learner enrolled (the first run's start; later runs carry it).
    enrolled_at: datetime | None = None
    # An end asked for (withdrawal, transfer, rejection) and not yet carried out: kept in the
    # state so that continuing as new cannot lose it.
    end_requested: "EndRequest | None" = None
    # Journeys under the footprint rules (FOOTPRINT_PATCH) keep only what their decisions need;
    # the read model keeps the rest (workflows/projection.py). `steps` then holds the timeline
    # entries not yet written, the ones before them being in the read model; `records` and
    # `bookings` hold the open ones and those closed since the last write.
    steps_written: int = 0
    settled_records: dict[str, "SettledRecord"] = field(default_factory=dict)  # by record no
    closed_bookings: dict[str, "ClosedBooking"] = field(default_factory=dict)  # by booking id
    # Counted minutes per China day, "<day>:theory" or "<day>:practical" (the daily caps).
    day_minutes: dict[str, int] = field(default_factory=dict)
    records_received: int = 0
    bookings_made: int = 0
    # What has been filed with the timing platform (coach and car of a session): not again.
    timing_filings: list[str] = field(default_factory=list)


@dataclass
class SettledRecord:
    """A training record no longer open, as far as the journey's decisions need it: the timing
    platform's resend is known, and a repeated decision gets the first one's answer."""

    subject: str
    status: str  # confirmed | voided
    decided_by: str = ""
    answer: str = ""  # the school's answer to a dispute of it
    contested: bool = False  # the school contested it before the regulator


@dataclass
class ClosedBooking:
    """A practical booking no longer open (cancelled, completed, no-show), for a repeat."""

    status: str
    fee_fen: int = 0


@dataclass
class EndRequest:
    status: str  # a Status value
    reason: str
    transfer_to: "JourneyInput | None" = None


@dataclass
class Review:
    school_stars: int
    coach_stars: int
    comment: str
    at: datetime


@dataclass
class StageReport:
    """阶段报审: school submits, learner confirms, regulator approves (or the policy does)."""

    status: str = "none"  # none | submitted | confirmed | approved | rejected
    submitted_by: str = ""
    reviewed_by: str = ""
    reason: str = ""
    submitted_at: datetime | None = None


@dataclass
class ExamState:
    eligible: bool = False
    bookings: int = 0  # bookings used under the current permit
    booking_id: str = ""
    exam_date: str = ""  # ISO date of the open booking
    passed: bool = False
    passed_on: str = ""
    last_failed_on: str = ""
    results: list[str] = field(default_factory=list)  # "2026-12-01 fail 76/78"
    last_event: str = ""  # exam_booked | exam_cancelled | exam_passed | exam_failed


@dataclass
class SubjectProgress:
    subject: str
    required_minutes: int
    classroom_min_minutes: int = 0
    counted_minutes: int = 0  # valid minutes that count (caps applied)
    classroom_minutes: int = 0
    remote_minutes: int = 0
    confirmed_minutes: int = 0  # counted and confirmed by the learner
    carried_minutes: int = 0  # from a previous school
    stage_confirmed: bool = False  # theory: the learner confirmed the whole stage
    rating: Review | None = None
    report: StageReport = field(default_factory=StageReport)
    exam: ExamState = field(default_factory=ExamState)


@dataclass
class RecordEntry:
    """One training record as the journey counts it."""

    record_no: str
    session_id: str
    subject: str
    mode: str
    day: str  # China date, for the daily cap
    start: datetime
    end: datetime
    valid_minutes: int  # as the timing platform judged them
    counted_minutes: int  # after the daily cap and the remote limit
    invalid_minutes: int = 0
    invalid_reason: str = ""
    rate_fen: int = 0  # per hour, from the booking (0 for theory)
    # pending | confirmed | disputed (the school to answer) | contested (the regulator to
    # rule) | voided (not owed: the school conceded, lost, or let a deadline pass)
    status: str = "pending"
    dispute_reason: str = ""
    paid_fen: int = 0
    received_at: datetime | None = None
    disputed_at: datetime | None = None
    contested_at: datetime | None = None
    answer: str = ""  # the school's answer to a dispute
    decided_by: str = ""  # who settled it: the learner, "auto", the school or a regulator
    n: int = 0  # the order it was received in (footprint rules; 0 before them)


@dataclass
class Booking:
    booking_id: str
    slot_id: str
    subject: str
    kind: str
    start: datetime
    end: datetime
    hours: int
    rate_fen: int
    rate_kind: str
    coach_id: str
    vehicle_id: str
    status: str = "booked"  # booked | cancelled | completed | no_show
    cancelled_by: str = ""
    fee_fen: int = 0
    coach_name: str = ""  # for the teaching log (教学日志)
    vehicle_plate: str = ""
    n: int = 0  # the order it was made in (footprint rules; 0 before them)


@dataclass
class CoachChange:
    coach_id: str
    coach_name: str
    reason: str
    status: str = "requested"  # requested | approved | rejected
    decided_by: str = ""


@dataclass
class SchoolDue:
    """What the school has earned under the contract, whatever the release model."""

    services_fen: int = 0
    theory_fen: int = 0
    practical_fen: int = 0  # confirmed hours at their booked rates
    fees_fen: int = 0  # late cancellations and no-shows

    @property
    def total_fen(self) -> int:
        return self.services_fen + self.theory_fen + self.practical_fen + self.fees_fen


# Update and signal payloads: one dataclass each, so fields can be added safely.


@dataclass
class BookHealthCheck:
    centre_id: str
    slot: str  # ISO datetime of the centre's slot
    fee_fen: int
    centre_name: str = ""


@dataclass
class HealthResult:
    booking_id: str
    passed: bool
    examined_at: datetime
    reason: str = ""
    items: dict[str, str] = field(default_factory=dict)


@dataclass
class StaffDecision:
    staff_id: str
    reason: str = ""


@dataclass
class SignContract:
    signature_png_b64: str  # already validated and normalised by the API


@dataclass
class CreatePayment:
    channel: str
    amount_fen: int = 0  # a top-up during training; 0 means the tuition still owed


@dataclass
class TrainingRecord:
    """A session's record from the timing platform (计时平台)."""

    record_no: str
    session_id: str
    subject: str
    mode: str
    start: datetime
    end: datetime
    valid_minutes: int
    invalid_minutes: int = 0
    invalid_reason: str = ""


@dataclass
class RecordDecision:
    record_no: str
    dispute_reason: str = ""  # empty: confirm; else: dispute


@dataclass
class DisputeAnswer:
    """The school's answer to a learner's dispute: concede (the record is voided) or contest
    (the regulator rules)."""

    record_no: str
    staff_id: str
    concede: bool
    answer: str


@dataclass
class DisputeRuling:
    record_no: str
    regulator_id: str
    uphold_record: bool  # True: the school is paid for it; False: it is voided
    reason: str


@dataclass
class RateStage:
    subject: str
    school_stars: int
    coach_stars: int
    comment: str = ""


@dataclass
class BookSlotRequest:
    slot_id: str


@dataclass
class CancelBookingRequest:
    booking_id: str
    reason: str = ""


@dataclass
class SchoolCancelled:
    booking_id: str
    reason: str


@dataclass
class NoShowReport:
    booking_id: str
    staff_id: str


@dataclass
class CoachChangeRequest:
    coach_id: str
    coach_name: str
    reason: str


@dataclass
class StageReportAction:
    subject: str
    actor_id: str
    approve: bool = True
    reason: str = ""
    role: str = ""  # the caller's role: whose turn it is is checked against it


@dataclass
class BookExam:
    subject: str
    exam_date: str  # ISO date
    venue: str = "日照市机动车驾驶人考试中心"


@dataclass
class CancelExam:
    subject: str


@dataclass
class ExamResult:
    booking_id: str
    subject: int  # 1..4
    exam_date: str
    passed: bool
    scores: list[int] = field(default_factory=list)
    permit_issued_at: str | None = None  # ISO date, when subject 1 passes


@dataclass
class FollowupReview:
    school_stars: int
    coach_stars: int
    comment: str


@dataclass
class Transfer:
    """转校: the new school's enrolment, validated by the API like a new sign-up."""

    reason: str
    new_journey: JourneyInput


@dataclass
class PaymentCallback:
    """What the bank says was paid: checked against the order before it counts. Callbacks
    recorded before the check carry no account or channel."""

    order_id: str
    amount_fen: int
    bank_txn_id: str
    paid_at: datetime
    account_id: str = ""
    channel: str = ""


@dataclass
class Withdraw:
    reason: str


@dataclass
class JourneyResult:
    """What a finished run comes to: how it ended and the ids a caller follows, not the state
    (issue 9: the result is kept in the history; the journey's record is the read model's).
    Its fields are the state's own names, so a result recorded before it (the whole state)
    reads as one too."""

    status: Status
    stage: Stage
    end_reason: str = ""
    learner_no: str = ""
    certificate_no: str = ""
    archive: dict[str, str] = field(default_factory=dict)  # document -> sha256
    transferred_to: str = ""  # the new school's journey (转校)
    money: Money = field(default_factory=Money)
    runs: int = 1


@dataclass
class UpdateOutcome:
    """What an Update did, not the whole state (issue 9: every Update result is kept in the
    journey's history). A client that wants the journey's view asks for it."""

    action: str  # what was done, a stable code: "slot_booked", "order_created", …
    # The journey after it.
    stage: str
    status: str
    waiting_on: str
    version: int
    repeat: bool = False  # an identical request had done it already: the same answer
    # What it made or acted on, where there is such a thing.
    booking_id: str = ""  # a health-check, practical-session or exam booking
    order_id: str = ""
    pay_url: str = ""
    amount_fen: int = 0  # the order's amount, or what a cancellation or no-show cost
    expires_at: datetime | None = None  # the order's
    record_no: str = ""
    item_status: str = ""  # that booking's, order's, record's, report's or coach change's status


@dataclass
class JourneyView:
    """What a query returns: the state plus who the journey belongs to."""

    workflow_id: str
    learner_id: str
    school_id: str
    city_code: str
    vehicle_class: str
    coach_id: str
    state: JourneyState
