"""The pages' access rules without a browser: sign-in by role, CSRF on every form, the session
cookie, SMS codes, real-name binding, rate limits, and accounts made by an administrator."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.config import Settings
from core.db import engine_for, migrate
from models.complaints import Complaint, Consultation
from models.demo import DEMO_PASSWORD, load_demo_data
from models.demo_history import load_demo_history
from models.training import CHINA
from models.users import User
from policy.loader import load_quality_indexes
from scripts.demo_journey import applicant
from subsystems import sms
from subsystems.runner import serve_apps
from tests.e2e import ENROLMENT, platform
from tests.factories import VALID_ID

LEARNER_PAGES = [
    "/learner",
    "/learner/schools",
    "/learner/realname",
    "/learner/inbox",
    "/learner/journeys/x",
]
STAFF_PAGES = ["/school", "/school/slots", "/school/reports", "/school/inbox"]
REGULATOR_PAGES = ["/gov", "/gov/stuck", "/gov/index"]
ADMIN_PAGES = ["/admin"]
HOMES = {"learner1": "/learner", "school1": "/school", "rizhao": "/gov", "admin": "/admin"}


@dataclass
class Pages:
    app: object
    settings: Settings
    sms_url: str

    def browser(self) -> httpx.AsyncClient:
        """A browser of its own: its own cookie jar."""
        transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://pages")

    @asynccontextmanager
    async def sign_in(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        async with self.browser() as b:
            form = {"csrf": await csrf(b, "/login"), "username": username}
            r = await b.post("/login", data={**form, "password": DEMO_PASSWORD})
            assert r.status_code == 303, r.text
            yield b

    async def code_for(self, phone: str) -> str:
        async with httpx.AsyncClient() as http:
            messages = (await http.get(f"{self.sms_url}/messages", params={"phone": phone})).json()
        return re.search(r"验证码 (\d{6})", messages[0]["text"]).group(1)  # type: ignore[union-attr]

    @asynccontextmanager
    async def sign_up(self, phone: str) -> AsyncIterator[httpx.AsyncClient]:
        async with self.browser() as b:
            token = await csrf(b, "/signup")
            r = await b.post("/signup/code", data={"csrf": token, "phone": phone})
            assert r.status_code == 200, r.text
            code = await self.code_for(phone)
            r = await b.post("/signup", data={"csrf": token, "phone": phone, "code": code})
            assert r.status_code == 303, r.text
            yield b


async def csrf(browser: httpx.AsyncClient, path: str) -> str:
    r = await browser.get(path)
    assert r.status_code == 200, r.text
    return re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]


@pytest.fixture
async def pages(tmp_path: Path) -> AsyncIterator[Pages]:
    """The app without Temporal (pages that need a journey answer 503) and the SMS gateway."""
    apps = {"sms": sms.create_app(":memory:", "")}
    async with serve_apps(apps) as urls:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'pages.db'}",
            data_dir=tmp_path / "var",
            sms_url=urls["sms"],
            demo_slots=False,
            code_interval_seconds=0,  # a test signs one number in more than once a minute
        )
        migrate(settings.database_url)
        with Session(engine_for(settings.database_url)) as session:
            load_demo_data(session)
        yield Pages(create_app(settings), settings, urls["sms"])


def new_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


async def test_every_page_asks_to_sign_in_first(pages: Pages) -> None:
    async with pages.browser() as b:
        for path in LEARNER_PAGES:
            r = await b.get(path)
            assert (r.status_code, r.headers["location"]) == (303, f"/signup?next={path}")
        for path in STAFF_PAGES + REGULATOR_PAGES + ADMIN_PAGES:
            r = await b.get(path)
            assert (r.status_code, r.headers["location"]) == (303, f"/login?next={path}")


async def test_each_port_is_for_its_own_role_only(pages: Pages) -> None:
    ports = {
        "learner1": ["/learner", "/learner/schools"],
        "school1": STAFF_PAGES,
        "rizhao": ["/gov"],
        "admin": ADMIN_PAGES,
    }
    for username in ports:
        async with pages.sign_in(username) as b:
            for other, paths in ports.items():
                for path in paths:
                    r = await b.get(path)
                    assert r.status_code == (200 if other == username else 403), (username, path)


async def test_signing_in_goes_home_or_to_the_page_asked_for_never_elsewhere(
    pages: Pages,
) -> None:
    for to, expected in (
        ("/school", "/school"),
        ("https://evil.example/", "/school"),
        ("//evil.example", "/school"),
        ("/gov", "/school"),
    ):
        async with pages.browser() as b:
            form = {
                "csrf": await csrf(b, "/login"),
                "username": "school1",
                "password": DEMO_PASSWORD,
                "next": to,
            }
            r = await b.post("/login", data=form)
            assert r.headers["location"] == expected


async def test_forms_without_this_visitors_csrf_token_are_refused(pages: Pages) -> None:
    login = {"username": "learner1", "password": DEMO_PASSWORD}
    async with pages.browser() as b, pages.browser() as other:
        r = await b.post("/login", data=login)
        assert r.status_code == 403 and "页面已过期" in r.text
        r = await b.post("/login", data={**login, "csrf": await csrf(other, "/login")})
        assert r.status_code == 403
    async with pages.sign_in("learner1") as b:
        body = {"name": "王小二", "id_number": VALID_ID}
        r = await b.post("/learner/realname", data=body)
        assert r.status_code == 403
        for_anonymous = await csrf(pages.browser(), "/login")
        r = await b.post("/learner/realname", data={**body, "csrf": for_anonymous})
        assert r.status_code == 403
        with Session(engine_for(pages.settings.database_url)) as session:
            assert session.get(User, "U-learner1").id_number is None  # type: ignore[union-attr]
        r = await b.post("/logout", data={})
        assert r.status_code == 403  # signing out is a form too


async def test_the_session_cookie_is_httponly_and_samesite_and_ends_at_sign_out(
    pages: Pages,
) -> None:
    b = pages.browser()
    form = {"csrf": await csrf(b, "/login"), "username": "rizhao", "password": DEMO_PASSWORD}
    r = await b.post("/login", data=form)
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("xj_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = b.cookies["xj_session"]
    r = await b.post("/logout", data={"csrf": await csrf(b, "/gov")})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    async with pages.browser() as replay:
        replay.cookies.set("xj_session", token)
        r = await replay.get("/gov")
        assert r.status_code == 303  # the old token signs nobody in


async def test_a_learner_signs_up_with_an_sms_code_and_binds_their_real_name(
    pages: Pages,
) -> None:
    phone = new_phone()
    async with pages.sign_up(phone) as b:
        token = await csrf(b, "/learner/realname")
        r = await b.post(
            "/learner/realname",
            data={"csrf": token, "name": "王小二", "id_number": VALID_ID[:-1] + "0"},
        )
        assert r.status_code == 422 and "校验位" in r.text
        r = await b.post(
            "/learner/realname", data={"csrf": token, "name": "王小二", "id_number": VALID_ID}
        )
        assert (r.status_code, r.headers["location"]) == (303, "/learner/schools")
        r = await b.get("/learner/schools")
        assert "实名认证成功" in r.text and "日照学车" in r.text
    # The same number again signs in to the same account; another account cannot take the ID.
    async with pages.sign_up(phone) as again:
        r = await again.get("/learner")
        assert "王小二" in r.text
    async with pages.sign_up(new_phone()) as other:
        token = await csrf(other, "/learner/realname")
        r = await other.post(
            "/learner/realname", data={"csrf": token, "name": "王小二", "id_number": VALID_ID}
        )
        assert r.status_code == 409 and "已绑定其他账户" in r.text


async def test_a_wrong_code_is_refused_and_a_code_dies_after_five_wrong_guesses(
    pages: Pages,
) -> None:
    phone = new_phone()
    async with pages.browser() as b:
        token = await csrf(b, "/signup")
        await b.post("/signup/code", data={"csrf": token, "phone": phone})
        code = await pages.code_for(phone)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(5):
            r = await b.post("/signup", data={"csrf": token, "phone": phone, "code": wrong})
            assert r.status_code == 422 and "验证码错误" in r.text
        r = await b.post("/signup", data={"csrf": token, "phone": phone, "code": code})
        assert r.status_code == 422  # void now: a new code is needed


async def test_codes_and_failed_logins_are_rate_limited(pages: Pages) -> None:
    pages.settings.code_interval_seconds = 60
    phone = new_phone()
    async with pages.browser() as b:
        token = await csrf(b, "/signup")
        r = await b.post("/signup/code", data={"csrf": token, "phone": phone})
        assert r.status_code == 200
        r = await b.post("/signup/code", data={"csrf": token, "phone": phone})
        assert r.status_code == 429 and "操作过于频繁" in r.text
        token = await csrf(b, "/login")
        for _ in range(5):
            r = await b.post(
                "/login", data={"csrf": token, "username": "school2", "password": "wrong-one"}
            )
            assert r.status_code == 401
        right = {"csrf": token, "username": "school2", "password": DEMO_PASSWORD}
        r = await b.post("/login", data=right)
        assert r.status_code == 429  # locked for the window, even with the right password
    async with pages.sign_in("school1"):
        pass  # another username is not locked


async def test_the_administrator_creates_staff_and_regulator_accounts(pages: Pages) -> None:
    async with pages.sign_in("admin") as admin:
        token = await csrf(admin, "/admin")
        new = {"csrf": token, "password": "longenough1", "display_name": "新员工"}
        r = await admin.post(
            "/admin/accounts",
            data={**new, "username": "clerk9", "role": "school_staff", "school_id": "S371100002"},
        )
        assert (r.status_code, r.headers["location"]) == (303, "/admin")
        r = await admin.post(
            "/admin/accounts", data={**new, "username": "lanshan", "role": "regulator"}
        )
        assert r.status_code == 422 and "辖区代码" in r.text
        r = await admin.post(
            "/admin/accounts", data={**new, "username": "someone", "role": "learner"}
        )
        assert r.status_code == 422 and "只能创建" in r.text
    async with pages.browser() as b:
        form = {"csrf": await csrf(b, "/login"), "username": "clerk9", "password": "longenough1"}
        r = await b.post("/login", data=form)
        assert r.headers["location"] == "/school"
        assert "日照港城" in (await b.get("/school")).text
    async with pages.sign_in("school1") as staff:
        r = await staff.get("/admin")
        assert r.status_code == 403


async def test_a_learner_never_sees_another_learners_journey(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with platform(dev_env, tmp_path) as p, p.worker():
        me = await p.login("learner1")
        r = await p.http.post(
            "/api/learner/journeys", json={**ENROLMENT, **applicant("learner1")}, headers=me
        )
        wf_id = r.json()["workflow_id"]
        await p.until(wf_id, me, lambda s: s["stage"] == "health_check")
        for username, status in (("learner1", 200), ("learner2", 404)):
            async with httpx.AsyncClient(base_url=p.settings.api_base_url) as b:
                form = {
                    "csrf": await csrf(b, "/login"),
                    "username": username,
                    "password": DEMO_PASSWORD,
                }
                await b.post("/login", data=form)
                r = await b.get(f"/learner/journeys/{wf_id}")
                assert r.status_code == status, username
                r = await b.get(f"/learner/journeys/{wf_id}/contract.pdf")
                assert r.status_code == 404  # no contract yet for the owner, none for others
                listed = (await b.get("/learner")).text
                assert (wf_id in listed) == (username == "learner1")


async def test_the_school_publishes_a_slot_on_its_week_calendar(pages: Pages) -> None:
    tomorrow = (datetime.now(CHINA) + timedelta(days=1)).date().isoformat()
    slot = {
        "subject": "field",
        "kind": "car",
        "coach_id": "S371100001-K1",
        "vehicle_id": "S371100001-V1",
        "ground_id": "S371100001-G1",
        "day": tomorrow,
        "hour": "9",
        "hours": "2",
        "rate_kind": "normal",
    }
    async with pages.sign_in("school1") as b:
        token = await csrf(b, "/school/slots")
        r = await b.post("/school/slots", data={**slot, "csrf": token}, follow_redirects=True)
        assert "课时已发布" in r.text and "09:00–11:00" in r.text
        r = await b.post("/school/slots", data={**slot, "csrf": token}, follow_redirects=True)
        assert "课时已发布" not in r.text and 'class="flash err"' in r.text  # the coach is busy
        bad = {**slot, "csrf": token, "rate_kind": "midnight"}
        r = await b.post("/school/slots", data=bad, follow_redirects=True)
        assert "请选择科目、训练方式和时段" in r.text
    async with pages.sign_in("school2") as other:
        r = await other.get(f"/school/slots?week={tomorrow}")
        assert "09:00–11:00" not in r.text  # another school's timetable


async def test_the_regulator_sees_the_citys_published_index_with_its_lists(pages: Pages) -> None:
    async with pages.sign_in("rizhao") as b:
        assert "尚未发布服务质量指数" in (await b.get("/gov/index")).text
        with Session(engine_for(pages.settings.database_url)) as session:
            rules = load_quality_indexes(pages.settings.policy_paths)
            load_demo_history(session, rules, datetime.now(UTC))
        page = (await b.get("/gov/index")).text
        ranking = page[page.index('id="ranking"') :]
        assert ranking.count("<tr") > 2 and "统计截至" in page
        assert any(
            f'<td data-label="等级">{level}</td>' in ranking for level in ("AAA", "AA", "A", "B")
        )


def learner1s_complaint(complaint_id: str, **fields: object) -> Complaint:
    """A complaint row of learner1's about 日照安达, as its workflow would have written it."""
    return Complaint.model_validate(
        {
            "id": complaint_id,
            "workflow_id": f"complaint-{complaint_id}",
            "learner_id": "U-learner1",
            "school_id": "S371100001",
            "city_code": "371100",
            "source": "general",
            **fields,
        }
    )


