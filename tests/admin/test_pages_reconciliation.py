"""Reconciliation page: figures equal donorcrm.banking.reports; finance books and undoes a line; others denied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from donorcrm import auth
from donorcrm.banking import demo_statement as demo
from donorcrm.banking import reports, service
from donorcrm.banking.camt_writer import write_camt053
from donorcrm.banking.sources import StaticSource
from donorcrm.db import make_engine
from tests.admin.conftest import PASSWORDS, page
from tests.dbtools import migrated_engine


@pytest.fixture(scope="module")
def bank_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_engine("sqlite", tmp_path_factory.mktemp("bank")) as engine:
        with Session(engine) as s:
            for role in auth.Role:
                auth.add_user(s, str(role), PASSWORDS[role], role)
            world = demo.seed_world(s, donors=60, seed=4)
            statement = demo.demo_statement(world, lines=80, seed=4)
            service.import_file(s, write_camt053([statement.statement]))
            service.match(s, sources=[StaticSource("demo", statement.expectations)])
            s.commit()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture()
def url(bank_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", bank_db)
    yield bank_db


def _reports(url: str, search: str | None = None):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with Session(engine) as s:
        out = reports.summary(s), reports.suspense(s, search=search)
    engine.dispose()
    return out


def test_login_and_role_are_required(url: str) -> None:
    assert page("reconciliation").warning
    for role in ("viewer", "fundraiser"):
        at = page("reconciliation", role)
        assert any("Access denied" in e.value for e in at.error) and not at.metric


def test_figures_equal_the_reports_and_search_narrows_the_queue(url: str) -> None:
    at = page("reconciliation", "finance")
    assert not at.exception
    head, queue = _reports(url)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lines"] == f"{head['lines']:,}"
    assert metrics["Match rate"] == f"{100 * head['match_rate']:.1f}%"
    assert len(at.dataframe[1].value) == len(queue) > 0
    name = next(q["counterparty"] for q in queue if q["counterparty"])
    at.text_input(key="recon_search").set_value(name).run()
    _, narrowed = _reports(url, name)
    assert len(at.dataframe[1].value) == len(narrowed) <= len(queue)


def test_finance_books_a_line_as_not_a_gift_and_undoes_it(url: str) -> None:
    _, queue = _reports(url)
    line = queue[0]["id"]
    at = page("reconciliation", "finance")
    at.selectbox(key="recon_line").set_value(line).run()
    at.number_input(key="recon_donor").set_value(0).run()
    at.selectbox(key="recon_purpose").set_value("fee").run()
    form_buttons = [b for b in at.button if b.label == "Book"]
    form_buttons[0].click().run()
    assert not at.exception and not at.error
    engine = make_engine(url)
    with Session(engine) as s:
        detail = reports.line_detail(s, line)
        assert [a["purpose"] for a in detail["allocations"] if a["undone_at"] is None] == ["fee"]
        assert detail["open"] == "0.00"
        alloc = detail["allocations"][0]["id"]
        service.undo(s, alloc, reason="test")
        s.commit()
        assert reports.line_detail(s, line)["open"] == detail["amount"]
    engine.dispose()
