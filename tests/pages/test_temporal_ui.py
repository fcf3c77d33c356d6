"""The Temporal Web UI that `make run` starts (`temporal server start-dev --ui-codec-endpoint`,
UI 2.54), in headless Chromium: an ops user signed in on the platform's pages, with the UI's
codec set to include credentials (what they do once, in the UI's Codec Server dialog), sees a
journey's input decoded, the learner's name in it; a school clerk doing the same sees
ciphertext, their browser refused by the codec endpoint.

The UI calls the codec from the browser with `X-Namespace` only; start-dev gives it no
`includeCredentials`, no `passAccessToken` and no sign-in of its own to take a token from, so
the platform's session cookie, sent when the browser's codec setting includes credentials, is
how it reaches the endpoint as somebody (api/routes/codec.py).
"""

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from temporalio.testing import WorkflowEnvironment

from models.demo import DEMO_PASSWORD
from scripts.demo_journey import applicant
from tests import servers
from tests.e2e import ENROLMENT, platform
from tests.pages.browser import DESKTOP_WIDTH, chromium, wait_for
from workflows import search_attributes as sa

ERROR = "[data-testid=data-encoder-status-error]"


async def test_ops_see_the_learner_decoded_in_the_ui_a_school_clerk_does_not(
    tmp_path: Path,
) -> None:
    api_port, ui_port = servers.free_port(), servers.free_port()
    ui, codec = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{api_port}/api/ops/codec"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=servers.server_binary("temporal"),
        search_attributes=sa.ALL,
        data_converter=servers.platform_converter(),
        port=servers.free_port(),
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", codec],
    )
    name = applicant("learner1")["name"]
    try:
        async with (
            platform(env, tmp_path, api_port=api_port, temporal_ui_url=ui) as p,
            p.worker(),
        ):
            me = await p.login("learner1")
            enrolment = {**ENROLMENT, **applicant("learner1")}
            r = await p.http.post("/api/learner/journeys", json=enrolment, headers=me)
            assert r.status_code == 201, r.text
            journey = f"{ui}/namespaces/default/workflows/{r.json()['workflow_id']}"
            api = p.settings.api_base_url
            shown_to_ops = await asyncio.to_thread(input_as_seen, api, "ops", journey, codec, name)
            assert name in shown_to_ops
            shown_to_clerk = await asyncio.to_thread(
                input_as_seen, api, "school1", journey, codec, name
            )
            assert name not in shown_to_clerk
    finally:
        await env.shutdown()


def input_as_seen(api: str, username: str, journey: str, codec: str, name: str) -> str:
    """The journey's page in the UI as `username` sees it once their codec setting includes
    credentials: its text when the name shows, or when the codec has refused this browser."""
    with chromium(DESKTOP_WIDTH, 1000) as d:
        sign_in(d, api, username)
        d.get(journey)
        # Without credentials the codec endpoint refuses everybody: ciphertext, and the UI says so.
        wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, ERROR))
        assert name not in text(d)
        include_credentials(d, codec)
        d.refresh()
        wait_for(d, lambda d: name in text(d) or d.find_elements(By.CSS_SELECTOR, ERROR))
        return text(d)


def sign_in(d: WebDriver, api: str, username: str) -> None:
    d.get(f"{api}/login")
    d.find_element(By.CSS_SELECTOR, "input[name=username]").send_keys(username)
    d.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(DEMO_PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_for(d, lambda d: "/login" not in d.current_url)


def include_credentials(d: WebDriver, codec: str) -> None:
    """The UI's Codec Server dialog: this browser's setting, the same endpoint, credentials."""
    d.find_element(By.CSS_SELECTOR, ERROR).click()
    click(d, wait_for(d, lambda d: d.find_elements(By.ID, "use-local-endpoint-radio"))[0])
    endpoint = wait_for(d, lambda d: d.find_elements(By.ID, "data-encoder-endpoint-input"))[0]
    endpoint.clear()
    endpoint.send_keys(codec)
    click(d, d.find_element(By.ID, "pass-access-credentials"))
    d.find_element(By.CSS_SELECTOR, "[data-testid=confirm-modal-button]").click()


def click(d: WebDriver, element: object) -> None:
    """A click on an input the UI draws its own control over."""
    d.execute_script("arguments[0].click()", element)


def text(d: WebDriver) -> str:
    return d.execute_script("return document.body.innerText")
