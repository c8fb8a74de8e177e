"""The admin in a real headless Chromium: log in, open Donor growth and Income breakdown, charts drawn."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.admin.conftest import PASSWORDS, ROOT, build_small_org
from tests.dbtools import migrated_engine

CHROMIUM = os.environ.get("DONORCRM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason="no Chromium at /usr/bin/chromium (install the Debian chromium package)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("browser")) as engine:
        with Session(engine) as s:
            build_small_org(s)
            s.commit()
        port = _free_port()
        env = {**os.environ, "DONORCRM_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "admin_app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"streamlit did not start: {out[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _charts_drawn(page, name: str, charts: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
                           timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSpinner\"]').length === 0", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= charts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_log_in_and_see_the_charts(admin_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(admin_url)
            page.get_by_role("textbox", name="Username").fill("finance")
            page.get_by_role("textbox", name="Password").fill(PASSWORDS["finance"])
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)

            page.get_by_role("link", name="Donor growth").click()
            page.get_by_role("heading", name="Donor growth").wait_for(timeout=60_000)
            _charts_drawn(page, "donor-growth", 4)

            page.get_by_role("link", name="Income breakdown").click()
            page.get_by_role("heading", name="Income breakdown").wait_for(timeout=60_000)
            _charts_drawn(page, "income-breakdown", 1)
            assert page.get_by_text("Baten van particulieren").count() >= 1
        finally:
            browser.close()