async def test_the_school_answers_its_consultations_and_sees_its_complaints_deadlines(
    pages: Pages,
) -> None:
    now = datetime.now(UTC)
    with Session(engine_for(pages.settings.database_url)) as session:
        session.add(
            Consultation(
                id="CQ-page-1",
                learner_id="U-learner1",
                school_id="S371100001",
                city_code="371100",
                question="周末可以练车吗？",
                asked_at=now - timedelta(days=3),
                due_at=now - timedelta(days=1),
            )
        )
        session.add(
            learner1s_complaint(
                "CP-page-1",
                category="fees",
                content="额外收取考试费",
                status="delivered",
                filed_at=now - timedelta(days=30),
                deadline_at=now - timedelta(days=2),
                overdue=True,
            )
        )
        session.commit()
    async with pages.sign_in("school2") as other:
        page = (await other.get("/school/inbox")).text
        assert "周末可以练车吗" not in page and "额外收取考试费" not in page  # not theirs
    async with pages.sign_in("school1") as b:
        page = (await b.get("/school/inbox")).text
        assert "额外收取考试费" in page and "已超期" in page and "已上报监管" in page
        token = await csrf(b, "/school/inbox")
        answer = {"answer": "周六、周日 8:00–17:00 均可预约", "csrf": token}
        r = await b.post(
            "/school/consultations/CQ-page-1/answer", data=answer, follow_redirects=True
        )
        assert "咨询已答复" in r.text and "答复：周六、周日" in r.text
    with Session(engine_for(pages.settings.database_url)) as session:
        answered = session.get(Consultation, "CQ-page-1")
        assert answered is not None and answered.answered_by == "U-school1"


