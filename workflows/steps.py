"""How the journey calls its activities: time-outs, retries, and turning refusals into outcomes."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from policy.model import SubjectHours
from workflows.training import china_day, training_lines

with workflow.unsafe.imports_passed_through():
    from activities.bank import InvoiceLine, IssuedInvoice, IssueInvoice
    from activities.bookings import BookedSlot
    from activities.exam12123 import Eligibility, ExamBooking
    from activities.health import BookHealthSlot
    from activities.http import BUSINESS_REJECTION
    from activities.national import Graduate
    from activities.timing import FiledVehicle, FileParties
    from evaluation.reviews import NewReview
    from workflows.documents_data import (
        ArchiveData,
        ArchiveDocuments,
        ContractData,
        HealthCheckEntry,
        HoursPlan,
        InvoiceData,
        InvoiceItem,
        LearnerParty,
        RenderArchive,
        RenderContract,
        RenderInvoice,
        SchoolParty,
        SubjectSummary,
    )
    from workflows.journey_state import (
        EXAM_SUBJECT,
        BookExam,
        BookHealthCheck,
        JourneyInput,
        JourneyState,
        Review,
        Subject,
    )

T = TypeVar("T")

# Background work (money, projections, filings) retries until the subsystem answers: a stuck
# journey shows up in the Temporal UI for ops rather than losing a step.
BACKGROUND = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[BUSINESS_REJECTION],
)
# A person is waiting on the answer (an Update): a few quick tries, then say "try again".
INTERACTIVE = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_attempts=3,
    non_retryable_error_types=[BUSINESS_REJECTION],
)


def business_reason(err: ActivityError) -> str | None:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == BUSINESS_REJECTION:
        return cause.message
    return None


async def call(
    activity: str,
    arg: Any,
    *,
    result_type: type[T] | None = None,
    interactive: bool = False,
    on_rejection: Callable[[str], Exception] | None = None,
    local: bool = False,
) -> Any:
    """Runs one activity. A business refusal becomes `on_rejection(reason)` when given; in an
    Update handler (`interactive`) any failure becomes an ApplicationError that rejects it.
    `local`: a short write to the platform's own database, run by this worker within the
    workflow task (the history keeps a marker of it, not three events and a task)."""
    execute = workflow.execute_local_activity if local else workflow.execute_activity
    try:
        return await execute(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=INTERACTIVE if interactive else BACKGROUND,
        )
    except ActivityError as err:
        reason = business_reason(err)
        if reason is not None and on_rejection is not None:
            raise on_rejection(reason) from err
        if interactive:
            raise ApplicationError(reason or "外部系统暂时不可用，请稍后再试") from err
        raise


def hours_plan(inp: JourneyInput) -> HoursPlan:
    h = inp.policy.hours[inp.vehicle_class]
    return HoursPlan(
        theory=h.theory,
        theory_classroom_min=h.theory_classroom_min,
        field=h.field,
        road=h.road,
        safety=h.safety,
        safety_classroom_min=h.safety_classroom_min,
    )


def tuition_fen(inp: JourneyInput) -> int:
    """What the learner deposits: fixed fees plus every required practical hour at the normal
    rate. Peak and holiday hours cost more and are paid from the same escrow as they happen;
    what is not used is refunded at graduation."""
    return tuition_of(inp.fees, inp.policy.hours[inp.vehicle_class])


class FeeRates(Protocol):
    """A fee annex as the contract has it, or as a school publishes it (FeeSchedule)."""

    services_fen: int
    theory_fen: int
    field_rates_fen: list[int]
    road_rates_fen: list[int]


def tuition_of(f: FeeRates, h: SubjectHours) -> int:
    """The tuition of a fee annex under a class's required hours (the pages show it before
    enrolment, from the school's published fees)."""
    return (
        f.services_fen
        + f.theory_fen
        + h.field * f.field_rates_fen[0]
        + h.road * f.road_rates_fen[0]
    )


def contract_data(inp: JourneyInput, s: JourneyState) -> ContractData:
    return ContractData(
        contract_no=s.contract.contract_no,
        school=SchoolParty(
            inp.school.name, inp.school.filing_no, inp.school.address, inp.school.phone
        ),
        learner=LearnerParty(inp.applicant.name, inp.applicant.id_number, inp.applicant.phone),
        vehicle_class=inp.vehicle_class,
        coach_name=inp.coach_name,
        hours=hours_plan(inp),
        fees=inp.fees,
        tuition_fen=s.tuition_fen,
        release_rule_text=inp.policy.release.description,
        city_name=inp.policy.city_name,
        escrow_bank_name=inp.policy.escrow_bank,
        escrow_account=inp.school.escrow_account,
        created_date=workflow.now().date().isoformat(),
    )


