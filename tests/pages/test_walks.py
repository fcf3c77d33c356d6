"""The three walks of issue 11 in headless Chromium, against the whole platform (dev server,
simulators over HTTP, a worker, the API on uvicorn):

- a new learner from sign-up through school choice to a signed contract and a paid invoice;
- a staff member approving a signing;
- a regulator finding a stuck journey.

Selenium is synchronous: each walk runs in a thread, so the servers on this test's event loop
keep answering. XUEJIA_SCREENSHOTS=<dir> saves each page at 390 and 1280 px wide.
"""

import asyncio
import os
import re
import uuid
from datetime import date
from pathlib import Path

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from temporalio.testing import WorkflowEnvironment

from scripts.demo_journey import applicant
from tests.e2e import ENROLMENT, Platform, platform
from tests.pages.browser import (
    DESKTOP_WIDTH,
    PHONE_WIDTH,
    chromium,
    require_chromium,
    screenshot,
    wait_for,
)
from tests.test_idcard import make_id

SHOTS = Path(os.environ["XUEJIA_SCREENSHOTS"]) if os.environ.get("XUEJIA_SCREENSHOTS") else None


def shoot(driver: WebDriver, name: str) -> None:
    if SHOTS is None:
        return
    for width in (PHONE_WIDTH, DESKTOP_WIDTH):
        screenshot(driver, SHOTS / f"{name}-{width}.png", width)
    driver.set_window_size(PHONE_WIDTH, 860)


def css(driver: WebDriver, selector: str):  # type: ignore[no-untyped-def]
    return wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, selector) or False)[0]


def flash(driver: WebDriver) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".flash"))


def until_shown(driver: WebDriver, selector: str, seconds: float = 60):  # type: ignore[no-untyped-def]
    """Reloads the page until `selector` is on it (the journey moves on its own)."""

    def shown(d: WebDriver):  # type: ignore[no-untyped-def]
        found = d.find_elements(By.CSS_SELECTOR, selector)
        if not found:
            d.refresh()
        return found[0] if found else False

    return wait_for(driver, shown, seconds)


def new_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def sms_code(sms_url: str, phone: str) -> str:
    messages = httpx.get(f"{sms_url}/messages", params={"phone": phone}).json()
    return re.search(r"验证码 (\d{6})", messages[0]["text"]).group(1)  # type: ignore[union-attr]


def sign_up(driver: WebDriver, p: Platform, phone: str) -> None:
    base = p.settings.api_base_url
    driver.get(f"{base}/learner")
    assert "/signup" in driver.current_url  # a learner page asks to sign in first
    css(driver, "input[name=phone]").send_keys(phone)
    shoot(driver, "learner-signup")
    css(driver, "form[action='/signup/code'] button").click()
    css(driver, "input[name=code]").send_keys(sms_code(p.sims.urls["sms"], phone))
    css(driver, "form[action='/signup'] button").click()
    wait_for(driver, lambda d: d.current_url.endswith("/learner/realname"))


def learner_walk(p: Platform, phone: str, id_number: str) -> str:
    base = p.settings.api_base_url
    with chromium() as d:
        sign_up(d, p, phone)
        css(d, "input[name=name]").send_keys("林小雨")
        css(d, "input[name=id_number]").send_keys(id_number)
        css(d, "form[action='/learner/realname'] button").click()
        wait_for(d, lambda d: d.current_url.endswith("/learner/schools"))
        assert "日照学车" in d.title and "实名认证成功" in flash(d)
        shoot(d, "learner-schools")

        css(d, "a.button[href^='/learner/schools/S371100001']").click()
        css(d, "form[action='/learner/enrol']")
        shoot(d, "learner-school")
        css(d, "form[action='/learner/enrol'] button").click()
        wait_for(d, lambda d: "/learner/journeys/" in d.current_url)
        wf_id = d.current_url.rsplit("/", 1)[1]

        css(d, "form[action$='/health-check'] button").click()  # nearest centre, first time
        wait_for(d, lambda d: "体检已预约" in flash(d))  # once the answer page has loaded
        # The centre's result arrives by itself; then the school approves 面签.
        until_shown(d, "#signing-status")
        shoot(d, "learner-signing")
        approve_by_api(p, wf_id)

        pad = until_shown(d, "canvas#pad")
        shoot(d, "learner-contract")
        draw_signature(d, pad)
        css(d, "#pad-submit").click()
        wait_for(d, lambda d: "合同已签署" in flash(d))

        css(d, "form[action$='/payment'] button").click()
        bank_page = css(d, "form[action*='/_simulate/orders/'] button")
        shoot(d, "learner-bank-page")
        bank_page.click()
        wait_for(d, lambda d: "支付成功" in d.page_source)
        d.get(f"{base}/learner/journeys/{wf_id}")
        invoice = until_shown(d, "#invoice-link")
        shoot(d, "learner-invoice")
        href = invoice.get_attribute("href")
        cookies = {c["name"]: c["value"] for c in d.get_cookies()}
        pdf = httpx.get(href, cookies=cookies)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        return wf_id


def draw_signature(driver: WebDriver, pad) -> None:  # type: ignore[no-untyped-def]
    """A stroke across the pad's middle (offsets are from its centre; it is ~260 px wide)."""
    chain = ActionChains(driver).move_to_element_with_offset(pad, -100, 0).click_and_hold()
    for dx, dy in ((30, -25), (30, 25), (30, -20), (40, 15), (30, -10)):
        chain = chain.move_by_offset(dx, dy)
    chain.release().perform()


