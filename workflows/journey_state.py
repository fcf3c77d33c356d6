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
    theory = "theory"  # 科目一 (part 2 of the journey)
    closed = "closed"  # 结束


class Status(StrEnum):
    active = "active"
    completed = "completed"
    withdrawn = "withdrawn"  # 退学
    rejected = "rejected"  # a step was refused; the enrolment ends
    failed = "failed"  # e.g. health check failed


class WaitingOn(StrEnum):
    platform = "platform"  # our own activities are working
    learner = "learner"
    school = "school"
    health_centre = "health_centre"
    bank = "bank"
    regulator = "regulator"
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
class JourneyInput:
    learner_id: str
    applicant: Applicant
    school: SchoolSnapshot
    coach_id: str
    coach_name: str
    vehicle_class: str
    fees: FeeAnnex
    policy: Policy


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


@dataclass
class PaymentOrder:
    order_id: str
    channel: str
    amount_fen: int
    pay_url: str
    expires_at: datetime
    status: str = "pending"  # pending | paid | expired


@dataclass
class Money:
    """The journey's own view of its escrow: deposited = held + released + refunded."""

    deposited_fen: int = 0
    released_fen: int = 0
    refunded_fen: int = 0

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
    money: Money = field(default_factory=Money)
    invoice_sha256: str = ""
    invoice_no: str = ""
    withdraw_requested: str = ""  # the reason, once asked
    version: int = 0  # bumps on every change; orders read-model writes


# Update and signal payloads: one dataclass each, so fields can be added safely.


@dataclass
class BookHealthCheck:
    centre_id: str
    slot: str  # ISO datetime of the centre's slot
    fee_fen: int


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


@dataclass
class PaymentCallback:
    order_id: str
    amount_fen: int
    bank_txn_id: str
    paid_at: datetime


@dataclass
class Withdraw:
    reason: str


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
