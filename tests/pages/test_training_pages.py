"""Training on the pages: a learner books and cancels a slot on the booking calendar, confirms
one session's record and disputes another; the school contests the dispute on its console and
the regulator rules on it on the dashboard. The demo script brings the journey to 科目二."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from models.demo import DEMO_PASSWORD
from models.training import CHINA
from scripts.demo_journey import Demo, applicant
from tests.e2e import Platform, demo_urls, platform
from tests.pages.test_access import csrf


def flash(html: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]+)', html))


def forms(html: str, action: str) -> list[str]:
    """The form keys of every form posting to an action ending in `action`."""
    return re.findall(
        rf'action="[^"]*{re.escape(action)}"[^>]*>\s*<input type="hidden" name="csrf" '
        r'value="[^"]+"><input type="hidden" name="form_key" value="([0-9a-f]+)">',
        html,
    )


async def paid_up(p: Platform, http: httpx.AsyncClient, learner: str) -> Demo:
    """The demo script takes `learner` from sign-up to a paid contract."""
    demo = Demo(http, demo_urls(p), learner, lambda _: None, 60.0, DEMO_PASSWORD)
    for step in (demo.enrol, demo.health_check, demo.signing, demo.contract, demo.payment):
        await step()
    return demo


@asynccontextmanager
async def signed_in(p: Platform, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's cookie jar, signed in on the login page."""
    async with httpx.AsyncClient(base_url=p.settings.api_base_url, timeout=30) as b:
        login = {"csrf": await csrf(b, "/login"), "username": username, "password": DEMO_PASSWORD}
        r = await b.post("/login", data=login)
        assert r.status_code == 303, r.text
        yield b


async def post_form(b: httpx.AsyncClient, page: str, action: str, **fields: str) -> str:
    """Posts a form of `page` (with its CSRF token) and answers the message shown after it."""
    data = {"csrf": await csrf(b, page), "form_key": uuid.uuid4().hex, **fields}
    r = await b.post(action, data=data, follow_redirects=True)
    return flash(r.text)


async def theory_report_and_exam_on_the_pages(p: Platform, demo: Demo) -> None:
    """阶段报审 on the three ports' pages, then the learner books the exam on theirs."""
    wf_id, journey = demo.wf_id, f"/learner/journeys/{demo.wf_id}"
    async with signed_in(p, "school1") as school:
        assert wf_id in (await school.get("/school/reports")).text
        said = await post_form(
            school, "/school/reports", f"/school/journeys/{wf_id}/stages/theory/report"
        )
        assert "阶段报审已提交" in said, said
    async with signed_in(p, "learner1") as learner:
        said = await post_form(learner, journey, f"{journey}/stages/theory/report/confirm")
        assert "已确认阶段报审" in said, said
    await demo.until(lambda s: s["waiting_on"] == "regulator", "the regulator's turn")
    async with signed_in(p, "rizhao") as regulator:
        assert wf_id in (await regulator.get("/gov/reports")).text
        said = await post_form(
            regulator,
            "/gov/reports",
            f"/gov/journeys/{wf_id}/stages/theory/report",
            decision="approve",
        )
        assert "已审核通过" in said, said
    await demo.until(lambda s: s["subjects"]["theory"]["exam"]["eligible"], "the exam to open")
    async with signed_in(p, "learner1") as learner:
        today = datetime.now(CHINA).date().isoformat()
        said = await post_form(
            learner, journey, f"{journey}/exams", subject="theory", exam_date=today
        )
        assert "考试已预约" in said, said