def approve_by_api(p: Platform, wf_id: str) -> None:
    """The school's part, through its JSON port (the staff walk does it on the page)."""
    base = p.settings.api_base_url
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post(
            "/api/auth/token", data={"username": "school1", "password": "xuejia123"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(300):  # until the health result has moved it to 面签
            r = http.get(f"/api/school/journeys/{wf_id}", headers=headers)
            if r.json()["state"]["stage"] == "signing":
                break
        r = http.post(f"/api/school/journeys/{wf_id}/signing/approve", headers=headers)
        assert r.status_code == 200, r.text


async def test_a_new_learner_signs_up_chooses_a_school_signs_and_pays(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    require_chromium()
    async with platform(dev_env, tmp_path, health_auto_result_seconds=0.5) as p, p.worker():
        id_number = make_id_for_walk()
        wf_id = await asyncio.to_thread(learner_walk, p, new_phone(), id_number)
        r = await p.http.get(f"/api/gov/journeys/{wf_id}", headers=await p.login("rizhao"))
        state = r.json()["state"]
        assert state["contract"]["signed_sha256"] and state["invoice_sha256"]
        assert state["money"]["deposited_fen"] == state["tuition_fen"]


def make_id_for_walk() -> str:
    """A valid ID number nobody else in the run holds (born in 2000: old enough for C1)."""
    n = uuid.uuid4().int
    return make_id(date(2000, 1, 1 + n % 28), "371102", f"{n // 28 % 1000:03d}")


# ---- a staff member approves a signing --------------------------------------------------------


def staff_walk(p: Platform, wf_id: str) -> None:
    base = p.settings.api_base_url
    with chromium() as d:
        d.get(f"{base}/school")
        assert "/login" in d.current_url
        css(d, "input[name=username]").send_keys("school1")
        css(d, "input[name=password]").send_keys("xuejia123")
        css(d, "form[action='/login'] button").click()
        card = until_shown(d, f"[id='signing-{wf_id}']")
        shoot(d, "school-console")
        card.find_element(By.CSS_SELECTOR, "form[action$='/signing/approve'] button").click()
        wait_for(d, lambda d: "面签已通过" in flash(d))
        assert not d.find_elements(By.CSS_SELECTOR, f"[id='signing-{wf_id}']")
        css(d, "a[href='/school/slots']").click()
        css(d, ".week .slot")  # the demo's published week
        shoot(d, "school-slots")


async def test_a_staff_member_approves_a_signing(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    require_chromium()
    async with platform(dev_env, tmp_path, health_auto_result_seconds=0.5) as p, p.worker():
        wf_id, me = await enrol_and_book_health_check(p, "learner1")
        await p.until(wf_id, me, lambda s: s["stage"] == "signing" and s["waiting_on"] == "school")
        await asyncio.to_thread(staff_walk, p, wf_id)
        state = await p.until(wf_id, me, lambda s: s["signing_approved_by"] != "")
        assert state["signing_approved_by"] == "U-school1"


async def enrol_and_book_health_check(p: Platform, learner: str) -> tuple[str, dict[str, str]]:
    """Through the JSON API: enrolled, with a health check booked at the nearest centre."""
    me = await p.login(learner)
    enrolment = {**ENROLMENT, **applicant(learner)}
    r = await p.http.post("/api/learner/journeys", json=enrolment, headers=me)
    assert r.status_code == 201, r.text
    wf_id = r.json()["workflow_id"]
    await p.until(wf_id, me, lambda s: s["stage"] == "health_check")
    r = await p.http.post(
        f"/api/learner/journeys/{wf_id}/health-check",
        json={"centre_id": "H371100001", "slot": "2026-12-01T08:30"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    return wf_id, me


# ---- a regulator finds a stuck journey --------------------------------------------------------


def regulator_walk(p: Platform, wf_id: str) -> None:
    base = p.settings.api_base_url
    with chromium() as d:
        d.get(f"{base}/gov")
        css(d, "input[name=username]").send_keys("rizhao")
        css(d, "input[name=password]").send_keys("xuejia123")
        css(d, "form[action='/login'] button").click()
        css(d, "svg.chart")
        shoot(d, "gov-dashboard")
        css(d, "a[href='/gov/stuck']").click()
        minutes = css(d, "input[name=minutes]")
        minutes.clear()
        minutes.send_keys("0")  # anything waiting in its stage at all
        css(d, "form[action='/gov/stuck'] button").click()
        link = until_shown(d, f"a[href$='/workflows/{wf_id}']")
        shoot(d, "gov-stuck")
        assert link.get_attribute("href") == (
            f"{p.settings.temporal_ui_url}/namespaces/{p.settings.temporal_namespace}"
            f"/workflows/{wf_id}"
        )


async def test_a_regulator_finds_a_stuck_journey(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    require_chromium()
    async with platform(dev_env, tmp_path) as p, p.worker():
        # Booked, but the centre never sends its result: the journey waits in 体检.
        wf_id, _ = await enrol_and_book_health_check(p, "learner2")
        await asyncio.to_thread(regulator_walk, p, wf_id)
