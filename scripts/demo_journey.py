"""Watch one learner go from sign-up to graduation against a running platform (`make run`).

    python -m scripts.demo_journey [--api http://127.0.0.1:8000] [--timing http://127.0.0.1:8104]
        [--exam http://127.0.0.1:8105] [--bank http://127.0.0.1:8103]
        [--health http://127.0.0.1:8102] [--learner learner2]

Everything goes through the same doors a person would use: the learner, school and regulator
ports of the API, and the simulators' `/_simulate/...` endpoints that stand for the people
outside the platform (the doctor, the learner's banking app, the car's timing terminal, the
examiner). Under the demo policy (`policy/demo.yaml`) the whole journey takes a minute or two.

A journey the learner already has under way is picked up where it stands; otherwise the
learner enrols at the first demo school and vehicle class they have not used yet.
"""

import argparse
import asyncio
import hashlib
import io
import math
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

from core.idcard import check_char

CHINA = timezone(timedelta(hours=8))
DEMO_PASSWORD = "xuejia123"
REGULATOR = "rizhao"
CITY = "371100"
# Demo schools with a staff login, and the classes each teaches (see models/demo.py).
SCHOOLS = {"S371100001": ("school1", ("C1", "C2")), "S371100002": ("school2", ("C1",))}
STAGES = (
    "signup",
    "health_check",
    "signing",
    "contract",
    "payment",
    "theory",
    "field",
    "road",
    "safety",
    "graduation",
    "followup",
    "closed",
)
SUBJECTS = {
    "theory": ("科目一", "subject 1 (theory)"),
    "field": ("科目二", "subject 2 (field)"),
    "road": ("科目三", "subject 3 (road)"),
    "safety": ("科目四", "subject 4 (safe driving)"),
}
ARCHIVE = ("registration", "teaching_log", "training_records", "certificate")
NAMES = ("李晓明", "王丽华", "赵建军", "孙婷婷", "周海涛", "吴晓燕", "郑国强", "陈思远")


@dataclass
class DemoUrls:
    api: str = "http://127.0.0.1:8000"
    timing: str = "http://127.0.0.1:8104"
    exam: str = "http://127.0.0.1:8105"
    bank: str = "http://127.0.0.1:8103"
    health: str = "http://127.0.0.1:8102"


class DemoError(RuntimeError):
    """The demo cannot go on; the message says where and why."""


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def applicant(username: str) -> dict[str, Any]:
    """The person behind a demo login: one identity per login, the same on every run (the
    national platform knows a person by their ID number)."""
    seed = int(hashlib.sha256(username.encode()).hexdigest()[:12], 16)
    born = date(1990, 1, 1) + timedelta(days=seed % 5000)
    first17 = f"371102{born:%Y%m%d}{seed % 1000:03d}"
    return {
        "name": NAMES[(seed >> 24) % len(NAMES)],
        "phone": f"139{seed % 100_000_000:08d}",
        "id_number": first17 + check_char(first17),
        "lat": 35.42,
        "lon": 119.52,
    }


