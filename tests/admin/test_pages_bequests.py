"""Bequests page: pipeline, forecast, overdue cases and recognition, equal to donorcrm.bequests.reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from admin_pages.common import money
from donorcrm import auth
from donorcrm.bequests import reports
from donorcrm.bequests.demo import demo_step
from donorcrm.db import make_engine
from tests.admin.conftest import PASSWORDS, page
from tests.dbtools import migrated_engine

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def bequests_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("bequests")) as engine:
        with Session(engine) as s:
            for role in auth.Role:
                auth.add_user(s, str(role), PASSWORDS[role], role, full_name=f"Demo {role}")
            demo_step(s, {"seed": 5, "donors": 100, "today": TODAY})
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture()
def url(bequests_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", bequests_db)
    yield bequests_db


def _metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def test_needs_a_login(url: str) -> None:
    at = page("bequests")
    assert any("log in" in w.value for w in at.warning) and not at.metric


def test_viewer_sees_figures_equal_to_the_reports_but_no_names(url: str) -> None:
    at = page("bequests", "viewer")
    assert not at.exception
    engine = make_engine(url)
    with Session(engine) as s:
        stages = reports.pipeline_by_stage(s)
        forecast = reports.forecast_rows(s, TODAY)
    engine.dispose()
    shown = _metrics(at)
    open_rows = [r for r in stages if r.stage not in ("closed", "renounced")]
    assert shown["Open cases"] == str(sum(r.cases for r in open_rows))
    assert shown["Expected in 3 years (central)"] == money(forecast["totals"]["central"])
    assert list(at.dataframe[0].value["Cases"]) == [r.cases for r in stages]
    assert list(at.dataframe[1].value["Central"]) == [money(q.central_minor) for q in forecast["quarters"]]
    assert len(at.dataframe) == 2 and len(at.get("vega_lite_chart")) == 2


def test_finance_sees_cases_and_the_year_filter_changes_recognition(url: str) -> None:
    at = page("bequests", "finance")
    assert not at.exception
    assert len(at.dataframe) >= 3
    at.selectbox(key="bequests_year").set_value(TODAY.year - 1).run()
    assert f"Recognised {TODAY.year - 1}" in _metrics(at)
