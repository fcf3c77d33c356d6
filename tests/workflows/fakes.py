"""Stand-in activities, registered under the real activity names, that remember what they did.

The fake bank keeps its own balances per payer, so tests can compare them with the ledger.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from temporalio import activity

from activities.bank import (
    BankPayment,
    CancelOrder,
    CancelOutcome,
    CreateOrder,
    IssuedInvoice,
    IssueInvoice,
    MoveHeldMoney,
)
from activities.exam12123 import Eligibility, ExamBooking
from activities.health import BookHealthSlot
from activities.http import business_rejection
from activities.national import Graduate, RegisterLearner, UploadRecord, WithdrawLearner
from activities.timing import FileParties
from workflows.documents_data import (
    ArchiveData,
    ArchiveDocuments,
    RenderArchive,
    RenderContract,
    RenderInvoice,
    TrainingRecordLine,
)


@dataclass
class FakeSubsystems:
    reject_registration: str = ""  # a reason makes the national platform refuse
    refuse_payment_lookup: str = ""  # a reason makes the bank refuse to say what it took
    paid_before_cancel: set[str] = field(default_factory=set)  # orders the bank reports paid
    bank_failures_left: int = 0  # release/refund fail (retryably) this many times first
    # The centre books (the call is recorded) but its answer is lost this many times first.
    health_answers_lost: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list)
    orders: dict[str, CreateOrder] = field(default_factory=dict)
    paid: dict[str, BankPayment] = field(default_factory=dict)  # what the channel took
    instructions: list[MoveHeldMoney] = field(default_factory=list)  # as first executed
    # payer -> [deposited, released, refunded]
    balances: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    moved_keys: set[str] = field(default_factory=set)
    archive: ArchiveData | None = None
    # A journey's training records from the read model, as the real archive activity reads
    # them for journeys under the footprint rules (models/journey_log.py).
    journey_lines: Callable[[str, str], list[TrainingRecordLine]] | None = None
    # activity name -> a gate the stand-in waits at (see `gate`)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    def activities(self, bank: bool = True) -> list:  # type: ignore[type-arg]
        """Every stand-in; without `bank`, the bank's are left to a real adapter."""
        bank_activities = [
            self.create_order,
            self.cancel_order,
            self.find_payment,
            self.release,
            self.refund,
            self.claw_back,
            self.issue_invoice,
        ]
        return [
            *(bank_activities if bank else []),
            self.register_learner,
            self.withdraw_learner,
            self.book_and_pay,
            self.render_contract,
            self.render_invoice,
            self.upload_record,
            self.graduate,
            self.file_parties,
            self.push_eligibility,
            self.book_exam,
            self.cancel_exam,
            self.render_archive,
        ]

    def gate(self, activity_name: str) -> asyncio.Event:
        """Holds that stand-in's calls until the returned event is set: an Update in it keeps
        the journey's lock while the test sends more."""
        return self.gates.setdefault(activity_name, asyncio.Event())

    async def _through_gate(self, activity_name: str) -> None:
        if activity_name in self.gates:
            await self.gates[activity_name].wait()

    def bank_paid(self, order_id: str, payer: str, **otherwise: str | int) -> None:
        """The bank's side of a successful payment (its callback is sent by the test): as
        ordered, or `otherwise` (amount_fen, account_id, channel) when the channel took it so."""
        o = self.orders[order_id]
        paid = BankPayment(
            order_id,
            payer,
            o.account_id,
            o.amount_fen,
            o.channel,
            f"TXN-{order_id}",
            datetime(2026, 11, 1, tzinfo=UTC),
        )
        self.paid[order_id] = replace(paid, **otherwise)  # type: ignore[arg-type]
        self.balances[payer][0] += self.paid[order_id].amount_fen

    @activity.defn(name="national.register_learner")
    async def register_learner(self, req: RegisterLearner) -> str:
        self.calls.append(("register", req.request_id))
        if self.reject_registration:
            raise business_rejection(self.reject_registration)
        return "3711000000000001"

    @activity.defn(name="national.withdraw_learner")
    async def withdraw_learner(self, req: WithdrawLearner) -> None:
        self.calls.append(("withdraw", req.learner_no))

    @activity.defn(name="health.book_and_pay")
    async def book_and_pay(self, req: BookHealthSlot) -> None:
        await self._through_gate("health.book_and_pay")
        self.calls.append(("health", req.booking_id))
        if self.health_answers_lost > 0:
            self.health_answers_lost -= 1
            raise RuntimeError("the health centre's answer was lost")

    @activity.defn(name="bank.create_order")
    async def create_order(self, req: CreateOrder) -> str:
        await self._through_gate("bank.create_order")
        self.orders[req.order_id] = req
        self.calls.append(("order", req.order_id))
        return f"http://bank.test/pay/{req.order_id}"

    @activity.defn(name="bank.cancel_order")
    async def cancel_order(self, req: CancelOrder) -> CancelOutcome:
        self.calls.append(("cancel", req.order_id))
        if req.order_id in self.paid_before_cancel:
            paid = self.paid[req.order_id]
            return CancelOutcome(
                False,
                paid.amount_fen,
                paid.bank_txn_id,
                paid.paid_at,
                paid.account_id,
                paid.channel,
            )
        return CancelOutcome(True)

    @activity.defn(name="bank.find_payment")
    async def find_payment(self, order_id: str) -> BankPayment | None:
        if self.refuse_payment_lookup:
            raise business_rejection(self.refuse_payment_lookup)
        return self.paid.get(order_id)

    def _move(self, req: MoveHeldMoney, released: int, refunded: int) -> str:
        """Moves `amount` times the signs given into the payer's released and refunded."""
        if self.bank_failures_left > 0:
            self.bank_failures_left -= 1
            raise RuntimeError("bank briefly unavailable")
        if req.key not in self.moved_keys:
            self.moved_keys.add(req.key)
            self.instructions.append(req)
            self.balances[req.payer_ref][1] += released * req.amount_fen
            self.balances[req.payer_ref][2] += refunded * req.amount_fen
        return f"TXN-{req.key}"

    @activity.defn(name="bank.release")
    async def release(self, req: MoveHeldMoney) -> str:
        await self._through_gate("bank.release")
        return self._move(req, 1, 0)

    @activity.defn(name="bank.refund")
    async def refund(self, req: MoveHeldMoney) -> str:
        return self._move(req, 0, 1)

    @activity.defn(name="bank.claw_back")
    async def claw_back(self, req: MoveHeldMoney) -> str:
        return self._move(req, -1, 1)

    @activity.defn(name="bank.issue_invoice")
    async def issue_invoice(self, req: IssueInvoice) -> IssuedInvoice:
        total = sum(line.amount_fen for line in req.items)
        return IssuedInvoice(
            "00000000000000000001",
            "137112600001",
            "12345678901234567890",
            "2026-11-01T08:00:00+00:00",
            total,
        )

    @activity.defn(name="documents.render_contract")
    async def render_contract(self, req: RenderContract) -> str:
        await self._through_gate("documents.render_contract")
        self.calls.append(("contract", "signed" if req.signature_png_b64 else "preview"))
        return "signed-sha" if req.signature_png_b64 else "preview-sha"

    @activity.defn(name="documents.render_invoice")
    async def render_invoice(self, req: RenderInvoice) -> str:
        return "invoice-sha"

    @activity.defn(name="national.upload_record")
    async def upload_record(self, req: UploadRecord) -> None:
        self.calls.append(("upload", req.record_no))

    @activity.defn(name="national.graduate")
    async def graduate(self, req: Graduate) -> None:
        self.calls.append(("graduate", req.certificate_no))

    @activity.defn(name="timing.file_parties")
    async def file_parties(self, req: FileParties) -> None:
        self.calls.append(("file", req.coach_id))

    @activity.defn(name="exam.push_eligibility")
    async def push_eligibility(self, req: Eligibility) -> None:
        self.calls.append(("eligible", str(req.subject)))

    @activity.defn(name="exam.book")
    async def book_exam(self, req: ExamBooking) -> None:
        self.calls.append(("exam", req.booking_id))

    @activity.defn(name="exam.cancel")
    async def cancel_exam(self, booking_id: str) -> None:
        self.calls.append(("exam_cancel", booking_id))

    @activity.defn(name="documents.render_archive")
    async def render_archive(self, req: RenderArchive) -> ArchiveDocuments:
        self.archive = req.data
        if req.journey_id:
            assert self.journey_lines is not None
            lines = self.journey_lines(req.journey_id, req.data.coach_name)
            self.archive = replace(req.data, records=lines)
        return ArchiveDocuments("reg-sha", "log-sha", "records-sha", "cert-sha")
