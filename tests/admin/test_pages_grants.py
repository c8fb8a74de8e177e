"""Grants page: figures equal donorcrm.grants.reports; the stage filter narrows the list; login required."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from donorcrm import auth
from donorcrm.db import make_engine
from donorcrm.grants import reports
from donorcrm.grants.demo import demo_step
from donorcrm.money import total
from tests.admin.conftest import PASSWORDS, page
from tests.dbtools import migrated_engine


@pytest.fixture(scope="module")
def grants_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("grants")) as engine:
        with Session(engine) as s:
            for role in auth.Role:
                auth.add_user(s, str(role), PASSWORDS[role], role)
            demo_step(s)
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture()
def url(grants_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", grants_db)
    yield grants_db


def test_needs_a_login(url: str) -> None:
    at = page("grants")
    assert at.warning and not at.metric


def test_figures_equal_the_reports_and_the_stage_filter_narrows(url: str) -> None:
    at = page("grants", "viewer")
    assert not at.exception
    engine = make_engine(url)
    with Session(engine) as s:
        rows = reports.grant_rows(s)
        stages = reports.grants_by_stage(s)
    engine.dispose()
    live = [g for g in rows if g.stage in ("awarded", "settlement_requested", "settled")]
    metrics: dict[str, str] = {}
    for m in at.metric:  # the headline figures come first; the detail tab repeats some labels
        metrics.setdefault(m.label, m.value)
    assert metrics["Live grants"] == str(len(live))
    from admin_pages.common import money

    awarded = total([g.awarded for g in live])
    assert metrics["Awarded"] == money(awarded.minor, awarded.currency)
    every = len(at.dataframe[1].value)
    assert every == len(rows)
    stage = stages[0].stage
    at.selectbox(key="grants_stage").set_value(stage).run()
    assert len(at.dataframe[1].value) == sum(1 for g in rows if g.stage == stage) < every or len(stages) == 1
