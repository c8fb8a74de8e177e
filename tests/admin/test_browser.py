"""The admin in a real headless Chromium: log in, open Donor growth and Income breakdown, charts drawn;
then the public crowdfunding page served by the webhook app."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session

from donorcrm.campaigns import service as campaigns
from donorcrm.money import Money
from tests import factories as f
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
def browser_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("browser")) as engine:
        with Session(engine) as s:
            build_small_org(s)
            _public_campaign(s)
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


def _public_campaign(s: Session) -> None:
    c = campaigns.create_campaign(s, "FAM", "Families together", "crowdfunding", goal=Money(2_000_00),
                                  public_slug="families-together")
    campaigns.create_page(s, "FAM", "families-together", "Families together", kind="campaign")
    giver = f.donor(s, first_name="Noor")
    gift = f.gift(s, giver.id, 125_00, on=dt.date(2020, 12, 3), channel="ideal", campaign_id=c.id)
    campaigns.credit_page(s, gift.id, "families-together", message="Voor alle gezinnen")


@contextmanager
def _server(args: list[str], db_url: str, health: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "DONORCRM_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", *[a.replace("{port}", str(port)) for a in args]], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}{health}", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"{args[0]} did not start: {out[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def admin_url(browser_db: str) -> Iterator[str]:
    with _server(["streamlit", "run", str(ROOT / "admin_app.py"), "--server.port", "{port}",
                  "--server.address", "127.0.0.1", "--server.headless", "true",
                  "--browser.gatherUsageStats", "false"], browser_db, "/_stcore/health") as url:
        yield url


@pytest.fixture(scope="module")
def public_url(browser_db: str) -> Iterator[str]:
    with _server(["uvicorn", "--factory", "donorcrm.payments.webhooks:create_app", "--host", "127.0.0.1",
                  "--port", "{port}", "--log-level", "warning"], browser_db, "/health") as url:
        yield url


def _charts_drawn(page, name: str, charts: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
                           timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSpinner\"]').length === 0", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= charts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_log_in_and_see_the_charts_then_the_public_campaign_page(admin_url: str, public_url: str) -> None:
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

            public = browser.new_page(viewport={"width": 800, "height": 900})
            public.goto(f"{public_url}/c/families-together")
            public.get_by_role("heading", name="Families together").wait_for(timeout=30_000)
            assert public.locator("#raised").inner_text() == "€ 125,00"
            assert public.locator("#goal").inner_text() == "€ 2.000,00"
            assert public.locator("#honour-roll li").count() == 1
            assert "Noor" in public.locator("#honour-roll").inner_text()
            width = public.locator(".raised").evaluate("e => e.getBoundingClientRect().width")
            assert width > 0  # the thermometer is drawn, not just written
            public.screenshot(path=str(ARTIFACTS / "public-campaign.png"), full_page=True)
        finally:
            browser.close()
