"""Reviews on the three ports: who may see and do what (another learner, school or region gets
404, another port 403), edits in versions within the window, one reply, and hiding with a
logged reason (the stars still count, the text is withheld from learners and schools)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.db import engine_for
from evaluation.reviews import NewReview, record_review, star_summary
from models.evaluation import Review, ReviewEdit
from tests.api.conftest import Api

RIZHAO, GANGCHENG, FUZHOU = "S371100001", "S371100002", "S350100001"


def seed(api: Api, review_id: str, learner: str, school: str, stage: str, **kw: object) -> None:
    new = NewReview(
        review_id=review_id,
        journey_id=f"journey-{learner}-{school}-C1",
        learner_id=learner,
        school_id=school,
        coach_id=f"{school}-K1",
        stage=stage,
        school_stars=int(kw.get("stars", 4)),  # type: ignore[call-overload]
        coach_stars=5,
        text=str(kw.get("text", "教练讲解清楚")),
        at=kw.get("at", datetime.now(UTC)),  # type: ignore[arg-type]
    )
    with Session(engine_for(api.settings.database_url)) as session:
        record_review(session, new)


@pytest.fixture
async def seeded(api: Api) -> Api:
    seed(api, "R1", "U-learner1", RIZHAO, "theory", stars=5)
    seed(api, "R2", "U-learner1", RIZHAO, "followup", text="你们就是骗子", stars=1)
    seed(api, "R3", "U-learner2", GANGCHENG, "theory")
    seed(api, "R4", "U-learner2", FUZHOU, "theory")
    return api


def ids(page: dict | list) -> list[str]:  # type: ignore[type-arg]
    items = page["items"] if isinstance(page, dict) else page
    return sorted(item["id"] for item in items)


def test_the_journeys_write_is_idempotent_on_id_and_on_journey_and_stage(api: Api) -> None:
    seed(api, "R1", "U-learner1", RIZHAO, "theory", stars=5)
    seed(api, "R1", "U-learner1", RIZHAO, "theory", stars=1)  # a retry
    seed(api, "R9", "U-learner1", RIZHAO, "theory", stars=2)  # a second rating of the stage
    with Session(engine_for(api.settings.database_url)) as session:
        assert [(r.id, r.school_stars) for r in session.exec(select(Review))] == [("R1", 5)]
        assert [(e.review_id, e.version) for e in session.exec(select(ReviewEdit))] == [("R1", 1)]


async def test_each_port_sees_only_its_own(seeded: Api) -> None:
    api = seeded
    one, two = await api.token("learner1"), await api.token("learner2")
    assert ids((await api.http.get("/api/learner/reviews", headers=one)).json()) == ["R1", "R2"]
    assert ids((await api.http.get("/api/learner/reviews", headers=two)).json()) == ["R3", "R4"]
    school = (await api.http.get("/api/school/reviews", headers=await api.token("school1"))).json()
    assert ids(school) == ["R1", "R2"] and school["total"] == 2
    # Neither the school nor the public learns who wrote it (a journey id names the learner).
    assert all("learner_id" not in r and "journey_id" not in r for r in school["items"])
    rizhao = (await api.http.get("/api/gov/reviews", headers=await api.token("rizhao"))).json()
    assert ids(rizhao) == ["R1", "R2", "R3"]
    fuzhou = await api.token("fuzhou")
    assert ids((await api.http.get("/api/gov/reviews", headers=fuzhou)).json()) == ["R4"]
    assert (await api.http.get("/api/gov/reviews/R1", headers=fuzhou)).status_code == 404
    province = await api.token("shandong")
    got = await api.http.get("/api/gov/reviews", params={"school_id": GANGCHENG}, headers=province)
    assert ids(got.json()) == ["R3"]


async def test_ports_and_logins_are_checked(seeded: Api) -> None:
    api = seeded
    assert (await api.http.get("/api/learner/reviews")).status_code == 401
    school = await api.token("school1")
    for method, url in (
        ("GET", "/api/learner/reviews"),
        ("GET", f"/api/learner/schools/{RIZHAO}/reviews"),
        ("GET", "/api/gov/reviews"),
    ):
        r = await api.http.request(method, url, headers=school)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    learner = await api.token("learner1")
    r = await api.http.post("/api/gov/reviews/R1/hide", json={"reason": "x"}, headers=learner)
    assert r.status_code == 403
    r = await api.http.post("/api/school/reviews/R1/reply", json={"text": "x"}, headers=learner)
    assert r.status_code == 403


async def test_a_learner_edits_their_own_review_in_versions_within_the_window(
    seeded: Api,
) -> None:
    api = seeded
    me = await api.token("learner1")
    edit = {"school_stars": 3, "coach_stars": 4, "text": "后来约车有点难"}
    r = await api.http.put("/api/learner/reviews/R1", json=edit, headers=me)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["text"], r.json()["school_stars"]) == (2, edit["text"], 3)
    again = await api.http.put("/api/learner/reviews/R1", json=edit, headers=me)
    assert again.json()["version"] == 2  # the same content twice is one edit
    other = await api.http.put("/api/learner/reviews/R3", json=edit, headers=me)
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    r = await api.http.put("/api/learner/reviews/R1", json={"school_stars": 3}, headers=me)
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "coach_stars"])
    r = await api.http.put("/api/learner/reviews/R1", json={**edit, "school_stars": 6}, headers=me)
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "school_stars"])
    r = await api.http.put("/api/learner/reviews/R1", json={**edit, "text": "a\x00"}, headers=me)
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "text"])
    record = (await api.http.get("/api/gov/reviews/R1", headers=await api.token("rizhao"))).json()
    assert [(v["version"], v["school_stars"]) for v in record["versions"]] == [(1, 5), (2, 3)]
    # Past the city's window (30 days in Rizhao's policy) a review stands as it is.
    seed(api, "R5", "U-learner1", RIZHAO, "safety", at=datetime.now(UTC) - timedelta(days=31))
    late = await api.http.put("/api/learner/reviews/R5", json=edit, headers=me)
    assert (late.status_code, late.json()["code"]) == (409, "review_refused")
    assert "修改期限" in late.json()["detail"]


async def test_a_school_answers_once_and_may_edit_its_answer(seeded: Api) -> None:
    api = seeded
    staff = await api.token("school1")
    url = "/api/school/reviews/R1/reply"
    assert (await api.http.put(url, json={"text": "谢谢"}, headers=staff)).status_code == 409
    r = await api.http.post(url, json={"text": "感谢您的评价"}, headers=staff)
    assert (r.status_code, r.json()["reply"]) == (200, "感谢您的评价")
    assert (
        await api.http.post(url, json={"text": "感谢您的评价"}, headers=staff)
    ).status_code == 200
    second = await api.http.post(url, json={"text": "另一条回复"}, headers=staff)
    assert (second.status_code, second.json()["code"]) == (409, "review_refused")
    r = await api.http.put(url, json={"text": "已安排加开练车时段"}, headers=staff)
    assert r.json()["reply"] == "已安排加开练车时段"
    other = await api.token("school2")
    assert (await api.http.post(url, json={"text": "x"}, headers=other)).status_code == 404
    blank = await api.http.post(url, json={"text": "   "}, headers=staff)
    assert (blank.status_code, blank.json()["detail"][0]["loc"]) == (422, ["body", "text"])


async def test_a_regulator_hides_abusive_text_with_a_logged_reason(seeded: Api) -> None:
    api = seeded
    gov = await api.token("rizhao")
    r = await api.http.post("/api/gov/reviews/R2/hide", json={"reason": "侮辱性言论"}, headers=gov)
    assert r.status_code == 200, r.text
    hidden = r.json()
    assert (hidden["text"], hidden["hidden_reason"], hidden["hidden_by"]) == (
        "你们就是骗子",
        "侮辱性言论",
        "U-rizhao",
    )
    assert [(m["action"], m["reason"], m["actor_id"]) for m in hidden["moderation"]] == [
        ("hide", "侮辱性言论", "U-rizhao")
    ]
    # A second click logs nothing more.
    r = await api.http.post("/api/gov/reviews/R2/hide", json={"reason": "侮辱性言论"}, headers=gov)
    assert len(r.json()["moderation"]) == 1
    public = await api.http.get(
        f"/api/learner/schools/{RIZHAO}/reviews", headers=await api.token("learner2")
    )
    shown = {item["id"]: item for item in public.json()["items"]}
    assert (shown["R2"]["text"], shown["R2"]["text_hidden"]) == (None, True)
    assert shown["R1"]["text"] == "教练讲解清楚"
    school = (await api.http.get("/api/school/reviews", headers=await api.token("school1"))).json()
    assert {i["id"]: i["text"] for i in school["items"]}["R2"] is None
    own = (await api.http.get("/api/learner/reviews", headers=await api.token("learner1"))).json()
    assert {i["id"]: i["hidden_reason"] for i in own}["R2"] == "侮辱性言论"
    with Session(engine_for(api.settings.database_url)) as session:
        assert star_summary(session, RIZHAO).school_stars_avg == 3.0  # (5 + 1) / 2: still counted
    r = await api.http.post("/api/gov/reviews/R2/show", json={"reason": "误判"}, headers=gov)
    assert (r.json()["text_hidden"], [m["action"] for m in r.json()["moderation"]]) == (
        False,
        ["hide", "show"],
    )
    assert (
        await api.http.post("/api/gov/reviews/R2/hide", json={}, headers=gov)
    ).status_code == 422
    fz = await api.token("fuzhou")
    r = await api.http.post("/api/gov/reviews/R2/hide", json={"reason": "x"}, headers=fz)
    assert r.status_code == 404


async def test_a_school_or_coach_reviews_for_its_detail_page(seeded: Api) -> None:
    api = seeded
    me = await api.token("learner2")
    url = f"/api/learner/schools/{RIZHAO}/reviews"
    page = (await api.http.get(url, params={"limit": 1}, headers=me)).json()
    assert (page["total"], len(page["items"])) == (2, 1)
    coach = await api.http.get(url, params={"coach_id": f"{RIZHAO}-K1"}, headers=me)
    assert coach.json()["total"] == 2
    for params, status in (({"coach_id": f"{GANGCHENG}-K1"}, 404), ({"limit": 0}, 422)):
        assert (await api.http.get(url, params=params, headers=me)).status_code == status
    assert (await api.http.get("/api/learner/schools/NOPE/reviews", headers=me)).status_code == 404