async def render_contract(inp: JourneyInput, s: JourneyState, signature_b64: str | None) -> str:
    signed_at = s.contract.signed_at.isoformat(timespec="seconds") if s.contract.signed_at else None
    return await call(
        "documents.render_contract",
        RenderContract(contract_data(inp, s), signature_b64, signed_at),
        result_type=str,
        interactive=signature_b64 is not None,
    )


async def book_health(inp: JourneyInput, booking_id: str, req: BookHealthCheck) -> None:
    await call(
        "health.book_and_pay",
        BookHealthSlot(
            booking_id=booking_id,
            centre_id=req.centre_id,
            learner_ref=workflow.info().workflow_id,
            name=inp.applicant.name,
            id_number=inp.applicant.id_number,
            slot=req.slot,
            fee_fen=req.fee_fen,
        ),
        interactive=True,
    )


def invoice_lines(inp: JourneyInput, s: JourneyState) -> list[InvoiceLine]:
    services = InvoiceLine("培训服务费", inp.fees.services_fen)
    training = InvoiceLine("驾驶培训费（监管账户）", s.tuition_fen - inp.fees.services_fen)
    return [line for line in (services, training) if line.amount_fen > 0]


async def issue_invoice(inp: JourneyInput, s: JourneyState) -> tuple[str, str]:
    """Has the bank issue the e-invoice, renders its PDF; returns (invoice no, PDF sha256)."""
    paid = next(o for o in s.orders if o.status == "paid")
    lines = invoice_lines(inp, s)
    issued: IssuedInvoice = await call(
        "bank.issue_invoice",
        IssueInvoice(
            f"{workflow.info().workflow_id}:invoice", paid.order_id, inp.applicant.name, lines
        ),
        result_type=IssuedInvoice,
    )
    sha = await call(
        "documents.render_invoice",
        RenderInvoice(
            InvoiceData(
                invoice_no=issued.invoice_no,
                invoice_code=issued.invoice_code,
                check_code=issued.check_code,
                issued_at=issued.issued_at,
                seller_name=inp.school.name,
                seller_tax_id=inp.school.filing_no,
                buyer_name=inp.applicant.name,
                items=[InvoiceItem(line.name, line.amount_fen) for line in lines],
                total_fen=issued.total_fen,
                order_id=paid.order_id,
                channel=paid.channel,
            )
        ),
        result_type=str,
    )
    return issued.invoice_no, sha


async def file_with_timing(
    inp: JourneyInput, s: JourneyState, slot: BookedSlot | None = None, once: bool = False
) -> None:
    """Files the learner and a coach with the timing platform: their own coach before training
    starts, and a booked session's coach and car so the terminal can record it. With `once`
    (footprint rules), a filing the journey has made already is not made again: the platform
    has it (each filing is idempotent), and a changed coach or car is a new filing."""
    parties = FileParties(
        learner_no=s.learner_no,
        school_id=inp.school.id,
        name=inp.applicant.name,
        vehicle_class=inp.vehicle_class,
        coach_id=slot.coach_id if slot else s.coach_id or inp.coach_id,
        coach_name=slot.coach_name if slot else inp.coach_name,
        vehicles=[FiledVehicle(slot.vehicle_id, slot.vehicle_plate)] if slot else [],
    )
    filing = "|".join(
        [
            parties.coach_id,
            parties.coach_name,
            *(f"{v.vehicle_id}:{v.plate}" for v in parties.vehicles),
        ]
    )
    if once and filing in s.timing_filings:
        return
    await call("timing.file_parties", parties)
    if once:
        s.timing_filings.append(filing)


async def push_eligibility(inp: JourneyInput, s: JourneyState, subject: str) -> None:
    await call(
        "exam.push_eligibility",
        Eligibility(
            request_id=f"{workflow.info().workflow_id}:eligible-{subject}",
            learner_no=s.learner_no,
            journey_ref=workflow.info().workflow_id,
            subject=EXAM_SUBJECT[Subject(subject)],
            vehicle_class=inp.vehicle_class,
            school_id=inp.school.id,
            stage_report_id=f"{workflow.info().workflow_id}:{subject}",
        ),
    )