async def test_a_learner_asks_a_school_and_follows_their_complaints_on_the_inbox(
    pages: Pages,
) -> None:
    now = datetime.now(UTC)
    with Session(engine_for(pages.settings.database_url)) as session:
        session.add(
            learner1s_complaint(
                "CP-page-2",
                category="teaching",
                content="教练经常迟到",
                status="answered",
                answer="已调整该教练排班",
                filed_at=now - timedelta(days=5),
                answered_at=now - timedelta(days=1),
            )
        )
        session.commit()
    async with pages.sign_in("learner1") as b:
        page = (await b.get("/learner/inbox")).text
        assert "教练经常迟到" in page and "驾校已答复" in page and "已调整该教练排班" in page
        assert "/learner/complaints/CP-page-2/rating" in page and "重新打开" in page
        token = await csrf(b, "/learner/inbox")
        ask = {"school_id": "S371100001", "question": "可以先试学一节吗？", "csrf": token}
        r = await b.post("/learner/consultations", data=ask, follow_redirects=True)
        assert "咨询已提交" in r.text and "可以先试学一节吗" in r.text and "待答复" in r.text
    async with pages.sign_in("learner2") as other:
        page = (await other.get("/learner/inbox")).text
        assert "教练经常迟到" not in page and "可以先试学一节吗" not in page
    async with pages.sign_in("school1") as school:
        assert "可以先试学一节吗" in (await school.get("/school/inbox")).text
