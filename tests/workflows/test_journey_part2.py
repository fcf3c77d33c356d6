"""Stages 6–9 on the time-skipping server: training, the exam gate, graduation and follow-up,
under both release models, with the ledger checked against the bank after each."""

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.factories import (
    C1_TUITION,
    SERVICES,
    current_view,
    final_state,
    journey_input,
    policy,
    until,
)
from tests.workflows.conftest import Harness
from tests.workflows.drive import (
    finish_subject,
    next_hour,
    pass_health,
    pass_stage_report,
    pay,
    practical_session,
    publish,
    refusal,
    send_record,
    sit_exam,
    to_training,
    today,
    train_practical,
    train_theory_like,
)
from workflows.journey import LearnerJourney
from workflows.journey_state import (
    BookExam,
    BookSlotRequest,
    CancelBookingRequest,
    CoachChangeRequest,
    FollowupReview,
    NoShowReport,
    RateStage,
    RecordDecision,
    SchoolCancelled,
    SignContract,
    StaffDecision,
    StageReportAction,
    Transfer,
    Withdraw,
)

FIELD_RATE = 12000  # demo school S371100001's normal field rate (models/demo.py)
ROAD_RATE = 13000


async def graduate(h: Harness, handle, school_id: str = "S371100001") -> None:  # type: ignore[no-untyped-def]
    for subject in ("theory", "field", "road", "safety"):
        await finish_subject(h, handle, subject, school_id)
    await until(handle, lambda v: v.state.stage == "followup")


async def test_c1_learner_from_payment_to_closed_per_hour(harness: Harness) -> None:
    handle = await to_training(harness)
    await graduate(harness, handle)
    await handle.execute_update(
        LearnerJourney.add_followup_review, FollowupReview(5, 5, "教练耐心，考试一次通过")
    )
    result = await handle.result()
    assert (result.stage, result.status) == ("closed", "completed")
    assert result.certificate_no.startswith("JY")
    assert result.archive["certificate"] == "cert-sha"
    # Every required hour was confirmed at the normal rate: the school earned the tuition.
    assert result.money.released_fen == C1_TUITION and result.money.held_fen == 0
    harness.assert_ledger_matches_bank(handle.id, held=0)
    assert ("graduate", result.certificate_no) in harness.fakes.calls
    assert harness.fakes.archive is not None and len(harness.fakes.archive.records) > 10
    practical = [r for r in harness.fakes.archive.records if r.subject in ("field", "road")]
    assert {(r.coach_name, r.vehicle_plate) for r in practical} == {("王建国", "鲁L00009学")}
    await harness.keep_history(handle, "part2_graduated_per_hour")


async def test_c1_learner_under_the_staged_model(harness: Harness) -> None:
    fuzhou = policy("fuzhou")
    handle = await to_training(harness, journey_input(fuzhou, school_id="S350100001"))
    view = await handle.query(LearnerJourney.view)
    tuition = view.state.tuition_fen
    assert view.state.money.released_fen == tuition * 10 // 100  # 10% on payment
    await graduate(harness, handle, "S350100001")
    s = (await handle.query(LearnerJourney.view)).state
    # 10% + 3 x 30% as the stages were approved; the rest is settled at graduation.
    assert (s.money.released_fen, s.money.refunded_fen) == (tuition, 0)
    assert [st.detail for st in s.steps if st.step == "payment"][-1]  # invoiced
    harness.assert_ledger_matches_bank(handle.id, held=0)


async def test_theory_daily_cap_and_remote_limit(harness: Harness) -> None:
    handle = await to_training(harness)
    day = await next_hour(harness, days=harness.next_practical_day())
    await send_record(harness, handle, "theory", "classroom", day, 240)
    await send_record(harness, handle, "theory", "classroom", day + timedelta(hours=5), 120)
    view = await handle.query(LearnerJourney.view)
    assert [r.counted_minutes for r in view.state.records] == [240, 0]  # 4 学时 a day
    # Remote hours count only up to required - classroom minimum (12 - 6 = 6 学时).
    for d in range(2, 5):
        await send_record(harness, handle, "theory", "remote", day + timedelta(days=d), 240)
    view = await handle.query(LearnerJourney.view)
    theory = view.state.subjects["theory"]
    assert (theory.remote_minutes, theory.counted_minutes) == (360, 600)
    # Six remote 学时 cannot stand in for the missing classroom ones.
    assert "学时未满" in await refusal(
        handle, LearnerJourney.confirm_theory, RateStage("theory", 5, 5)
    )