async def book_exam(inp: JourneyInput, s: JourneyState, req: BookExam) -> None:
    exam = s.subjects[req.subject].exam
    booking_id = f"{workflow.info().workflow_id}:exam-{req.subject}-{len(exam.results) + 1}"
    await call(
        "exam.book",
        ExamBooking(
            booking_id=booking_id,
            learner_no=s.learner_no,
            subject=EXAM_SUBJECT[Subject(req.subject)],
            exam_date=req.exam_date,
            venue=req.venue,
        ),
        interactive=True,
    )
    exam.booking_id, exam.exam_date = booking_id, req.exam_date
    exam.bookings += 1


async def cancel_exam(s: JourneyState, subject: str) -> None:
    exam = s.subjects[subject].exam
    await call("exam.cancel", exam.booking_id, interactive=True)
    # A booking given up in time is not an attempt: it does not count toward the limit.
    exam.booking_id, exam.exam_date = "", ""
    exam.bookings -= 1


def archive_data(inp: JourneyInput, s: JourneyState, from_read_model: bool) -> ArchiveData:
    subjects = [
        SubjectSummary(
            subject=p.subject,
            required_hours=p.required_minutes // 60,
            counted_minutes=p.counted_minutes + p.carried_minutes,
            confirmed_minutes=p.confirmed_minutes + p.carried_minutes,
            exam_passed_on=p.exam.passed_on,
            exam_attempts=len(p.exam.results),
        )
        for p in s.subjects.values()
    ]
    # Under the footprint rules the records are in the read model: the archive activity reads
    # them from there (the state keeps only the open ones).
    records = [] if from_read_model else training_lines(s.records, s.bookings, inp.coach_name)
    health = s.health
    return ArchiveData(
        learner=LearnerParty(inp.applicant.name, inp.applicant.id_number, inp.applicant.phone),
        learner_no=s.learner_no,
        school=SchoolParty(
            inp.school.name, inp.school.filing_no, inp.school.address, inp.school.phone
        ),
        vehicle_class=inp.vehicle_class,
        coach_name=inp.coach_name,
        enrolled_on=china_day(s.enrolled_at or workflow.info().start_time),
        health_check=HealthCheckEntry(
            centre_name=health.centre_name or health.centre_id,
            examined_on=health.examined_at.date().isoformat() if health.examined_at else "",
            result="passed" if health.passed else "failed",
        ),
        contract_no=s.contract.contract_no,
        contract_sha256=s.contract.signed_sha256,
        tuition_fen=s.tuition_fen,
        released_fen=s.money.released_fen,
        refunded_fen=s.money.refunded_fen,
        subjects=subjects,
        records=records,
        certificate_no=s.certificate_no,
        graduated_on=china_day(workflow.now()),
        city_name=inp.policy.city_name,
    )


async def render_archive(
    inp: JourneyInput, s: JourneyState, from_read_model: bool = False
) -> dict[str, str]:
    journey_id = workflow.info().workflow_id if from_read_model else ""
    docs: ArchiveDocuments = await call(
        "documents.render_archive",
        RenderArchive(archive_data(inp, s, from_read_model), journey_id),
        result_type=ArchiveDocuments,
    )
    return {
        "registration": docs.registration_sha256,
        "teaching_log": docs.teaching_log_sha256,
        "training_records": docs.training_records_sha256,
        "certificate": docs.certificate_sha256,
    }


async def report_graduation(inp: JourneyInput, s: JourneyState) -> None:
    await call(
        "national.graduate",
        Graduate(
            request_id=f"{workflow.info().workflow_id}:graduate",
            learner_no=s.learner_no,
            certificate_no=s.certificate_no,
            graduated_at=workflow.now().isoformat(),
        ),
    )


async def record_review(inp: JourneyInput, s: JourneyState, stage: str, review: Review) -> None:
    """The review table's row for a rating; its id, drawn once and replayed, is the write's
    idempotency key, and never shows whose journey it is (the journey id names the learner)."""
    new = NewReview(
        review_id=f"R{workflow.uuid4().hex[:24]}",
        journey_id=workflow.info().workflow_id,
        learner_id=inp.learner_id,
        school_id=inp.school.id,
        coach_id=s.coach_id or None,
        stage=stage,
        school_stars=review.school_stars,
        coach_stars=review.coach_stars,
        text=review.comment,
        at=review.at,
    )
    await call("reviews.record", new, local=True)
