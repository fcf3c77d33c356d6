"""Headless Chromium through Selenium, the system's browser and driver (Debian chromium and
chromium-driver): nothing is downloaded at run time."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

PHONE_WIDTH, DESKTOP_WIDTH = 390, 1280
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def require_chromium() -> tuple[str, str]:
    """The browser and its driver; without them the test skips, except under CI=true."""
    found = chromium_paths()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium or chromedriver is missing (scripts/setup-system.sh)")
        pytest.skip("chromium and chromium-driver not installed (apt-get install them)")
    return found


@contextmanager
def chromium(width: int = PHONE_WIDTH, height: int = 860) -> Iterator[WebDriver]:
    browser, driver_path = require_chromium()
    profile = tempfile.mkdtemp(prefix="xuejia-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, condition, seconds: float = 60):  # type: ignore[no-untyped-def]
    """Waits on a condition of the page (never a fixed sleep)."""
    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def screenshot(driver: WebDriver, path: Path, width: int) -> None:
    """The whole page at `width` px wide (the window grows to the page's height)."""
    driver.set_window_size(width, 800)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 100, 4000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
