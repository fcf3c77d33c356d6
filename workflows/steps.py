"""How the journey calls its activities: time-outs, retries, and turning refusals into outcomes."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.bank import InvoiceLine, IssuedInvoice, IssueInvoice
    from activities.health import BookHealthSlot
    from activities.http import BUSINESS_REJECTION
    from workflows.documents_data import (
        ContractData,
        HoursPlan,
        InvoiceData,
        InvoiceItem,
        LearnerParty,
        RenderContract,
        RenderInvoice,
        SchoolParty,
    )
    from workflows.journey_state import BookHealthCheck, JourneyInput, JourneyState

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
) -> Any:
    """Runs one activity. A business refusal becomes `on_rejection(reason)` when given; in an
    Update handler (`interactive`) any failure becomes an ApplicationError that rejects it."""
    try:
        return await workflow.execute_activity(
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
    h = inp.policy.hours[inp.vehicle_class]
    f = inp.fees
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