async def test_a_learner_books_cancels_confirms_and_disputes_on_the_page(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with (
        platform(dev_env, tmp_path, health_auto_result_seconds=0.2) as p,
        p.worker(),
        httpx.AsyncClient(timeout=30) as http,
    ):
        demo = await paid_up(p, http, "learner1")
        await demo.classroom_hours("theory")
        await theory_report_and_exam_on_the_pages(p, demo)
        await demo.exam("theory")  # the examiner enters the result
        await demo.until(lambda s: s["stage"] == "field", "科目二")
        page = f"/learner/journeys/{demo.wf_id}"
        async with signed_in(p, "learner1") as b:
            html = (await b.get(page)).text
            assert "预约练车" in html and 'id="rate-stage"' in html
            rating = {"school_stars": "4", "coach_stars": "5", "comment": "教练耐心"}
            said = await post_form(b, page, f"{page}/stages/field/rating", **rating)
            assert "感谢评价" in said, said
            html = (await b.get(page)).text
            assert 'id="rate-stage"' not in html  # rated once; a change is an edit of the review
            other_coach = re.search(r'name="coach_id"><option value="([^"]+)"', html)
            assert other_coach is not None, "the coach change lists the school's other coaches"
            ask = {"coach_id": other_coach.group(1), "reason": "想换个时间更合适的教练"}
            said = await post_form(b, page, f"{page}/coach-change", **ask)
            assert "已申请更换教练" in said, said
            assert "等待驾校处理" in (await b.get(page)).text
            slot_ids = re.findall(r'name="slot_id" value="([^"]+)"', html)
            token = await csrf(b, page)

            async def book(slot_id: str) -> str:
                r = await b.post(
                    f"{page}/bookings",
                    data={"csrf": token, "form_key": slot_id, "slot_id": slot_id},
                    follow_redirects=True,
                )
                assert "已预约课时" in flash(r.text), flash(r.text)
                return r.text

            html = await book(slot_ids[0])
            (cancel_key,) = forms(html, "/cancel")
            booking_id = re.search(r'/bookings/([^/"]+)/cancel"', html).group(1)  # type: ignore[union-attr]
            r = await b.post(
                f"{page}/bookings/{booking_id}/cancel",
                data={"csrf": token, "form_key": cancel_key},
                follow_redirects=True,
            )
            assert "已取消预约" in flash(r.text) and "/cancel" not in r.text

            # Two sessions trained: one record confirmed, the other disputed.
            for slot_id in slot_ids[1:3]:
                await book(slot_id)
            s = await demo.state()
            await demo.train_bookings(
                "field", [x for x in s["bookings"] if x["status"] == "booked"]
            )
            html = (await b.get(page)).text
            records = re.findall(r'id="record-([^"]+)"', html)
            assert len(records) == 2
            for record_no, decision in zip(records, ("confirm", "dispute"), strict=True):
                r = await b.post(
                    f"{page}/records/{record_no}",
                    data={
                        "csrf": token,
                        "form_key": f"k{record_no}",
                        "decision": decision,
                        "reason": "教练未到场",
                    },
                    follow_redirects=True,
                )
                expected = "已确认学时" if decision == "confirm" else "已提交异议"
                assert expected in flash(r.text), flash(r.text)
        by_no = {r["record_no"]: r["status"] for r in (await demo.state())["records"]}
        assert [by_no[n] for n in records] == ["confirmed", "disputed"]

        # The school contests the dispute on its console; the regulator upholds the record.
        disputed = records[1]
        for username, page_path, action, decision, done in (
            ("school1", "/school/disputes", "answer", "contest", "已提出申辩"),
            ("rizhao", "/gov/disputes", "ruling", "uphold", "已裁决"),
        ):
            async with signed_in(p, username) as b:
                listed = (await b.get(page_path)).text
                assert f"/records/{disputed}/{action}" in listed
                r = await b.post(
                    f"/{page_path.split('/')[1]}/journeys/{demo.wf_id}/records/{disputed}/{action}",
                    data={
                        "csrf": await csrf(b, page_path),
                        "form_key": f"{username}-1",
                        "decision": decision,
                        "answer": "有车载记录为证",
                        "reason": "车载记录完整",
                    },
                    follow_redirects=True,
                )
                assert done in flash(r.text), flash(r.text)
        s = await demo.until(
            lambda s: {r["record_no"]: r["status"] for r in s["records"]}[disputed] == "confirmed",
            "the ruling",
        )

        # Withdrawal shows the exact refund first, and pays back exactly that.
        async with signed_in(p, "learner1") as b:
            html = (await b.get(page)).text
            found = re.search(r'name="refund_fen" value="(\d+)"', html)
            shown = int(found.group(1))  # type: ignore[union-attr]
            assert shown == s["money"]["deposited_fen"] - s["money"]["released_fen"] > 0
            withdraw = {"csrf": await csrf(b, page), "reason": "工作调动"}
            r = await b.post(
                f"{page}/withdraw",
                data={**withdraw, "form_key": "w1", "refund_fen": str(shown + 1)},
                follow_redirects=True,
            )
            assert "退款金额已变化" in flash(r.text)
            r = await b.post(
                f"{page}/withdraw",
                data={**withdraw, "form_key": "w2", "refund_fen": str(shown)},
                follow_redirects=True,
            )
            assert "已申请退学" in flash(r.text), flash(r.text)
        s = await demo.until(lambda s: s["stage"] == "closed", "the withdrawal")
        assert s["money"]["refunded_fen"] == shown


async def test_a_transfer_on_the_page_refunds_what_it_showed(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with (
        platform(dev_env, tmp_path, health_auto_result_seconds=0.2) as p,
        p.worker(),
        httpx.AsyncClient(timeout=30) as http,
    ):
        demo = await paid_up(p, http, "learner2")
        s = await demo.until(lambda s: s["stage"] == "theory", "科目一")
        page = f"/learner/journeys/{demo.wf_id}"
        async with signed_in(p, "learner2") as b:
            person = applicant("learner2")  # who enrolled: bound by name too, for the new school
            real = {"name": person["name"], "id_number": person["id_number"]}
            r = await b.post(
                "/learner/realname", data={**real, "csrf": await csrf(b, "/learner/realname")}
            )
            assert r.status_code == 303, r.text
            html = (await b.get(page)).text
            assert 'value="S371100002|S371100002-K1"' in html  # another school's coach
            assert 'value="S371100001|' not in html  # never the school one is at
            found = re.search(r'name="refund_fen" value="(\d+)"', html)
            shown = int(found.group(1))  # type: ignore[union-attr]
            r = await b.post(
                f"{page}/transfer",
                data={
                    "csrf": await csrf(b, page),
                    "form_key": "t1",
                    "refund_fen": str(shown),
                    "to": "S371100002|S371100002-K1",
                    "phone": "13912340000",
                    "reason": "搬家到岚山",
                },
                follow_redirects=True,
            )
            assert "已申请转校" in flash(r.text), flash(r.text)
        s = await demo.until(lambda s: s["transferred_to"] != "", "the transfer")
        assert s["money"]["refunded_fen"] == shown > 0
        assert "S371100002" in s["transferred_to"]
