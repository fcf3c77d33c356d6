"""The complaint workflow on the time-skipping server, against the 12328 simulator over real
HTTP and a real SQLite read model: delivery through an outage, reminders and escalation on a
working-day deadline that spans a holiday, the answer, the rating, one reopening."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.complaints import ComplaintRecordActivities, Complaints12328Activities
from activities.http import SubsystemClient
from core.db import make_engine, migrate
from models.complaints import Complaint, ComplaintEvent
from models.demo import load_demo_data
from policy.calendar import CHINA
from policy.model import ComplaintRules
from subsystems import complaints12328
from subsystems.runner import serve_apps
from tests import servers
from tests.workflows.conftest import keep_history
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_state import (
    ComplaintAnswer,
    ComplaintInput,
    ComplaintOutcome,
    ComplaintRating,
    ComplaintReopen,
    ComplaintResult,
    complaint_workflow_id,
)

SECRET = "complaint-test-secret"
SCHOOL = "S371100001"
HISTORY = Path(__file__).parent.parent / "data" / "histories" / "complaint"
# A calendar for the test (not an official one): 国庆 from Friday 1 to Thursday 7 October
# 2027, Saturday 9 October worked (调休).
HOLIDAY_RULES = ComplaintRules(
    handling_working_days=5,
    reopen_working_days=2,
    reminder_working_days_before=[3, 1],
    rating_window_seconds=7 * 86400,
    holidays=[f"2027-10-0{d}" for d in range(1, 8)],
    makeup_workdays=["2027-10-09"],
)
FILED = datetime(2027, 9, 29, 10, 0, tzinfo=CHINA)  # a Wednesday


@dataclass
class Rig:
    env: WorkflowEnvironment
    engine: Engine
    queue: str
    sim_url: str
    http: httpx.AsyncClient

    async def file(
        self, filed_at: datetime, rules: ComplaintRules = HOLIDAY_RULES
    ) -> WorkflowHandle:
        complaint_id = f"CP-{uuid.uuid4().hex[:12]}"
        inp = ComplaintInput(
            complaint_id=complaint_id,
            learner_id="U-learner1",
            journey_id="journey-U-learner1-S371100001-C1",
            school_id=SCHOOL,
            coach_id=f"{SCHOOL}-K1",
            city_code="371100",
            source="general",
            source_ref=None,
            category="fees",
            content="驾校额外收取考试费",
            filed_at=filed_at,
            rules=rules,
        )
        return await self.env.client.start_workflow(
            ComplaintWorkflow.run,
            inp,
            id=complaint_workflow_id(complaint_id),
            task_queue=self.queue,
            result_type=ComplaintResult,
        )

    def row(self, handle: WorkflowHandle) -> Complaint | None:
        with Session(self.engine) as session:
            return session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).first()

    def events(self, handle: WorkflowHandle) -> list[tuple[str, str | None]]:
        row = self.row(handle)
        assert row is not None
        with Session(self.engine) as session:
            found = session.exec(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == row.id)
                .order_by(col(ComplaintEvent.seq))
            ).all()
        return [(e.kind, e.party) for e in found]

    async def until_row(
        self, handle: WorkflowHandle, check: Callable[[Complaint], bool]
    ) -> Complaint:
        """Waits until the row the workflow writes passes `check` (activities run in real time)."""
        for _ in range(400):
            row = self.row(handle)
            if row is not None and check(row):
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"complaint row never got there: {self.row(handle)}")

    async def skip_to(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        assert moment > now, (moment, now)
        await servers.skip_time(self.env, moment - now)

    async def faults(self, **settings: object) -> None:
        r = await self.http.put(f"{self.sim_url}/_faults", json=settings)
        assert r.status_code == 200, r.text

    async def case(self, case_no: str) -> dict:
        r = await self.http.get(f"{self.sim_url}/cases/{case_no}")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def rig(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Rig]:
    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo_data(session)
    app = complaints12328.create_app(":memory:", SECRET)
    async with serve_apps({"complaints": app}) as urls, httpx.AsyncClient() as http:
        client = SubsystemClient("complaints", urls["complaints"], 5.0)
        adapter = Complaints12328Activities(client, "http://127.0.0.1:9/api/webhooks/complaints")
        records = ComplaintRecordActivities(engine)
        queue = f"complaints-{uuid.uuid4().hex}"
        async with Worker(
            ts_env.client,
            task_queue=queue,
            workflows=[ComplaintWorkflow],
            activities=[adapter.file, adapter.push, records.write],
            activity_executor=ThreadPoolExecutor(4),
        ):
            yield Rig(ts_env, engine, queue, urls["complaints"], http)
        await client.aclose()
    engine.dispose()


async def test_delivery_retries_through_a_12328_outage_and_recovers(rig: Rig) -> None:
    await rig.faults(error_rate=1)
    handle = await rig.file(await rig.env.get_current_time())
    filed = await rig.until_row(handle, lambda r: r.version >= 1)
    assert (filed.status, filed.case_no) == ("filed", None)
    # 12328 keeps answering 503: the workflow keeps trying, it does not fail.
    for _ in range(200):
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].attempt >= 3:
            break
        await servers.skip_time(rig.env, 2)
    else:
        raise AssertionError("the filing was not retried")
    assert rig.row(handle).status == "filed"  # type: ignore[union-attr]

    await rig.faults(error_rate=0)
    await servers.skip_time(rig.env, 60)
    row = await rig.until_row(handle, lambda r: r.status == "delivered")
    assert row.case_no is not None and row.case_no.startswith("12328-371100-")
    assert [party for kind, party in rig.events(handle) if kind == "delivered"] == [
        "transport_authority",
        "school",
        "association",
        "platform_operator",
    ]
    case = await rig.case(row.case_no)
    assert case["complaint_ref"] == row.id and len(case["deliveries"]) == 4
    await handle.terminate("test done")


async def test_reminders_then_escalation_on_a_deadline_across_national_day(rig: Rig) -> None:
    await rig.skip_to(FILED)
    handle = await rig.file(FILED)
    row = await rig.until_row(handle, lambda r: r.status == "delivered")
    # Checked by hand: Thu 30 Sep is working day 1; 1-7 October are off; Fri 8 Oct 2, Sat 9
    # Oct (调休) 3, Mon 11 Oct 4, Tue 12 Oct 5: the deadline is the end of 12 October. Without
    # the holiday it would have been the end of 6 October.
    assert row.deadline_at == datetime(2027, 10, 13, tzinfo=CHINA)
    # Reminders with 3 and 1 working days left: the end of 8 and of 11 October.
    assert row.due_soon_at == datetime(2027, 10, 9, tzinfo=CHINA)

    await rig.skip_to(datetime(2027, 10, 8, 23, tzinfo=CHINA))
    assert "reminder" not in [k for k, _ in rig.events(handle)]
    await rig.skip_to(datetime(2027, 10, 9, 0, 5, tzinfo=CHINA))
    await rig.until_row(handle, lambda r: ("reminder", "school") in rig.events(handle))
    await rig.skip_to(datetime(2027, 10, 12, 23, 59, tzinfo=CHINA))
    row = await rig.until_row(
        handle, lambda r: rig.events(handle).count(("reminder", "school")) == 2
    )
    assert not row.overdue

    await rig.skip_to(datetime(2027, 10, 13, 0, 1, tzinfo=CHINA))
    row = await rig.until_row(handle, lambda r: r.overdue)
    assert row.status == "delivered"
    assert ("escalated", "transport_authority") in rig.events(handle)
    assert row.case_no is not None
    kinds = [u["kind"] for u in (await rig.case(row.case_no))["updates"]]
    assert kinds == ["reminder", "reminder", "escalated"]

    # Answered late, then rated: it closes, and stays counted as overdue.
    await handle.execute_update(ComplaintWorkflow.answer, ComplaintAnswer("U-school1", "已退费"))
    await handle.execute_update(ComplaintWorkflow.rate, ComplaintRating(2, "太慢"))
    result = await handle.result()
    assert result == ComplaintResult(row.id, "closed", True, False, 2)
    row = await rig.until_row(handle, lambda r: r.status == "closed")
    assert (row.rating, row.overdue, row.answer) == (2, True, "已退费")
    kinds = [u["kind"] for u in (await rig.case(row.case_no))["updates"]]
    assert kinds == ["reminder", "reminder", "escalated", "answered", "closed"]
    await keep_history(handle, "overdue_answered_rated", HISTORY)


async def test_reopened_once_with_a_new_deadline_and_refused_the_second_time(rig: Rig) -> None:
    await rig.skip_to(FILED)
    handle = await rig.file(FILED)
    await rig.until_row(handle, lambda r: r.status == "delivered")
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(ComplaintWorkflow.rate, ComplaintRating(5))
    assert early.value.cause.message == "驾校尚未答复，暂不能评价"

    answer = ComplaintAnswer("U-school1", "考试费为代收，已出具票据")
    await rig.skip_to(datetime(2027, 9, 30, 15, tzinfo=CHINA))
    first = await handle.execute_update(ComplaintWorkflow.answer, answer)
    assert first.status == "answered"
    again = await handle.execute_update(ComplaintWorkflow.answer, answer)  # a double click
    assert again == first

    reopened: ComplaintOutcome = await handle.execute_update(
        ComplaintWorkflow.reopen, ComplaintReopen("票据不是正式发票")
    )
    # Reopened on Thu 30 Sep: 2 working days are Fri 8 and Sat 9 October (调休).
    assert (reopened.status, reopened.reopened) == ("delivered", True)
    assert reopened.deadline_at == datetime(2027, 10, 10, tzinfo=CHINA)
    row = await rig.until_row(handle, lambda r: r.reopened)
    assert (row.status, row.answer, row.deadline_at) == (
        "delivered",
        None,
        datetime(2027, 10, 10, tzinfo=CHINA),
    )

    await handle.execute_update(ComplaintWorkflow.answer, ComplaintAnswer("U-school1", "已开发票"))
    with pytest.raises(WorkflowUpdateFailedError) as second:
        await handle.execute_update(ComplaintWorkflow.reopen, ComplaintReopen("还是不满意"))
    assert second.value.cause.message == "每件投诉只能重新打开一次"

    rated = await handle.execute_update(ComplaintWorkflow.rate, ComplaintRating(4, "解决了"))
    assert (rated.status, rated.rating) == ("closed", 4)
    result = await handle.result()
    assert (result.status, result.reopened, result.overdue, result.rating) == (
        "closed",
        True,
        False,
        4,
    )
    row = await rig.until_row(handle, lambda r: r.status == "closed")
    kinds = [k for k, _ in rig.events(handle)]
    assert kinds[-4:] == ["answered", "reopened", "answered", "rated"] and "delivered" in kinds
    await keep_history(handle, "reopened_once_then_rated", HISTORY)


async def test_an_answer_left_unrated_closes_by_itself(rig: Rig) -> None:
    rules = ComplaintRules(rating_window_seconds=3 * 86400)
    handle = await rig.file(await rig.env.get_current_time(), rules)
    await rig.until_row(handle, lambda r: r.status == "delivered")
    await handle.execute_update(ComplaintWorkflow.answer, ComplaintAnswer("U-school1", "已处理"))
    await servers.skip_time(rig.env, timedelta(days=3, minutes=1))
    result = await handle.result()
    assert (result.status, result.rating) == ("closed", None)
    row = await rig.until_row(handle, lambda r: r.status == "closed")
    assert row.closed_at is not None
    assert rig.events(handle)[-1] == ("closed", "platform_operator")