async def test_exam_gate_closed_below_hours_and_before_report(harness: Harness) -> None:
    handle = await to_training(harness)
    exam = BookExam("theory", (await today(harness) + timedelta(days=3)).isoformat())
    assert "学时未满" in await refusal(handle, LearnerJourney.book_exam, exam)
    await train_theory_like(harness, handle, "theory")
    exam = BookExam("theory", (await today(harness) + timedelta(days=3)).isoformat())
    assert "阶段报审尚未通过" in await refusal(handle, LearnerJourney.book_exam, exam)
    assert "驾校提交" in await refusal(
        handle,
        LearnerJourney.stage_report,
        StageReportAction("theory", "U-learner1", role="learner"),
    )
    await pass_stage_report(handle, "theory")
    assert ("eligible", "1") in harness.fakes.calls
    await handle.execute_update(LearnerJourney.book_exam, exam)


async def test_rejected_stage_report_goes_back_to_the_school(harness: Harness) -> None:
    handle = await to_training(harness)
    await train_theory_like(harness, handle, "theory")
    for actor, role in (("U-school1", "school_staff"), ("U-learner1", "learner")):
        await handle.execute_update(
            LearnerJourney.stage_report, StageReportAction("theory", actor, role=role)
        )
    await handle.execute_update(
        LearnerJourney.stage_report,
        StageReportAction(
            "theory", "U-rizhao", approve=False, reason="课堂学时照片缺失", role="regulator"
        ),
    )
    view = await until(handle, lambda v: v.state.waiting_on == "school")
    assert view.state.subjects["theory"].report.status == "rejected"
    assert not view.state.subjects["theory"].exam.eligible
    await pass_stage_report(handle, "theory")


