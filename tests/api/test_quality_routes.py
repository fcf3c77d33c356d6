"""The index on the regulator's port and choosing by credit on the learner's: who may see what,
the list's filters, sort and paging, and a penalised school showing it in the list."""

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.quality_index import IndexActivities
from api.main import create_app
from core.db import engine_for
from evaluation.publish import publish
from models.history_rows import History
from policy.loader import load_quality_indexes
from tests.api.conftest import Api
from tests.api.conftest import test_settings as api_settings
from tests.evaluation.seeds import ANDA, AS_OF, CITY, GANGCHENG, LUDONG, balanced_city, days_ago
from workflows.quality_index import IndexRecomputeWorkflow

HERE = (35.42, 119.52)  # near 安达 in 东港区


@pytest.fixture
async def api(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    """The API with the demo registry, a seeded history and one publication, and a worker
    that runs recomputes (nothing else)."""
    settings = api_settings(tmp_path)
    app = create_app(settings, temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        engine = engine_for(settings.database_url)
        with Session(engine) as session:
            balanced_city().add_to(session)
            session.commit()
            rules = load_quality_indexes(settings.policy_paths)[CITY]
            publish(session, "pub-first", CITY, rules, AS_OF, "schedule")
        async with Worker(
            dev_env.client,
            task_queue=settings.task_queue,
            workflows=[IndexRecomputeWorkflow],
            activities=[IndexActivities(engine, settings.policy_paths).publish],
            activity_executor=ThreadPoolExecutor(max_workers=2),
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                yield Api(app, http, settings)


async def get(api: Api, user: str, path: str, **params: Any) -> httpx.Response:
    return await api.http.get(path, params=params, headers=await api.token(user))


async def schools(api: Api, **params: Any) -> dict[str, Any]:
    r = await get(api, "learner1", "/api/learner/v2/schools", **params)
    assert r.status_code == 200, r.text
    return r.json()


# ---- choosing by credit (learner port) -----------------------------------------------------


async def test_the_list_shows_each_schools_figures_from_the_latest_publication(api: Api) -> None:
    page = await schools(api, city_code=CITY)
    assert page["total"] == 3 and [s["id"] for s in page["items"]] == [ANDA, GANGCHENG, LUDONG]
    anda = page["items"][0]
    assert anda["figures"]["pass_rates"]["field"] == 90.0
    assert (anda["figures"]["satisfaction"], anda["figures"]["reviews"]) == (5.0, 10)
    assert anda["index"]["publication_id"] == "pub-first" and anda["index"]["rank"] == 1
    assert anda["ground_area_m2"] > 0 and anda["grounds"][0]["area_m2"] == anda["ground_area_m2"]
    assert anda["contacts"] == {"consultation_phone": "0633-8210001", "complaint_hotline": "12328"}
    c1 = next(f for f in anda["fees"] if f["vehicle_class"] == "C1")
    # 300 + 400 yuan fixed, 16 field hours at 120 and 24 road hours at 130 (policy demo.yaml).
    assert c1["tuition_fen"] == 30000 + 40000 + 16 * 12000 + 24 * 13000


async def test_the_list_filters_by_class_distance_price_and_level(api: Api) -> None:
    lat, lon = HERE
    by_class = await schools(api, city_code=CITY, vehicle_class="C2")
    assert {s["id"] for s in by_class["items"]} == {ANDA, LUDONG}  # 港城 teaches C1 only
    near = await schools(api, city_code=CITY, lat=lat, lon=lon, max_distance_km=20)
    assert [s["id"] for s in near["items"]] == [ANDA]
    assert near["items"][0]["distance_km"] < 2
    cheap = await schools(api, city_code=CITY, vehicle_class="C1", max_price_fen=580000)
    assert [s["id"] for s in cheap["items"]] == [ANDA]  # the others charge 10 and 20 yuan more
    good = await schools(api, city_code=CITY, min_level="AA")
    assert all(s["index"]["level"] in ("AAA", "AA") for s in good["items"])
    assert LUDONG not in {s["id"] for s in good["items"]}


async def test_the_list_sorts_by_distance_price_or_index_and_pages(api: Api) -> None:
    lat, lon = HERE
    by_distance = await schools(api, city_code=CITY, lat=lat, lon=lon, sort="distance")
    distances = [s["distance_km"] for s in by_distance["items"]]
    assert distances == sorted(distances)
    by_price = await schools(api, city_code=CITY, sort="price")
    assert [s["id"] for s in by_price["items"]] == [ANDA, GANGCHENG, LUDONG]
    second = await schools(api, city_code=CITY, sort="index", page=2, page_size=2)
    assert (second["total"], second["page"], second["page_size"]) == (3, 2, 2)
    assert [s["id"] for s in second["items"]] == [LUDONG]


async def test_distance_without_a_position_is_refused_naming_the_field(api: Api) -> None:
    r = await get(api, "learner1", "/api/learner/v2/schools", sort="distance")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "lat"]
    r = await get(api, "learner1", "/api/learner/v2/schools", lat=35.4)
    assert r.json()["detail"][0]["loc"] == ["query", "lon"]


async def test_school_detail_shows_its_coaches_with_their_figures(api: Api) -> None:
    r = await get(api, "learner1", f"/api/learner/v2/schools/{ANDA}")
    assert r.status_code == 200, r.text
    coaches = {c["id"]: c for c in r.json()["coaches"]}
    k1 = coaches[f"{ANDA}-K1"]  # the seeded history trains every learner with K1
    assert (k1["learners_taught"], k1["reviews"], k1["satisfaction"]) == (10, 10, 5.0)
    assert k1["age"] > 40 and k1["permitted_classes"] == ["C1", "C2"]
    assert coaches[f"{ANDA}-K2"]["learners_taught"] == 0
    assert r.json()["reviews_total"] == 10 and len(r.json()["reviews"]) == 5
    listed = await get(api, "learner1", f"/api/learner/v2/schools/{ANDA}/coaches")
    assert listed.json() == r.json()["coaches"]
    missing = await get(api, "learner1", "/api/learner/v2/schools/S999")
    assert missing.status_code == 404


async def test_a_penalised_school_falls_and_shows_it_in_the_list(api: Api) -> None:
    engine = engine_for(api.settings.database_url)
    h = History(_n=50_000)
    j = h.journey(h.learner("pen"), ANDA, f"{ANDA}-K1", CITY, days_ago(30), "active")
    for n in range(3):
        h.penalty(ANDA, CITY, days_ago(2 + n), coach_id=f"{ANDA}-K1")
    h.complaint(j, days_ago(1))
    with Session(engine) as session:
        h.add_to(session)
        session.commit()
        rules = load_quality_indexes(api.settings.policy_paths)[CITY]
        publish(session, "pub-second", CITY, rules, AS_OF, "schedule")
    page = await schools(api, city_code=CITY)
    anda = next(s for s in page["items"] if s["id"] == ANDA)
    assert anda["index"]["publication_id"] == "pub-second"
    assert anda["index"]["rank"] > 1 and anda["index"]["black_list"]
    assert (anda["figures"]["penalties"], anda["figures"]["complaints"]) == (3, 1)
    assert page["items"][0]["id"] != ANDA
    coaches = (await get(api, "learner1", f"/api/learner/v2/schools/{ANDA}/coaches")).json()
    assert coaches[0]["penalties"] == 3 and coaches[0]["complaints"] == 1
    history = (await get(api, "rizhao", "/api/gov/index/history")).json()
    change = next(e for e in history[0]["entries"] if e["school_id"] == ANDA)
    assert change["previous_rank"] == 1 and change["rank_change"] < 0


# ---- the index (regulator port) ------------------------------------------------------------


async def test_the_ranking_is_the_latest_publication_of_the_regulators_city(api: Api) -> None:
    r = await get(api, "rizhao", "/api/gov/index/ranking")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["publication"]["id"] == "pub-first"
    assert [e["school_id"] for e in body["entries"]] == [ANDA, GANGCHENG, LUDONG]
    province = await get(api, "shandong", "/api/gov/index/ranking", city_code=CITY)
    assert province.json()["entries"] == body["entries"]


async def test_another_region_sees_nothing_of_the_city(api: Api) -> None:
    for path in ("/api/gov/index/ranking", "/api/gov/index/history"):
        r = await get(api, "fuzhou", path, city_code=CITY)
        assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await get(api, "fuzhou", f"/api/gov/index/schools/{ANDA}/breakdown")
    assert r.status_code == 404
    r = await api.http.post(
        "/api/gov/index/publications", json={"city_code": CITY}, headers=await api.token("fuzhou")
    )
    assert r.status_code == 404
    learner = await get(api, "learner1", "/api/gov/index/ranking")
    assert learner.status_code == 403


async def test_each_level_2_item_is_published_on_its_own(api: Api) -> None:
    r = await get(api, "rizhao", "/api/gov/index/items/pass_rate_field")
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    assert [(e["school_id"], e["value"]) for e in entries] == [
        (ANDA, 90.0),
        (GANGCHENG, 70.0),
        (LUDONG, 50.0),
    ]
    assert (entries[1]["numerator"], entries[1]["denominator"]) == (7, 10)
    unknown = await get(api, "rizhao", "/api/gov/index/items/bribes")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["path", "measure"]


async def test_a_province_regulator_names_the_city(api: Api) -> None:
    r = await get(api, "shandong", "/api/gov/index/ranking")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "city_code"]


async def test_the_breakdown_traces_the_score_to_counts_weights_and_normalisation(
    api: Api,
) -> None:
    r = await get(api, "rizhao", f"/api/gov/index/schools/{GANGCHENG}/breakdown")
    assert r.status_code == 200, r.text
    b = r.json()
    field = next(i for i in b["items"] if i["measure"] == "pass_rate_field")
    assert (field["numerator"], field["denominator"], field["value"]) == (7, 10, 70.0)
    assert (field["numerator_counts"], field["denominator_counts"]) == (
        "passes_field",
        "attempts_field",
    )
    assert (field["method"], field["low"], field["high"], field["weight"]) == ("target", 50, 95, 20)
    # Only 科目二, satisfaction, complaints and penalties have data: weights 20+10+10+10.
    assert b["weights_applied"] == 50
    assert round(sum(i["points"] or 0 for i in b["items"]), 2) == b["index"]["score"]
    assert [i["measure"] for i in b["items"]][:2] == ["pass_rate_theory", "pass_rate_field"]
    assert b["rules"]["version"] == "demo-1"


async def test_the_regulator_recomputes_on_demand_once_per_key(api: Api) -> None:
    headers = {**await api.token("rizhao"), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    r = await api.http.post("/api/gov/index/publications", json={}, headers=headers)
    assert r.status_code == 201, r.text
    again = await api.http.post("/api/gov/index/publications", json={}, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    assert r.json()["trigger"] == "regulator" and r.json()["schools"] == 3
    ranking = (await get(api, "rizhao", "/api/gov/index/ranking")).json()
    assert ranking["publication"]["id"] == r.json()["id"]
    history = (await get(api, "rizhao", "/api/gov/index/history")).json()
    assert [p["publication"]["id"] for p in history] == [r.json()["id"], "pub-first"]


async def test_a_city_without_index_rules_cannot_be_recomputed(api: Api) -> None:
    r = await api.http.post(
        "/api/gov/index/publications",
        json={"city_code": "370200"},
        headers=await api.token("shandong"),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "city_code"]
