import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from donorcrm.campaigns import service
from donorcrm.campaigns.public import app
from donorcrm.db import get_engine, session_scope
from donorcrm.money import Money
from tests import factories as f


@pytest.fixture()
def public_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_engine.cache_clear()
    yield engine
    get_engine.cache_clear()


def test_public_page_shows_goal_raised_matched_and_honour_roll(public_db: Engine) -> None:
    with session_scope(public_db) as s:
        c = service.create_campaign(s, "XMAS20", "Families <together>", "crowdfunding", goal=Money(1000_00),
                                    public_slug="families")
        funder = f.donor(s, last_name="Fonds")
        service.create_match_pool(s, "XMAS20", funder.id, "pool", cap_total=Money(50_00),
                                  starts_on=dt.date(2020, 12, 1), ends_on=dt.date(2020, 12, 31))
        service.create_page(s, "XMAS20", "families-page", "Families", kind="campaign")
        d = f.donor(s, first_name="Noor")
        g = f.gift(s, d.id, 120_00, on=dt.date(2020, 12, 5), channel="ideal", campaign_id=c.id)
        service.credit_page(s, g.id, "families-page", message="<script>alert(1)</script>")
        g2 = f.gift(s, d.id, 30_00, on=dt.date(2020, 12, 6), channel="ideal", campaign_id=c.id)
        service.credit_page(s, g2.id, "families-page", anonymous=True)
    client = TestClient(app)
    data = client.get("/c/families.json").json()
    assert (data["goal"], data["raised"], data["matched"], data["donors"]) == (1000_00, 150_00, 50_00, 1)
    assert [r["name"] for r in data["honour_roll"]] == ["Anonymous", "Noor"]
    page = client.get("/c/families")
    assert page.status_code == 200
    assert "€ 150,00" in page.text and "€ 50,00" in page.text and "€ 1.000,00" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "Families &lt;together&gt;" in page.text
    assert client.get("/c/nope").status_code == 404
    assert client.get("/c/nope.json").status_code == 404


def test_public_page_is_served_by_the_webhook_app(public_db: Engine) -> None:
    from donorcrm.payments.webhooks import create_app

    with session_scope(public_db) as s:
        service.create_campaign(s, "CF", "Crowd", "crowdfunding", goal=Money(10_00), public_slug="crowd")
    client = TestClient(create_app(engine=public_db, providers={}))
    assert client.get("/c/crowd.json").json()["goal"] == 10_00
    assert client.get("/health").json()["ok"] is True
