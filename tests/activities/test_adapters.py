"""The subsystem adapters against the simulators over HTTP: the journey's keys are longer than
the subsystems' 64-character ids, and a filing that changes is filed again, not refused."""

from collections.abc import AsyncIterator

import httpx
import pytest

from activities.bank import BankActivities, CreateOrder, MoveHeldMoney
from activities.exam12123 import Eligibility, ExamActivities, ExamBooking
from activities.http import MAX_EXTERNAL_ID, SubsystemClient, external_id
from activities.national import NationalActivities, RegisterLearner, UploadRecord
from activities.timing import FileParties, TimingActivities
from core.config import DEMO_WEBHOOK_SECRETS
from subsystems.runner import Simulators, run_simulators
from tests.factories import VALID_ID

WF = "journey-U-a-rather-long-learner-id-S371100001-C1"
RECORD_NO = "20000000000000012611230001"


@pytest.fixture
async def sims() -> AsyncIterator[Simulators]:
    async with run_simulators(None, DEMO_WEBHOOK_SECRETS) as sims:
        yield sims


def client(sims: Simulators, name: str) -> SubsystemClient:
    return SubsystemClient(name, sims.urls[name], timeout=5)


def test_external_ids_fit_and_stay_distinct() -> None:
    assert external_id("journey-1:register") == "journey-1:register"
    a, b = f"{WF}:upload-{RECORD_NO}", f"{WF}:upload-{RECORD_NO[:-1]}2"
    assert len(external_id(a)) == MAX_EXTERNAL_ID
    assert external_id(a) == external_id(a) != external_id(b)
    assert external_id(a).startswith(a[:30])  # still readable


async def test_national_takes_a_record_uploaded_under_a_long_key(sims: Simulators) -> None:
    national = NationalActivities(client(sims, "national"))
    learner_no = await national.register_learner(
        RegisterLearner(f"{WF}:register", "S371100001", "张三", VALID_ID, "13800138000", "C1")
    )
    upload = UploadRecord(f"{WF}:upload-{RECORD_NO}", learner_no, RECORD_NO, "theory", 60)
    assert len(upload.request_id) > MAX_EXTERNAL_ID
    await national.upload_record(upload)
    await national.upload_record(upload)  # a retry is the same request


async def test_the_bank_releases_under_a_long_key_once(sims: Simulators) -> None:
    bank = BankActivities(client(sims, "bank"), "http://127.0.0.1:9/none")
    order = CreateOrder(f"{WF}:pay-1", "ESC-S371100001", WF, 10000, "alipay", "培训费")
    await bank.create_order(order)
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{sims.urls['bank']}/_simulate/orders/{order.order_id}/pay")
        assert r.status_code == 200, r.text
    move = MoveHeldMoney(
        f"{WF}:release:record-{RECORD_NO}-12", "ESC-S371100001", WF, 3000, "按合同拨付"
    )
    first, again = await bank.release(move), await bank.release(move)
    assert first == again
    # Part of it comes back to the learner from the school's settlement (a credit).
    clawback = MoveHeldMoney(f"{WF}:clawback:withdrawn", "ESC-S371100001", WF, 1000, "补偿")
    assert await bank.claw_back(clawback) == await bank.claw_back(clawback)
    async with httpx.AsyncClient() as http:
        rows = (await http.get(f"{sims.urls['bank']}/reconciliation")).json()
    assert [
        (r["deposited"], r["released"], r["refunded"]) for r in rows if r["payer_ref"] == WF
    ] == [(10000, 2000, 1000)]


async def test_an_exam_booking_is_cancelled_at_12123(sims: Simulators) -> None:
    exam = ExamActivities(client(sims, "exam"), "http://127.0.0.1:9/none")
    national = NationalActivities(client(sims, "national"))
    learner_no = await national.register_learner(
        RegisterLearner(f"{WF}:register", "S371100001", "张三", VALID_ID, "13800138000", "C1")
    )
    await exam.push_eligibility(
        Eligibility(f"{WF}:eligible-theory", learner_no, WF, 1, "C1", "S371100001", f"{WF}:t")
    )
    booking = ExamBooking(f"{WF[-20:]}:exam-theory-1", learner_no, 1, "2026-12-20", "日照考场")
    await exam.book(booking)
    await exam.cancel(booking.booking_id)
    await exam.cancel(booking.booking_id)  # a retry is harmless
    store = sims.apps["exam"].state.sim.store
    row = store.one("SELECT status FROM bookings WHERE booking_id = ?", (booking.booking_id,))
    assert row is not None and row["status"] == "cancelled"


async def test_a_changed_timing_filing_is_filed_again(sims: Simulators) -> None:
    timing = TimingActivities(client(sims, "timing"))
    parties = FileParties("L000000000000001", "S371100001", "张三", "C1", "K1", "王建国")
    await timing.file_parties(parties)
    await timing.file_parties(parties)  # idempotent
    # The same person enrols for another class (or at another school): a change, not a clash.
    await timing.file_parties(
        FileParties("L000000000000001", "S371100003", "张三", "C2", "K1", "王建国")
    )
    store = sims.apps["timing"].state.sim.store
    row = store.one(
        "SELECT school_id, vehicle_class FROM learners WHERE learner_no = ?", ("L000000000000001",)
    )
    assert row is not None and (row["school_id"], row["vehicle_class"]) == ("S371100003", "C2")
