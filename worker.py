"""The worker process: one Temporal client, the journey workflow and every activity."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.bank import BankActivities
from activities.bookings import BookingActivities
from activities.complaints import ComplaintRecordActivities, Complaints12328Activities
from activities.documents import DocumentActivities, DocumentStore
from activities.driving_records import DrivingRecordActivities
from activities.exam12123 import ExamActivities
from activities.health import HealthActivities
from activities.http import SubsystemClient
from activities.national import NationalActivities
from activities.quality_index import IndexActivities
from activities.records import RecordActivities
from activities.reviews import ReviewActivities
from activities.timing import TimingActivities
from activities.trouble import TroubleRecorder
from core.config import Settings, get_settings
from core.db import engine_for, migrate
from core.logs import configure_logging
from models import journey_log
from scripts.schedules import ensure_schedules
from workflows.complaint import ComplaintWorkflow
from workflows.driving_records import GraduateRecordsPull
from workflows.journey import LearnerJourney
from workflows.late_payment import LatePaymentRefund
from workflows.quality_index import IndexRecomputeWorkflow


def build_activities(settings: Settings) -> list:  # type: ignore[type-arg]
    """Every activity, wired to the subsystems and database named by the settings."""
    timeout = settings.subsystem_timeout_seconds
    webhooks = f"{settings.api_base_url}/api/webhooks"
    national = NationalActivities(SubsystemClient("national", settings.national_url, timeout))
    health = HealthActivities(
        SubsystemClient("health", settings.health_url, timeout), f"{webhooks}/health"
    )
    bank = BankActivities(SubsystemClient("bank", settings.bank_url, timeout), f"{webhooks}/bank")
    timing = TimingActivities(SubsystemClient("timing", settings.timing_url, timeout))
    exam_client = SubsystemClient("exam", settings.exam_url, timeout)
    exam = ExamActivities(exam_client, f"{webhooks}/exam")
    complaints12328 = Complaints12328Activities(
        SubsystemClient("complaints", settings.complaints_url, timeout), f"{webhooks}/complaints"
    )
    engine = engine_for(settings.database_url)
    records = RecordActivities(engine)
    index = IndexActivities(engine, settings.policy_paths)
    complaint_records = ComplaintRecordActivities(engine)
    reviews = ReviewActivities(engine)
    driving_records = DrivingRecordActivities(exam_client, engine)
    bookings = BookingActivities(engine)
    documents = DocumentActivities(
        DocumentStore(settings.data_dir / "documents"),
        settings.font_path,
        journey_log.training_lines_reader(engine),
    )
    return [
        national.register_learner,
        national.withdraw_learner,
        national.upload_record,
        national.graduate,
        timing.file_parties,
        exam.push_eligibility,
        exam.book,
        exam.cancel,
        bookings.book,
        bookings.cancel,
        bookings.complete,
        bookings.no_show,
        health.book_and_pay,
        bank.create_order,
        bank.cancel_order,
        bank.find_payment,
        bank.release,
        bank.refund,
        bank.claw_back,
        bank.issue_invoice,
        records.project_journey,
        records.post_ledger,
        records.ledger_has,
        reviews.record,
        driving_records.positions,
        driving_records.pull_page,
        documents.render_contract,
        documents.render_invoice,
        documents.render_archive,
        index.publish,
        complaints12328.file,
        complaints12328.push,
        complaint_records.write,
    ]


# The project's own packages are imported once, outside the sandbox, instead of afresh for every
# journey the worker opens: re-importing the workflow modules per instance took two thirds of
# the worker's CPU in opening a journey and kept a copy of every module per cached journey
# (bench items 2 and 6). They hold no mutable module state and do no I/O at import; the
# sandbox's run-time restrictions (no datetime.now, no I/O from workflow code) still apply, and
# the tests' workers keep the default sandbox, which re-imports and checks every import.
OWN_PACKAGES = ("workflows", "activities", "policy", "core", "models", "evaluation")
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*OWN_PACKAGES)
)


def build_worker(client: Client, settings: Settings) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            LearnerJourney,
            LatePaymentRefund,
            ComplaintWorkflow,
            GraduateRecordsPull,
            IndexRecomputeWorkflow,
        ],
        activities=build_activities(settings),
        workflow_runner=WORKFLOW_RUNNER,
        # Database and PDF activities are synchronous; they run on this pool.
        activity_executor=ThreadPoolExecutor(max_workers=16),
        # Failing activities are noted for the ops stuck view (activities/trouble.py).
        interceptors=[TroubleRecorder(engine_for(settings.database_url))],
    )


def worker_runtime(settings: Settings) -> Runtime | None:
    """The SDK's own metrics (task slots, poll and schedule latencies, activity failures) for
    Prometheus at `worker_metrics_address`; None without one (the default runtime, no metrics)."""
    if not settings.worker_metrics_address:
        return None
    metrics = PrometheusConfig(bind_address=settings.worker_metrics_address)
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


async def main() -> None:
    settings = get_settings()
    configure_logging("worker", settings.log_format)
    migrate(settings.database_url)
    from api.main import connect_temporal

    client = await connect_temporal(settings, runtime=worker_runtime(settings))
    await ensure_schedules(client, settings)
    logging.info("polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    await build_worker(client, settings).run()


if __name__ == "__main__":
    asyncio.run(main())
