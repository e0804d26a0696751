"""Headless Chromium for browser tests: skipped loudly when absent, screenshots on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.polling import wait_for
from tests.subprocesses import stop


def wait_until(condition, timeout: float = 45.0, interval: float = 0.25, what: str = ""):
    """Like wait_for, with a page's longer deadline; while the browser is between pages
    (a form was posted, a redirect is under way) asking it anything may raise: not yet."""
    from selenium.common.exceptions import WebDriverException

    def attempt():
        try:
            return condition()
        except WebDriverException:
            return None

    return wait_for(attempt, timeout, interval, what)


ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("FEED_OUTBOX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FEED_OUTBOX_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_BROWSER = os.environ.get("FEED_OUTBOX_REQUIRE_BROWSER") == "1"


def _browser_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} is missing: apt-get install -y chromium chromium-driver"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def browser(request):
    """A Selenium-driven headless Chromium; a failing test leaves a PNG in test-artifacts/."""
    problem = _browser_problem()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"FEED_OUTBOX_REQUIRE_BROWSER=1 but no browser: {problem}")
        message = f"BROWSER TEST SKIPPED: {problem}"
        sys.stderr.write(f"\n{'!' * 78}\n{message}\n{'!' * 78}\n")
        pytest.skip(message)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="feed-outbox-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        # Root in a container: no sandbox; nothing phoning home; a fresh profile every time.
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1000,1200",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = request.node.name.replace("/", "_")
            driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
            (ARTIFACTS / f"{name}.html").write_text(driver.page_source)
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def relay_process(subprocess_env, python):
    """``python -m relay`` against this test's database and emulator, stopped after the test."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [python, "-m", "relay", "--poll-interval", "0.2"],
        env=subprocess_env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    stop(proc)
    log.seek(0)
    output = log.read().decode(errors="replace")
    if proc.returncode not in (0, -15):
        sys.stderr.write(f"relay exited with {proc.returncode}:\n{output[-4000:]}\n")
