"""A learner's complaint (投诉), its own workflow from filing to the learner's rating.

Filed → delivered through 12328 to the transport authority, the school, the association and
the platform operator (retried through 12328's outages until it answers) → the school answers
within the policy's working days (reminders before the deadline; past it the complaint is
escalated to the regulator and counted overdue) → the learner rates the handling (1-5, which
closes it) or reopens it once, with a new deadline. Unrated after the policy's window, it
closes by itself. Every change is written to the `complaint` row with a rising version.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.steps import call

with workflow.unsafe.imports_passed_through():
    from activities.complaints import FileCase, FiledCase, PushCaseUpdate, complaint_row
    from workflows.complaint_state import (
        MAX_HANDLING_EVENTS,
        ComplaintAnswer,
        ComplaintEventEntry,
        ComplaintInput,
        ComplaintOutcome,
        ComplaintRating,
        ComplaintReopen,
        ComplaintResult,
        ComplaintState,
        HandlingEvent,
    )


def refused(message: str) -> ApplicationError:
    """A business refusal of an Update: the caller gets 409 with this sentence."""
    return ApplicationError(message, type="ComplaintRefused", non_retryable=True)


@workflow.defn(name="Complaint")
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, inp: ComplaintInput) -> None:
        self._inp = inp
        self._s = ComplaintState()

    @workflow.run
    async def run(self, inp: ComplaintInput) -> ComplaintResult:
        s = self._s
        s.set_deadline(inp.rules, inp.filed_at, inp.rules.handling_working_days)
        await self._write()
        await self._deliver()
        while s.status != "closed":
            await self._wait_for_answer()
            await self._push("answered", s.answer)
            rated_or_reopened = await self._wait_until(
                lambda: s.status != "answered",
                workflow.now() + timedelta(seconds=inp.rules.rating_window_seconds),
            )
            if not rated_or_reopened:
                self._close(None, "")
                await self._write()
            if s.status == "delivered":  # reopened: the school answers again
                await self._push("reopened", s.reopen_reason)
        await self._push("closed", "" if s.rating is None else f"{s.rating} 星")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ComplaintResult(inp.complaint_id, s.status, s.overdue, s.reopened, s.rating)

    # ---- the steps ---------------------------------------------------------------------

    async def _deliver(self) -> None:
        s, inp = self._s, self._inp
        case = FileCase(
            inp.complaint_id, inp.school_id, inp.coach_id, inp.city_code, inp.category, inp.content
        )
        try:
            filed: FiledCase = await call(
                "complaints12328.file", case, result_type=FiledCase, on_rejection=refused
            )
        except ApplicationError as err:
            # 12328 refused the case: the platform still hands it to the school itself.
            self._event("refused", "12328", err.message)
            self._event("delivered", "school")
        else:
            s.case_no = filed.case_no
            for d in filed.deliveries:
                s.events.append(ComplaintEventEntry("delivered", d.delivered_at, d.recipient))
        s.status = "delivered"
        await self._write()

    async def _wait_for_answer(self) -> None:
        """Reminds the school before the deadline and escalates at it; returns once answered."""
        s = self._s

        def answered() -> bool:
            return s.status != "delivered"

        for at in s.reminders_at:
            if at <= workflow.now():
                continue  # 12328 was down past it: the next reminder or the deadline counts
            if await self._wait_until(answered, at):
                return
            self._event("reminder", "school", "投诉处理期限将至，请尽快答复")
            await self._write()
            await self._push("reminder", "投诉处理期限将至，请尽快答复")
        assert s.deadline_at is not None
        if await self._wait_until(answered, s.deadline_at):
            return
        s.overdue = True
        self._event("escalated", "transport_authority", "超过处理期限未答复，已提交监管部门")
        await self._write()
        await self._push("escalated", "超过处理期限未答复")
        await workflow.wait_condition(answered)

    async def _wait_until(self, done: Callable[[], bool], until: datetime) -> bool:
        """Whether `done()` came true before `until`."""
        left = (until - workflow.now()).total_seconds()
        if left <= 0:
            return bool(done())
        try:
            await workflow.wait_condition(done, timeout=timedelta(seconds=left))
        except TimeoutError:
            return False
        return True

    # ---- Updates and signals -------------------------------------------------------------

    @workflow.update
    async def answer(self, req: ComplaintAnswer) -> ComplaintOutcome:
        s = self._s
        if not (s.status == "answered" and s.answer == req.text):  # else a repeat
            s.status, s.answer, s.answered_by = "answered", req.text, req.staff_id
            s.answered_at = workflow.now()
            self._event("answered", req.staff_id, req.text)
            await self._write()
        return self._outcome()

    @answer.validator
    def _check_answer(self, req: ComplaintAnswer) -> None:
        s = self._s
        if s.status == "answered" and s.answer == req.text:
            return
        if s.status == "filed":
            raise refused("投诉尚未送达驾校，暂不能答复")
        if s.status != "delivered":
            raise refused("该投诉已答复，等待学员评价或已办结")

    @workflow.update
    async def rate(self, req: ComplaintRating) -> ComplaintOutcome:
        s = self._s
        if s.status != "closed":  # else a repeat of this very rating
            self._close(req.stars, req.comment)
            await self._write()
        return self._outcome()

    @rate.validator
    def _check_rate(self, req: ComplaintRating) -> None:
        s = self._s
        if not 1 <= req.stars <= 5:
            raise refused("评价须为 1 至 5 星")
        if s.status == "closed" and (s.rating, s.rating_comment) == (req.stars, req.comment):
            return
        if s.status == "closed":
            raise refused("该投诉已办结，不能再评价")
        if s.status != "answered":
            raise refused("驾校尚未答复，暂不能评价")

    @workflow.update
    async def reopen(self, req: ComplaintReopen) -> ComplaintOutcome:
        s = self._s
        if not s.reopened:  # else a repeat of this very reopening
            s.reopened, s.reopen_reason, s.status = True, req.reason, "delivered"
            s.answer, s.answered_by, s.answered_at = "", "", None
            self._event("reopened", self._inp.learner_id, req.reason)
            s.set_deadline(self._inp.rules, workflow.now(), self._inp.rules.reopen_working_days)
            await self._write()
        return self._outcome()

    @reopen.validator
    def _check_reopen(self, req: ComplaintReopen) -> None:
        s = self._s
        if s.reopened and s.status == "delivered" and s.reopen_reason == req.reason:
            return
        if s.status == "closed":
            raise refused("该投诉已办结，不能重新打开")
        if s.reopened:
            raise refused("每件投诉只能重新打开一次")
        if s.status != "answered":
            raise refused("驾校尚未答复，不能重新打开")

    @workflow.signal
    async def handling(self, e: HandlingEvent) -> None:
        """A handling step from 12328 (its signed callback); a duplicate is ignored."""
        s = self._s
        if e.event_id in s.handling_seen or len(s.handling_seen) >= MAX_HANDLING_EVENTS:
            return
        s.handling_seen.append(e.event_id)
        s.events.append(ComplaintEventEntry("handling", e.at, "12328", f"{e.kind}: {e.note}"))
        await self._write()

    @workflow.query
    def state(self) -> ComplaintState:
        return self._s

    # ---- helpers -------------------------------------------------------------------------

    def _close(self, stars: int | None, comment: str) -> None:
        s = self._s
        s.status, s.rating, s.rating_comment = "closed", stars, comment
        s.closed_at = workflow.now()
        if stars is None:
            self._event("closed", "platform_operator", "学员未在评价期内评价，自动办结")
        else:
            self._event("rated", self._inp.learner_id, f"{stars} 星 {comment}".strip())

    def _event(self, kind: str, party: str, text: str = "") -> None:
        self._s.events.append(ComplaintEventEntry(kind, workflow.now(), party, text))

    def _outcome(self) -> ComplaintOutcome:
        s = self._s
        return ComplaintOutcome(
            self._inp.complaint_id, s.status, s.deadline_at, s.reopened, s.rating
        )

    async def _push(self, kind: str, text: str) -> None:
        """Tells 12328 of a handling step (which delivers it on); keyed by the step's place."""
        s = self._s
        if not s.case_no:
            return
        key = f"{workflow.info().workflow_id}:{kind}:{len(s.events)}"
        await call("complaints12328.push", PushCaseUpdate(s.case_no, key, kind, text))

    async def _write(self) -> None:
        self._s.version += 1
        row = complaint_row(self._inp, self._s, workflow.info().workflow_id)
        await call("complaints.write", row)
