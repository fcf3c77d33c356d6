"""The governance port masks ID numbers and phones (issue 12, privacy).

With a learner whose whole ID number and phone are known, neither appears whole in any answer
of any /api/gov/* read (every one the OpenAPI lists, lists and detail alike) nor on any
regulator page, for a city's regulator or its province's. A journey's own detail shows them
whole to the two entitled to them: its learner, and its school's staff (who check them against
the ID card at 面签); the regulator's detail shows them masked by the one rule, core/masking.py.
"""

import httpx
import pytest

from core.masking import mask_id_number, mask_phone
from models.demo import DEMO_PASSWORD
from tests.api.authz.calls import ROUTES, SPEC, request_for
from tests.api.authz.world import ID_NUMBER, NAME, PHONE, World
from tests.pages.test_access import csrf

GOV_READS = [r for r in ROUTES if r.startswith("GET /api/gov/")]
GOV_PAGES = ["/gov", "/gov/stuck", "/gov/index", "/gov/reports", "/gov/disputes"]
WHOLE = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}
MASKED = {"name": NAME, "phone": mask_phone(PHONE), "id_number": mask_id_number(ID_NUMBER)}


@pytest.mark.parametrize("regulator", ["rizhao", "shandong"])
async def test_no_governance_answer_shows_them_whole(w: World, regulator: str) -> None:
    assert GOV_READS
    for route in GOV_READS:
        r = await w.call(regulator, request_for(SPEC, route, w.victim))
        assert r.status_code in (200, 404), (route, r.text)
        assert ID_NUMBER not in r.text and PHONE not in r.text, route
    transport = httpx.ASGITransport(app=w.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pages") as browser:
        form = {"csrf": await csrf(browser, "/login"), "username": regulator}
        r = await browser.post("/login", data={**form, "password": DEMO_PASSWORD})
        assert r.status_code == 303, r.text
        for page in GOV_PAGES:
            r = await browser.get(page)
            assert r.status_code == 200, (page, r.text)
            assert ID_NUMBER not in r.text and PHONE not in r.text, page


@pytest.mark.parametrize(
    ("caller", "port", "shown"),
    [
        ("learner", "learner", WHOLE),
        ("school1", "school", WHOLE),
        ("rizhao", "gov", MASKED),
        ("shandong", "gov", MASKED),
    ],
)
async def test_a_journeys_detail_shows_them_whole_to_its_learner_and_school_only(
    w: World, caller: str, port: str, shown: dict[str, str]
) -> None:
    r = await w.http.get(f"/api/{port}/journeys/{w.victim['journey']}", headers=w.headers[caller])
    assert r.status_code == 200, r.text
    assert r.json()["applicant"] == shown
    if shown is MASKED:
        assert ID_NUMBER not in r.text and PHONE not in r.text