async def test_failed_exam_waits_ten_days_and_five_attempts_end_it(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await train_practical(harness, handle, "field")
    await pass_stage_report(handle, "field")
    exam_day = await today(harness) + timedelta(days=20)
    await sit_exam(harness, handle, "field", exam_day, passed=False)
    too_soon = BookExam("field", (exam_day + timedelta(days=9)).isoformat())
    assert "重新预约" in await refusal(handle, LearnerJourney.book_exam, too_soon)
    for attempt in range(1, 5):
        await sit_exam(
            harness, handle, "field", exam_day + timedelta(days=10 * attempt), passed=False
        )
    result = await handle.result()
    assert result.status == "failed" and "次数用尽" in result.end_reason
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await harness.keep_history(handle, "failed_exams_and_retakes")


async def test_learning_permit_expiry_ends_the_journey(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await until(handle, lambda v: v.state.stage == "field")
    await harness.sleep(timedelta(days=3 * 365 + 5))
    result = await handle.result()
    assert result.status == "failed" and "学习驾驶证明已过有效期" in result.end_reason
    harness.assert_ledger_matches_bank(handle.id, held=0)


async def test_invalid_minutes_never_count_or_pay(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    start = await next_hour(harness, days=harness.next_practical_day())
    await practical_session(
        harness, handle, "field", "S371100001", start, 4, invalid_minutes=60, reason="人脸比对失败"
    )
    view = await handle.query(LearnerJourney.view)
    record = view.state.records[-1]
    assert (record.valid_minutes, record.counted_minutes, record.invalid_minutes) == (180, 180, 60)
    assert record.paid_fen == 3 * FIELD_RATE
    assert view.state.subjects["field"].confirmed_minutes == 180


async def test_disputed_record_is_held_unpaid(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    start = await next_hour(harness, days=harness.next_practical_day())
    released_before = (await handle.query(LearnerJourney.view)).state.money.released_fen
    record_no = await practical_session(
        harness, handle, "field", "S371100001", start, 2, confirm=False
    )
    await handle.execute_update(
        LearnerJourney.confirm_record, RecordDecision(record_no, dispute_reason="教练未到场")
    )
    view = await handle.query(LearnerJourney.view)
    assert view.state.records[-1].status == "disputed"
    assert view.state.money.released_fen == released_before
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LearnerJourney.confirm_record, RecordDecision(record_no))


async def test_double_booking_and_late_cancellation_fee(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    start = await next_hour(harness, days=harness.next_practical_day() + 1)
    first = publish(harness, "S371100001", "field", start, 2)
    other = publish(
        harness, "S371100001", "field", start, 2, coach="K2", vehicle="SIM1", kind="simulator"
    )
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(first))
    with pytest.raises(WorkflowUpdateFailedError):  # the learner is busy at that hour
        await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(other))
    # 47 hours before: early, free. Then a booking 2 hours ahead, cancelled late: 50% fee.
    early = await handle.execute_update(
        LearnerJourney.cancel_booking, CancelBookingRequest(booked.booking_id)
    )
    soon = (await harness.env.get_current_time()).replace(
        minute=0, second=0, microsecond=0
    ) + timedelta(hours=3)
    late = publish(harness, "S371100001", "field", soon, 2)
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(late))
    cancelled = await handle.execute_update(
        LearnerJourney.cancel_booking, CancelBookingRequest(booked.booking_id)
    )
    assert [early.amount_fen, cancelled.amount_fen] == [0, 2 * FIELD_RATE // 2]
    assert (early.item_status, cancelled.item_status) == ("cancelled", "cancelled")
    state = (await current_view(handle)).state
    assert [b.fee_fen for b in state.bookings] == [0, 2 * FIELD_RATE // 2]
    assert state.due.fees_fen == FIELD_RATE
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)


async def test_withdrawal_mid_practical_refunds_exactly_the_unearned(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await train_practical(harness, handle, "field", hours=6)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("工作调动"))
    result = await handle.result()
    earned = 30000 + 40000 + 6 * FIELD_RATE  # services + theory + six confirmed field hours
    assert (result.money.released_fen, result.money.refunded_fen) == (earned, C1_TUITION - earned)
    harness.assert_ledger_matches_bank(handle.id, held=0)


async def test_withdrawal_mid_practical_under_the_staged_model(harness: Harness) -> None:
    handle = await to_training(harness, journey_input(policy("fuzhou"), school_id="S350100001"))
    await finish_subject(harness, handle, "theory", "S350100001")
    await train_practical(harness, handle, "field", "S350100001", hours=4)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("搬家"))
    state = await final_state(handle)
    tuition = state.tuition_fen
    staged = tuition * 10 // 100 + tuition * 30 // 100  # enrolment + theory shares
    earned = 33000 + 43000 + 4 * 15000  # Fuzhou's demo fees: services, theory, field hours
    assert state.money.released_fen == max(staged, earned)
    assert state.money.refunded_fen == tuition - state.money.released_fen
    harness.assert_ledger_matches_bank(handle.id, held=0)
    await harness.keep_history(handle, "part2_staged_withdrawn_mid_practical")


async def test_transfer_carries_confirmed_hours_to_the_new_school(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await train_practical(harness, handle, "field", hours=8)
    new_school = journey_input(school_id="S371100002")
    await handle.execute_update(LearnerJourney.transfer, Transfer("离家更近", new_school))
    result = await handle.result()
    assert (result.status, result.transferred_to) == (
        "transferred",
        "journey-U-learner1-S371100002-C1",
    )
    earned = SERVICES + 40000 + 8 * FIELD_RATE
    assert (result.money.released_fen, result.money.refunded_fen) == (earned, C1_TUITION - earned)
    harness.assert_ledger_matches_bank(handle.id, held=0)
    # The new school's journey signs its own contract and takes its own payment, then trains
    # from where the learner stood: theory passed, eight field hours done.
    child = harness.follow(result.transferred_to)
    await until(child, lambda v: v.state.stage == "health_check")
    await pass_health(harness, child)
    await until(child, lambda v: v.state.stage == "signing")
    await child.execute_update(LearnerJourney.approve_signing, StaffDecision("U-school2"))
    await until(child, lambda v: v.state.contract.preview_sha256 != "")
    await child.execute_update(LearnerJourney.sign_contract, SignContract("iVBORw0KGgo="))
    await until(child, lambda v: v.state.stage == "payment")
    await pay(harness, child)
    view = await until(child, lambda v: v.state.stage == "field")
    field = view.state.subjects["field"]
    assert (field.carried_minutes, view.state.subjects["theory"].exam.passed) == (480, True)
    assert view.state.permit_issued_at == (await final_state(handle)).permit_issued_at
    await train_practical(harness, child, "field", "S371100002", hours=8)
    await pass_stage_report(child, "field")  # 8 carried + 8 new = the 16 required
    await harness.keep_history(handle, "transfer")
    await harness.keep_history(child, "transferred_in")


async def test_hundreds_of_sessions_continue_as_new_and_complete(harness: Harness) -> None:
    """A learner who needs 150 one-hour field sessions: the history is cut by continue-as-new
    (here every 1,500 events) and the journey carries on with its state intact."""
    pol = policy()
    pol.hours["C1"].field = 150
    pol.training.practical_daily_cap_hours = 24
    inp = replace(journey_input(pol), history_limit=1500)
    handle = await to_training(harness, inp)
    await finish_subject(harness, handle, "theory")
    await until(handle, lambda v: v.state.stage == "field")
    done = 0
    while done < 150:
        day = await next_hour(harness, days=harness.next_practical_day(), hour=0)
        for hour in range(min(20, 150 - done)):
            await practical_session(
                harness, handle, "field", "S371100001", day + timedelta(hours=hour), 1
            )
            done += 1
    view = await handle.query(LearnerJourney.view)
    field = view.state.subjects["field"]
    assert (field.confirmed_minutes, len(view.state.records)) == (150 * 60, 150 + 4)
    assert view.state.runs >= 3
    assert view.state.money.released_fen == SERVICES + 40000 + 150 * FIELD_RATE
    await pass_stage_report(handle, "field")


async def test_school_cancellation_is_free_and_credits_the_learner(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await until(handle, lambda v: v.state.stage == "field")
    slot = publish(
        harness,
        "S371100001",
        "field",
        await next_hour(harness, days=harness.next_practical_day()),
        2,
    )
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(slot))
    booking = booked.booking_id
    await handle.signal(LearnerJourney.school_cancelled, SchoolCancelled(booking, "教练车故障"))
    view = await until(handle, lambda v: v.state.bookings[-1].status == "cancelled")
    credit = policy().training.school_cancel_credit_fen
    assert (view.state.bookings[-1].cancelled_by, view.state.bookings[-1].fee_fen) == ("school", 0)
    assert view.state.credit_fen == credit
    # The credit comes off what the school is paid next: the learner keeps it in escrow.
    await practical_session(
        harness,
        handle,
        "field",
        "S371100001",
        await next_hour(harness, days=harness.next_practical_day() + 1),
        2,
    )
    state = (await handle.query(LearnerJourney.view)).state
    assert state.money.released_fen == SERVICES + 40000 + 2 * FIELD_RATE - credit
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)


async def test_no_show_costs_the_policy_fee(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await until(handle, lambda v: v.state.stage == "field")
    slot = publish(
        harness,
        "S371100001",
        "field",
        await next_hour(harness, days=harness.next_practical_day()),
        2,
    )
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(slot))
    no_show = NoShowReport(booked.booking_id, "U-school1")
    await harness.sleep(timedelta(days=2))  # the session's time passes; nobody came
    missed = await handle.execute_update(LearnerJourney.report_no_show, no_show)
    assert (missed.item_status, missed.amount_fen) == ("no_show", 2 * FIELD_RATE)
    state = (await current_view(handle)).state
    assert state.money.released_fen == SERVICES + 40000 + 2 * FIELD_RATE
    harness.assert_ledger_matches_bank(handle.id, held=state.money.held_fen)
    # A session that has not ended yet cannot be called a no-show.
    later = publish(
        harness,
        "S371100001",
        "field",
        await next_hour(harness, days=harness.next_practical_day()),
        2,
    )
    booked = await handle.execute_update(LearnerJourney.book_slot, BookSlotRequest(later))
    early = NoShowReport(booked.booking_id, "U-school1")
    assert "未到预约结束时间" in await refusal(handle, LearnerJourney.report_no_show, early)
    await harness.keep_history(handle, "no_show")


async def test_coach_change_needs_the_schools_approval(harness: Harness) -> None:
    handle = await to_training(harness)
    change = CoachChangeRequest("S371100001-K2", "李春梅", "沟通不畅")
    first = await handle.execute_update(LearnerJourney.request_coach_change, change)
    again = await handle.execute_update(LearnerJourney.request_coach_change, change)
    assert (first.item_status, again.item_status, again.repeat) == ("requested", "requested", True)
    other = CoachChangeRequest("S371100001-K3", "赵六", "沟通不畅")
    assert "已有待审批" in await refusal(handle, LearnerJourney.request_coach_change, other)
    reject = StageReportAction("", "U-school1", approve=False, role="school_staff")
    assert "驳回时请填写理由" in await refusal(handle, LearnerJourney.decide_coach_change, reject)
    decided = await handle.execute_update(
        LearnerJourney.decide_coach_change, StageReportAction("", "U-school1", role="school_staff")
    )
    assert decided.item_status == "approved"
    state = (await current_view(handle)).state
    assert (state.coach_id, state.coach_change.status) == ("S371100001-K2", "approved")
    assert (await handle.query(LearnerJourney.view)).coach_id == "S371100001-K2"
    await harness.keep_history(handle, "coach_change")


async def test_archive_names_each_sessions_coach_and_car(harness: Harness) -> None:
    handle = await to_training(harness)
    await finish_subject(harness, handle, "theory")
    await train_practical(harness, handle, "field", hours=4)
    await handle.execute_update(LearnerJourney.withdraw, Withdraw("测试档案"))
    booking = (await final_state(handle)).bookings[-1]
    assert (booking.coach_name, booking.vehicle_plate) == ("王建国", "鲁L00009学")
