"""Campaigns page: figures equal the campaign reports; fundraisers approve pages; viewers cannot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from admin_pages.common import money
from donorcrm import auth
from donorcrm.campaigns import reports, service
from donorcrm.db import make_engine
from donorcrm.money import Money
from tests import factories as f
from tests.admin.conftest import PASSWORDS, page
from tests.dbtools import migrated_engine


@pytest.fixture(scope="module")
def campaigns_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("campaigns")) as engine:
        with Session(engine) as s:
            for role in auth.Role:
                auth.add_user(s, str(role), PASSWORDS[role], role)
            c = service.create_campaign(s, "CF", "Crowdfunding", "crowdfunding", goal=Money(1000_00),
                                        starts_on=dt.date(2020, 12, 1), ends_on=dt.date(2020, 12, 31))
            old = service.create_campaign(s, "APP19", "Appeal 2019", starts_on=dt.date(2019, 3, 1))
            service.add_cost(s, "CF", Money(100_00), dt.date(2020, 11, 20), "ads")
            owner = f.donor(s)
            service.create_page(s, "CF", "anna-runs", "Anna runs", owner_donor_id=owner.id)
            for i in range(5):
                d = f.donor(s)
                f.gift(s, d.id, (i + 1) * 10_00, on=dt.date(2020, 12, 2 + i), channel="ideal", campaign_id=c.id)
            f.gift(s, owner.id, 70_00, on=dt.date(2019, 3, 5), campaign_id=old.id)
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture()
def url(campaigns_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", campaigns_db)
    yield campaigns_db


def _results(url: str, year: int | None) -> dict[str, reports.CampaignResult]:
    engine = make_engine(url)
    with Session(engine) as s:
        out = {r.code: r for r in reports.campaign_results(s, year)}
    engine.dispose()
    return out


def test_needs_a_login(url: str) -> None:
    at = page("campaigns")
    assert at.warning and not at.metric


def test_figures_equal_the_reports_and_the_year_filter_changes_them(url: str) -> None:
    at = page("campaigns", "viewer")
    assert not at.exception
    every = _results(url, None)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Raised"] == money(every["CF"].raised_minor + every["APP19"].raised_minor)
    table = at.dataframe[0].value
    assert list(table["Raised"]) == [money(every[c].raised_minor) for c in table["Code"]]
    at.selectbox(key="campaigns_year").set_value(2019).run()
    in_2019 = _results(url, 2019)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Raised"] == money(in_2019["APP19"].raised_minor) == money(70_00)
    assert metrics["Fundraising cost ratio"] == "0.0%"


def test_thermometer_and_page_review_by_a_fundraiser(url: str) -> None:
    at = page("campaigns", "fundraiser")
    at.selectbox(key="campaigns_code").set_value("CF").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Raised (net of refunds)"] == money(150_00) and metrics["Goal"] == money(1000_00)
    at.selectbox(key="campaigns_pending").set_value("anna-runs").run()
    at.button(key="campaigns_approve").click().run()
    assert not at.exception
    engine = make_engine(url)
    with Session(engine) as s:
        assert service.get_page(s, "anna-runs").status == "approved"
    engine.dispose()


def test_viewer_cannot_review_pages(url: str) -> None:
    at = page("campaigns", "viewer")
    at.selectbox(key="campaigns_code").set_value("CF").run()
    assert not [b for b in at.button if b.key in ("campaigns_approve", "campaigns_reject")]
