"""What goes into the contract, the e-invoice and the graduation archive: plain dataclasses,
stdlib only.

Workflow code builds these and hands them to the document activities, so every field is a
simple type Temporal's JSON converter carries. Money is in fen, dates are ISO strings.
"""

from dataclasses import dataclass, field


@dataclass
class FeeAnnex:
    """The contract's fee annex (附件：收费标准) in the model contract's five categories.

    The three practical categories are hourly rates in fen, in the order
    [normal 普通时段, peak 高峰时段, holiday 节假日].
    """

    services_fen: int  # 服务费: materials, insurance, filing
    theory_fen: int  # 理论培训费 (科目一 and 科目四 theory), per contract
    simulator_rates_fen: list[int]  # 模拟器培训费, per 学时
    field_rates_fen: list[int]  # 场地驾驶培训费 (科目二), per 学时
    road_rates_fen: list[int]  # 道路驾驶培训费 (科目三), per 学时


@dataclass
class HoursPlan:
    """Required 学时 per part (1 学时 = 60 minutes); names follow policy.model.SubjectHours.

    Parts 1 and 4 may be taught remotely, but at least `*_classroom_min` in a classroom.
    `field_simulator` and `road_simulator` are simulator hours counted inside `field` and
    `road` (0 when the school uses no simulator).
    """

    theory: int  # 科目一 道路交通安全法律、法规和相关知识
    theory_classroom_min: int
    field: int  # 科目二 场地驾驶技能
    road: int  # 科目三 道路驾驶技能
    safety: int  # 科目四 安全文明驾驶常识
    safety_classroom_min: int
    field_simulator: int = 0
    road_simulator: int = 0

    @property
    def total(self) -> int:
        return self.theory + self.field + self.road + self.safety


@dataclass
class SchoolParty:
    """乙方: the driving school as filed."""

    name: str
    filing_no: str  # 备案编号
    address: str
    phone: str
    legal_representative: str = ""  # 法定代表人
    contact: str = ""  # 联系人


@dataclass
class LearnerParty:
    """甲方: the learner."""

    name: str
    id_number: str
    phone: str
    address: str | None = None


@dataclass
class ContractData:
    contract_no: str
    school: SchoolParty
    learner: LearnerParty
    vehicle_class: str  # e.g. "C1"
    coach_name: str
    hours: HoursPlan
    fees: FeeAnnex
    tuition_fen: int  # deposited into the escrow account
    release_rule_text: str  # the escrow release rule, one Chinese sentence from the policy
    city_name: str
    escrow_bank_name: str
    escrow_account: str
    created_date: str  # ISO date, e.g. "2026-03-01"


@dataclass
class InvoiceItem:
    name: str
    amount_fen: int


@dataclass
class InvoiceData:
    invoice_no: str
    invoice_code: str
    check_code: str
    issued_at: str  # ISO datetime or date
    seller_name: str  # the school
    seller_tax_id: str  # 统一社会信用代码/纳税人识别号
    buyer_name: str
    items: list[InvoiceItem] = field(default_factory=list)
    total_fen: int = 0
    order_id: str = ""
    channel: str = ""  # unionpay | alipay | wechat


@dataclass
class TrainingRecordLine:
    """One training record (电子教学日志 entry) as it arrived from the timing platform."""

    record_no: str  # 26 chars: terminal number + YYMMDD + daily sequence
    subject: str  # theory | field | road | safety (科目一 / 二 / 三 / 四)
    mode: str  # practical | classroom | simulator | remote
    start: str  # ISO datetime
    end: str  # ISO datetime
    total_minutes: int
    valid_minutes: int
    invalid_minutes: int
    invalid_reason: str  # "" when every minute is valid
    coach_name: str
    vehicle_plate: str  # "" for classroom, remote and simulator lessons without a car
    status: str  # confirmed | disputed | pending (the learner's confirmation)
    rate_fen: int  # the slot's price per hour (per 学时); 0 for theory
    paid_fen: int  # released from escrow to the school for this record


@dataclass
class SubjectSummary:
    subject: str  # theory | field | road | safety
    required_hours: int  # 学时 required by the syllabus
    counted_minutes: int  # valid minutes counted towards the requirement
    confirmed_minutes: int  # of which the learner confirmed
    exam_passed_on: str  # ISO date, "" when not passed (or no exam: 科目四 is part of 科目三's)
    exam_attempts: int


@dataclass
class HealthCheckEntry:
    centre_name: str
    examined_on: str  # ISO date
    result: str  # passed | failed (shown as 合格 / 不合格); any other text is shown as is


@dataclass
class ArchiveData:
    """Everything in the learner's graduation archive (登记表, 教学日志, 培训记录, 结业证书)."""

    learner: LearnerParty
    learner_no: str  # 全国统一编号 (16 chars)
    school: SchoolParty
    vehicle_class: str
    coach_name: str
    enrolled_on: str  # ISO date
    health_check: HealthCheckEntry
    contract_no: str
    contract_sha256: str  # the signed contract PDF as stored
    tuition_fen: int  # paid into escrow
    released_fen: int  # released to the school
    refunded_fen: int  # returned to the learner
    subjects: list[SubjectSummary]
    records: list[TrainingRecordLine]  # in the order they happened
    certificate_no: str
    graduated_on: str  # ISO date
    city_name: str


# Activity inputs (activities/documents.py): each renders a PDF, stores it content-addressed,
# and returns its sha256 (the archive: four PDFs and their sha256s).


@dataclass
class RenderContract:
    data: ContractData
    signature_png_b64: str | None = None  # None renders the unsigned preview
    signed_at: str | None = None  # ISO datetime of the signature


@dataclass
class RenderInvoice:
    data: InvoiceData


@dataclass
class RenderArchive:
    data: ArchiveData
    # Set: the training records are the journey's log in the read model, not `data.records`.
    journey_id: str = ""


@dataclass
class ArchiveDocuments:
    """The sha256 of each archive PDF, stored under the kinds in DocumentActivities."""

    registration_sha256: str  # 学员登记表
    teaching_log_sha256: str  # 电子教学日志
    training_records_sha256: str  # 培训记录
    certificate_sha256: str  # 结业证书