def signature_png() -> bytes:
    """A hand-drawn signature: a few strokes of ink on a transparent pad."""
    img = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    ink = (20, 20, 60, 255)
    draw.line([(30, 110), (70, 40), (95, 120), (130, 50)], fill=ink, width=5, joint="curve")
    draw.line([(150, 60), (210, 60), (180, 130), (240, 100)], fill=ink, width=5, joint="curve")
    draw.arc((250, 40, 330, 130), 200, 520, fill=ink, width=5)
    draw.line([(340, 120), (380, 45), (420, 115), (455, 70)], fill=ink, width=5, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def reached(state: dict[str, Any], stage: str) -> bool:
    return STAGES.index(state["stage"]) >= STAGES.index(stage)


def past(state: dict[str, Any], stage: str) -> bool:
    return STAGES.index(state["stage"]) > STAGES.index(stage)


# Seconds between tries of a read the API answered 503 (None: the last try).
READ_RETRIES = (0.5, 1.0, 2.0, 4.0, None)


class Demo:
    def __init__(
        self,
        http: httpx.AsyncClient,
        urls: DemoUrls,
        learner: str,
        say: Callable[[str], None],
        wait_seconds: float,
        password: str,
    ) -> None:
        self.http = http
        self.urls = urls
        self.learner = learner
        self._say = say
        self.wait_seconds = wait_seconds
        self.password = password
        self.step = 0
        self.wf_id = ""
        self.school_id = ""
        self.headers: dict[str, dict[str, str]] = {}
        self.log: list[str] = []

    # ---- plumbing ---------------------------------------------------------------------------

    def say(self, zh: str, en: str, detail: str = "") -> None:
        self.step += 1
        line = f"[{self.step:02d}] {zh} · {en}" + (f" — {detail}" if detail else "")
        self.log.append(line)
        self._say(line)

    async def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        who: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202),
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(await self.login(who))
        for wait in READ_RETRIES:
            try:
                r = await self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                raise DemoError(
                    f"{what}: cannot reach {url} ({exc!r}); is `make run` running?"
                ) from exc
            # A 503 says "try again later": a read is safe to repeat, an action is not re-sent.
            if r.status_code != 503 or method != "GET" or wait is None:
                break
            await asyncio.sleep(wait)
        if r.status_code not in ok:
            raise DemoError(f"{what}: HTTP {r.status_code} from {method} {url}: {r.text[:500]}")
        return r

    async def login(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            r = await self.http.post(
                f"{self.urls.api}/api/auth/token",
                data={"username": username, "password": self.password},
            )
            if r.status_code != 200:
                raise DemoError(f"login as {username}: HTTP {r.status_code} {r.text[:200]}")
            self.headers[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.headers[username]

    def journey_url(self, tail: str = "") -> str:
        return f"{self.urls.api}/api/learner/journeys/{self.wf_id}{tail}"

    async def state(self) -> dict[str, Any]:
        r = await self.call("GET", self.journey_url(), "read the journey", who=self.learner)
        return r.json()["state"]

    async def until(
        self, ready: Callable[[dict[str, Any]], bool], what: str, seconds: float | None = None
    ) -> dict[str, Any]:
        """Polls the learner's view until `ready`; a journey that ended, or time running out,
        is an error naming what was awaited and where the journey stands."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (seconds or self.wait_seconds)
        while True:
            s = await self.state()
            if ready(s):
                return s
            if s["status"] != "active" and s["stage"] == "closed":
                raise DemoError(
                    f"the journey ended ({s['status']}: {s['end_reason']}) while waiting for {what}"
                )
            if loop.time() > deadline:
                recent = "; ".join(
                    f"{x['step']}/{x['outcome']} {x['detail']}".strip() for x in s["steps"][-3:]
                )
                raise DemoError(
                    f"timed out after {seconds or self.wait_seconds:.0f}s waiting for {what}: "
                    f"the journey is at {s['stage']}, waiting on {s['waiting_on']} "
                    f"(last steps: {recent})"
                )
            await asyncio.sleep(0.2)

    async def sim_setting(self, base: str, name: str) -> Any:
        r = await self.call("GET", f"{base}/_settings", f"read {base} settings")
        return r.json().get(name)

    # ---- the journey, in the guideline's order ----------------------------------------------

    async def run(self) -> dict[str, Any]:
        me = await self.call("GET", f"{self.urls.api}/api/auth/me", "sign in", who=self.learner)
        self.say("登录", "Sign in", f"{self.learner} ({me.json()['display_name']})")
        await self.enrol()
        await self.health_check()
        await self.signing()
        await self.contract()
        await self.payment()
        for subject in ("theory", "field", "road", "safety"):
            await self.train(subject)
        s = await self.graduation()
        s = await self.followup(s)
        documents = await self.archive(s)
        return {
            "workflow_id": self.wf_id,
            "stage": s["stage"],
            "status": s["status"],
            "certificate_no": s["certificate_no"],
            "archive": s["archive"],
            "money": s["money"],
            "documents": {kind: len(pdf) for kind, pdf in documents.items()},
            "certificate_pdf": documents["certificate"],
            "log": self.log,
        }

    async def enrol(self) -> None:
        api = f"{self.urls.api}/api/learner"
        mine = (await self.call("GET", f"{api}/journeys", "list journeys", who=self.learner)).json()
        active = [j for j in mine if j["status"] == "active" and j["school_id"] in SCHOOLS]
        if active:
            self.wf_id, self.school_id = active[0]["workflow_id"], active[0]["school_id"]
            stage = active[0]["stage"]
            self.say("继续学车旅程", "Resume the journey under way", f"{self.wf_id} at {stage}")
            return
        graduated = [j["workflow_id"] for j in mine if j["status"] == "completed"]
        if graduated:
            # Their training hours of the demo week are taken: a second journey could not book
            # enough of them. The other demo learner can go.
            raise DemoError(
                f"{self.learner} has already graduated ({graduated[0]}); run with another "
                "--learner (learner1, learner2), or start from a fresh var/ (make clean)"
            )
        used = {(j["school_id"], j["vehicle_class"]) for j in mine}
        free = [
            (s, c) for s, (_, classes) in SCHOOLS.items() for c in classes if (s, c) not in used
        ]
        if not free:
            raise DemoError(
                f"{self.learner} has already been through every demo school and class; "
                "run with another --learner, or start from a fresh var/ (make clean)"
            )
        self.school_id, vehicle_class = free[0]
        schools = (
            await self.call(
                "GET",
                f"{api}/schools",
                "list schools",
                who=self.learner,
                params={"city_code": CITY},
            )
        ).json()
        school = next(s for s in schools if s["id"] == self.school_id)
        coaches = (
            await self.call(
                "GET", f"{api}/schools/{self.school_id}/coaches", "list coaches", who=self.learner
            )
        ).json()
        coach = next(c for c in coaches if vehicle_class in c["permitted_classes"])
        body = {
            "school_id": self.school_id,
            "coach_id": coach["id"],
            "vehicle_class": vehicle_class,
            **applicant(self.learner),
        }
        r = await self.call("POST", f"{api}/journeys", "enrol", who=self.learner, json=body)
        self.wf_id = r.json()["workflow_id"]
        self.say(
            "一键报名",
            "Enrol",
            f"{school['name']} · {vehicle_class} · 教练 {coach['name']} → {self.wf_id}",
        )
        s = await self.until(lambda s: past(s, "signup"), "registration with the national platform")
        self.say("全国驾培平台登记", "Registered nationally", f"全国统一编号 {s['learner_no']}")

    async def health_check(self) -> None:
        s = await self.until(lambda s: reached(s, "health_check"), "the health-check stage")
        if past(s, "health_check"):
            return
        booking = s["health"]["booking_id"]
        if not booking:
            a = applicant(self.learner)
            centres = (
                await self.call(
                    "GET",
                    self.journey_url("/health-centres"),
                    "list health centres",
                    who=self.learner,
                    params={"lat": a["lat"], "lon": a["lon"]},
                )
            ).json()
            centre = centres[0]
            slot = (datetime.now(CHINA) + timedelta(days=1)).strftime("%Y-%m-%dT08:30")
            r = await self.call(
                "POST",
                self.journey_url("/health-check"),
                "book the health check",
                who=self.learner,
                json={"centre_id": centre["id"], "slot": slot},
            )
            booking = r.json()["booking_id"]
            self.say(
                "预约体检并缴费",
                "Book and pay the health check",
                f"{centre['name']} ({centre['distance_km']} km) {slot}, {yuan(centre['fee_fen'])}",
            )
        auto = await self.sim_setting(self.urls.health, "auto_result_seconds")
        if auto is None:
            await self.call(
                "POST",
                f"{self.urls.health}/_simulate/bookings/{booking}/result",
                "enter the health result",
                json={"passed": True, "items": {"视力": "5.0", "辨色力": "正常", "听力": "正常"}},
                ok=(200, 409),
            )
            self.say("医生录入体检结果", "The doctor enters the result", "合格 passed")
        else:
            self.say("等待体检中心回传结果", "Waiting for the centre's result", f"about {auto:g}s")
        await self.until(lambda s: s["health"]["passed"] is not None, "the health result")
        s = await self.state()
        if not s["health"]["passed"]:
            raise DemoError(f"the health check failed: {s['health']['reason']}")
        self.say("体检合格", "Health check passed")

    async def signing(self) -> None:
        s = await self.until(lambda s: reached(s, "signing"), "the 面签 stage")
        if past(s, "signing"):
            return
        staff = SCHOOLS[self.school_id][0]
        await self.call(
            "POST",
            f"{self.urls.api}/api/school/journeys/{self.wf_id}/signing/approve",
            "approve the in-person signing",
            who=staff,
        )
        self.say("驾校面签通过", "The school approves the in-person signing (面签)", staff)

    async def contract(self) -> None:
        s = await self.until(
            lambda s: past(s, "contract") or bool(s["contract"]["preview_sha256"]),
            "the contract to be drawn up",
        )
        if past(s, "contract"):
            return
        preview = await self.call(
            "GET", self.journey_url("/contract.pdf"), "read the contract", who=self.learner
        )
        self.say(
            "阅读合同",
            "Read the contract",
            f"{s['contract']['contract_no']}, {len(preview.content) // 1024} KB PDF, "
            f"tuition {yuan(s['tuition_fen'])}",
        )
        await self.call(
            "POST",
            self.journey_url("/contract/signature"),
            "sign the contract",
            who=self.learner,
            files={"signature": ("signature.png", signature_png(), "image/png")},
        )
        signed = (await self.state())["contract"]["signed_sha256"]
        self.say("手写签名", "Sign by hand", f"signed PDF sha256 {signed[:16]}…")

    async def payment(self) -> None:
        s = await self.until(lambda s: reached(s, "payment"), "the payment stage")
        if past(s, "payment"):
            return
        await self.pay(None, "云闪付缴纳培训费", "Pay the tuition into escrow")
        s = await self.until(lambda s: past(s, "payment"), "the payment to land in escrow")
        self.say(
            "资金进入监管账户，电子发票已开具",
            "Tuition held in escrow; e-invoice issued",
            f"deposited {yuan(s['money']['deposited_fen'])}, invoice {s['invoice_no']}",
        )

    async def pay(self, amount_fen: int | None, zh: str, en: str) -> None:
        s = await self.state()
        order = next((o for o in s["orders"] if o["status"] == "pending"), None)
        if order is None:
            body: dict[str, Any] = {"channel": "unionpay"}
            if amount_fen is not None:
                body["amount_fen"] = amount_fen
            r = await self.call(
                "POST",
                self.journey_url("/payment"),
                "create a payment",
                who=self.learner,
                json=body,
            )
            order = r.json()  # the order it created: its id and amount
        await self.call(
            "POST",
            f"{self.urls.bank}/_simulate/orders/{order['order_id']}/pay",
            "pay the order in the bank's app",
        )
        self.say(zh, en, f"{yuan(order['amount_fen'])}, order {order['order_id']}")
        await self.until(
            lambda s: all(o["status"] != "pending" for o in s["orders"]),
            "the bank's payment callback",
        )

    # ---- training, stage report and exam, per subject -------------------------------------

    async def train(self, subject: str) -> None:
        s = await self.until(lambda s: reached(s, subject), f"the {subject} stage")
        if past(s, subject) or s["subjects"][subject]["exam"]["passed"]:
            return
        zh, en = SUBJECTS[subject]
        self.say(f"进入{zh}", f"Start {en}")
        if subject in ("theory", "safety"):
            await self.classroom_hours(subject)
        else:
            await self.practical_hours(subject)
        await self.stage_report(subject)
        await self.exam(subject)

    async def classroom_hours(self, subject: str) -> None:
        p = (await self.state())["subjects"][subject]
        zh, en = SUBJECTS[subject]
        if p["stage_confirmed"]:
            return
        classroom = max(
            p["classroom_min_minutes"] - p["classroom_minutes"] - p["carried_minutes"], 0
        )
        rest = max(
            p["required_minutes"] - p["counted_minutes"] - p["carried_minutes"] - classroom, 0
        )
        remote_left = p["required_minutes"] - p["classroom_min_minutes"] - p["remote_minutes"]
        sessions = [("classroom", classroom)] if classroom else []
        if rest:
            sessions.append(("remote" if rest <= remote_left else "classroom", rest))
        end = datetime.now(UTC) - timedelta(minutes=1)
        start = end - timedelta(minutes=sum(m for _, m in sessions))
        coach_id = (await self.view())["coach_id"]
        for mode, minutes in sessions:
            await self.session(subject, mode, start, minutes, coach_id, None, uuid.uuid4().hex[:12])
            start += timedelta(minutes=minutes)
        if sessions:
            parts = " + ".join(f"{m} min {mode}" for mode, m in sessions)
            self.say(f"{zh}学时上传", f"The timing platform reports {en} lessons", parts)
        await self.until(
            lambda s: _theory_done(s["subjects"][subject]), f"{subject} hours to be counted"
        )
        await self.call(
            "POST",
            self.journey_url(f"/stages/{subject}/confirm"),
            f"confirm the {subject} stage",
            who=self.learner,
            json={"school_stars": 5, "coach_stars": 5, "comment": "讲解清楚，安排合理"},
        )
        self.say(f"学员确认{zh}学时并评价", f"Confirm {en} and rate it", "★★★★★ / ★★★★★")

    async def view(self) -> dict[str, Any]:
        return (await self.call("GET", self.journey_url(), "read", who=self.learner)).json()

    async def session(
        self,
        subject: str,
        mode: str,
        start: datetime,
        minutes: int,
        coach_id: str,
        vehicle_id: str | None,
        session_id: str,
    ) -> None:
        s = await self.state()
        await self.call(
            "POST",
            f"{self.urls.timing}/_simulate/sessions",
            "a lesson on the timing terminal",
            json={
                "session_id": session_id,
                "learner_no": s["learner_no"],
                "journey_ref": self.wf_id,
                "coach_id": coach_id,
                "vehicle_id": vehicle_id,
                "subject": subject,
                "mode": mode,
                "start": start.isoformat(),
                "minutes": minutes,
                "callback_url": f"{self.urls.api}/api/webhooks/timing",
            },
        )

    async def practical_hours(self, subject: str) -> None:
        zh, en = SUBJECTS[subject]
        for _ in range(10):
            s = await self.state()
            p = s["subjects"][subject]
            if _practical_done(p):
                break
            pending = [
                r for r in s["records"] if r["subject"] == subject and r["status"] == "pending"
            ]
            recorded = {r["session_id"] for r in s["records"]}
            untrained = [
                b
                for b in s["bookings"]
                if b["subject"] == subject
                and b["status"] == "booked"
                and b["booking_id"] not in recorded
            ]
            if pending:
                await self.confirm_records(subject, pending)
            elif untrained:
                await self.train_bookings(subject, untrained)
            else:
                missing = p["required_minutes"] - p["confirmed_minutes"] - p["carried_minutes"]
                await self.book_hours(subject, math.ceil(missing / 60), s)
        else:
            raise DemoError(f"{subject}: the hours are still not met after 10 rounds")
        p = (await self.state())["subjects"][subject]
        self.say(
            f"{zh}学时已满",
            f"{en} hours met",
            f"{p['confirmed_minutes'] // 60} h confirmed of {p['required_minutes'] // 60} h",
        )

    async def book_hours(self, subject: str, hours: int, s: dict[str, Any]) -> None:
        zh, en = SUBJECTS[subject]
        slots = (
            await self.call("GET", self.journey_url("/slots"), "list open slots", who=self.learner)
        ).json()
        busy = [
            (_at(b["start"]), _at(b["end"]))
            for b in s["bookings"]
            if b["status"] in ("booked", "completed")
        ]
        # The cheapest first (normal hours before peak and holiday ones), then the soonest.
        slots.sort(key=lambda x: (x["rate_fen"], x["start"]))
        booked: list[dict[str, Any]] = []
        topped_up = False
        for slot in slots:
            if sum(_hours(b) for b in booked) >= hours:
                break
            start, end = _at(slot["start"]), _at(slot["end"])
            if any(start < e and b < end for b, e in busy):
                continue
            r = await self.call(
                "POST",
                self.journey_url("/bookings"),
                "book a slot",
                who=self.learner,
                json={"slot_id": slot["id"]},
                ok=(200, 409),
            )
            if r.status_code == 409 and "余额不足" in r.text and not topped_up:
                left = hours - sum(_hours(b) for b in booked)
                await self.pay(
                    left * slot["rate_fen"],
                    "监管账户充值",
                    "Top up the escrow for peak/holiday hours",
                )
                topped_up = True
                r = await self.call(
                    "POST",
                    self.journey_url("/bookings"),
                    "book a slot",
                    who=self.learner,
                    json={"slot_id": slot["id"]},
                    ok=(200, 409),
                )
            if r.status_code == 409:
                continue  # taken meanwhile, or the learner is busy then: try the next one
            busy.append((start, end))
            booked.append(slot)
        if not booked:
            raise DemoError(
                f"{subject}: none of the {len(slots)} open slots could be booked; the demo week's "
                "timetable may be used up (restarting `make run` publishes the days to come)"
            )
        kinds = sorted({b["rate_kind"] for b in booked})
        first = min(_at(b["start"]) for b in booked).astimezone(CHINA)
        self.say(
            f"预约{zh}训练",
            f"Book {en} sessions",
            f"{len(booked)} slots from {first:%m-%d %H:%M} ({'/'.join(kinds)} rates)",
        )

    async def train_bookings(self, subject: str, bookings: list[dict[str, Any]]) -> None:
        zh, en = SUBJECTS[subject]
        for b in bookings:
            # The car's terminal logs the lesson under the booking's id, coach and car.
            await self.session(
                subject,
                "practical",
                _at(b["start"]),
                b["hours"] * 60,
                b["coach_id"],
                b["vehicle_id"],
                b["booking_id"],
            )
        ids = {b["booking_id"] for b in bookings}
        await self.until(
            lambda s: ids <= {r["session_id"] for r in s["records"]},
            f"{len(ids)} training records from the timing platform",
        )
        self.say(
            f"{zh}训练完成，计时平台上传学时",
            f"{en} sessions trained; the terminal uploads the records",
            f"{len(bookings)} records",
        )

    async def confirm_records(self, subject: str, records: list[dict[str, Any]]) -> None:
        zh, en = SUBJECTS[subject]
        before = (await self.state())["money"]["released_fen"]
        for rec in records:
            await self.call(
                "POST",
                self.journey_url(f"/records/{rec['record_no']}/confirm"),
                "confirm a training record",
                who=self.learner,
            )
        after = (await self.state())["money"]["released_fen"]
        self.say(
            f"学员确认{zh}学时，按时拨付驾校",
            f"Confirm the {en} records; escrow pays the school per hour",
            f"{len(records)} records, released {yuan(after - before)}",
        )

    async def stage_report(self, subject: str) -> None:
        zh, en = SUBJECTS[subject]
        staff = SCHOOLS[self.school_id][0]
        school = f"{self.urls.api}/api/school/journeys/{self.wf_id}"
        gov = f"{self.urls.api}/api/gov/journeys/{self.wf_id}"
        for _ in range(8):
            s = await self.state()
            p = s["subjects"][subject]
            if p["exam"]["eligible"] or p["exam"]["passed"]:
                return
            status = p["report"]["status"]
            if status in ("none", "rejected"):
                await self.call(
                    "POST",
                    f"{school}/stages/{subject}/report",
                    "submit the stage report",
                    who=staff,
                )
                self.say(
                    f"驾校提交{zh}阶段报审", f"The school submits the {en} stage report", staff
                )
                want = "submitted"
            elif status == "submitted":
                await self.call(
                    "POST",
                    self.journey_url(f"/stages/{subject}/report/confirm"),
                    "confirm the stage report",
                    who=self.learner,
                )
                self.say("学员确认报审", "The learner confirms the report")
                want = "confirmed"
            elif status == "confirmed":
                await self.call(
                    "POST",
                    f"{gov}/stages/{subject}/report/approve",
                    "approve the stage report",
                    who=REGULATOR,
                    ok=(200, 409),  # the demo policy may have approved it on its own meanwhile
                )
                self.say("监管部门审核通过", "The regulator approves", REGULATOR)
                want = "approved"
            else:
                want = "approved"
            await self.until(
                lambda s, w=want: _report_at_least(s["subjects"][subject], w),
                f"the {subject} stage report to be {want}",
            )
        await self.until(
            lambda s: s["subjects"][subject]["exam"]["eligible"], f"the {subject} exam to open"
        )

    async def exam(self, subject: str) -> None:
        zh, en = SUBJECTS[subject]
        s = await self.until(
            lambda s: s["subjects"][subject]["exam"]["eligible"], f"the {subject} exam to open"
        )
        booking = s["subjects"][subject]["exam"]["booking_id"]
        self.say(f"{zh}考试资格已推送12123", f"{en}: exam eligibility sent to 12123")
        if not booking:
            today = datetime.now(CHINA).date().isoformat()
            r = await self.call(
                "POST",
                self.journey_url("/exams"),
                "book the exam",
                who=self.learner,
                json={"subject": subject, "exam_date": today},
            )
            booking = r.json()["booking_id"]
            self.say(f"预约{zh}考试", f"Book the {en} exam", f"{today}, {booking}")
        auto = await self.sim_setting(self.urls.exam, "auto_pass_seconds")
        if auto is None and booking:
            await self.call(
                "POST",
                f"{self.urls.exam}/_simulate/bookings/{booking}/result",
                "enter the exam result",
                json={"score": 96},
                ok=(200, 409),
            )
            self.say("考官录入成绩", "The examiner enters the score", "96")
        elif auto is not None:
            self.say("等待考试结果", "Waiting for the exam result", f"about {auto:g}s")
        s = await self.until(
            lambda s: s["subjects"][subject]["exam"]["passed"], f"the {subject} exam result"
        )
        detail = s["subjects"][subject]["exam"]["results"][-1:]
        if subject == "theory" and s["permit_issued_at"]:
            issued = _at(s["permit_issued_at"]).astimezone(CHINA).date()
            detail.append(f"学习驾驶证明 learning permit from {issued}")
        self.say(f"{zh}考试合格", f"{en} exam passed", "; ".join(detail))

    # ---- graduation and after --------------------------------------------------------------

    async def graduation(self) -> dict[str, Any]:
        s = await self.until(lambda s: past(s, "graduation"), "graduation")
        m = s["money"]
        self.say(
            "结业：证书签发，档案归档，监管资金结清",
            "Graduate: certificate, archive, escrow settled",
            f"{s['certificate_no']}; paid in {yuan(m['deposited_fen'])}, to the school "
            f"{yuan(m['released_fen'])}, refunded {yuan(m['refunded_fen'])}",
        )
        return s

    async def followup(self, s: dict[str, Any]) -> dict[str, Any]:
        if s["stage"] == "followup" and s["followup_review"] is None:
            await self.call(
                "POST",
                self.journey_url("/followup"),
                "add a follow-up review",
                who=self.learner,
                json={"school_stars": 5, "coach_stars": 5, "comment": "拿证后再评：教练耐心，推荐"},
                ok=(200, 409),
            )
            self.say("追评", "Follow-up review", "★★★★★")
        return await self.until(lambda s: s["stage"] == "closed", "the journey to close")

    async def archive(self, s: dict[str, Any]) -> dict[str, bytes]:
        documents = {}
        for kind in ARCHIVE:
            r = await self.call(
                "GET",
                self.journey_url(f"/documents/{kind}.pdf"),
                f"download {kind}",
                who=self.learner,
            )
            if not r.content.startswith(b"%PDF"):
                raise DemoError(f"{kind}.pdf is not a PDF")
            documents[kind] = r.content
        sizes = ", ".join(f"{k} {len(v) // 1024} KB" for k, v in documents.items())
        self.say("下载结业证书与学习档案", "Download the certificate and archive", sizes)
        return documents


def _at(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hours(slot: dict[str, Any]) -> int:
    return int((_at(slot["end"]) - _at(slot["start"])).total_seconds() // 3600)


def _theory_done(p: dict[str, Any]) -> bool:
    carried = p["carried_minutes"]
    return (
        p["counted_minutes"] + carried >= p["required_minutes"]
        and p["classroom_minutes"] + carried >= p["classroom_min_minutes"]
    )


def _practical_done(p: dict[str, Any]) -> bool:
    return p["confirmed_minutes"] + p["carried_minutes"] >= p["required_minutes"]


REPORT_ORDER = ("none", "rejected", "submitted", "confirmed", "approved")


def _report_at_least(p: dict[str, Any], status: str) -> bool:
    now = p["report"]["status"]
    if status == "approved":
        return now == "approved" or p["exam"]["eligible"]
    return REPORT_ORDER.index(now) >= REPORT_ORDER.index(status) or now == "rejected"


async def run_demo(
    urls: DemoUrls,
    learner: str = "learner2",
    http_client_factory: Callable[[], httpx.AsyncClient] | None = None,
    *,
    say: Callable[[str], None] = print,
    wait_seconds: float = 60.0,
    password: str = DEMO_PASSWORD,
) -> dict[str, Any]:
    """Takes `learner` through a whole journey; returns where it ended and its documents.

    Raises DemoError with the step, the HTTP answer or what it waited for, when it cannot go on.
    """
    factory = http_client_factory or (lambda: httpx.AsyncClient(timeout=30))
    async with factory() as http:
        return await Demo(http, urls, learner, say, wait_seconds, password).run()


def main(argv: list[str] | None = None) -> None:
    defaults = DemoUrls()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("api", "timing", "exam", "bank", "health"):
        p.add_argument(f"--{name}", default=getattr(defaults, name))
    p.add_argument("--learner", default="learner2")
    p.add_argument("--wait-seconds", type=float, default=90.0, help="longest wait for one step")
    p.add_argument("--out", type=Path, default=Path("var/demo"), help="where to save the PDFs")
    args = p.parse_args(argv)
    urls = DemoUrls(args.api, args.timing, args.exam, args.bank, args.health)
    run: Awaitable[dict[str, Any]] = run_demo(urls, args.learner, wait_seconds=args.wait_seconds)
    try:
        result = asyncio.run(run)
    except DemoError as exc:
        print(f"\n演示中止 · demo stopped: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{result['certificate_no']}-certificate.pdf"
    path.write_bytes(result["certificate_pdf"])
    print(f"\n完成 · done: {result['workflow_id']} is {result['stage']} ({result['status']})")
    print(f"结业证书 · certificate saved to {path}")
    print(
        f"Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/{result['workflow_id']}"
    )


if __name__ == "__main__":
    main()
