"""Receipts page: finance and admin only; figures equal the receipt reports; search narrows the list;
finance voids and replaces a receipt (the original stays on file, cancelled); Gift Aid claims export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import fields

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm import auth
from donorcrm.audit import AuditLog
from donorcrm.config import Settings
from donorcrm.db import make_engine
from donorcrm.gifts.service import reverse_gift
from donorcrm.money import Money
from donorcrm.receipts import batch, giftaid, reports, service
from donorcrm.receipts.models import GiftAidClaim, ReceiptStatus
from tests.admin.conftest import PASSWORDS, page
from tests.dbtools import migrated_engine
from tests.integration.receipts_support import SETTINGS, donor, gift

Y = dt.date.today().year - 1  # the page opens on last year


@pytest.fixture()
def url(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Two NL donors named Smit and one Kok, a UK donor with a Gift Aid declaration; last year's run
    issued, then one of Anna Smit's gifts refunded (her receipt waits in the correction queue)."""
    defaults = Settings()
    for f in fields(Settings):
        if f.name != "database_url" and getattr(SETTINGS, f.name) != getattr(defaults, f.name):
            monkeypatch.setenv(f"DONORCRM_{f.name.upper()}", str(getattr(SETTINGS, f.name)))
    with migrated_engine("sqlite", tmp_path_factory.mktemp("receipts")) as engine:
        with Session(engine) as s:
            for role in auth.Role:
                auth.add_user(s, str(role), PASSWORDS[role], role)
            anna = donor(s, "NL", first_name="Anna", last_name="Smit")
            cees = donor(s, "NL", first_name="Cees", last_name="Smit")
            bram = donor(s, "NL", first_name="Bram", last_name="Kok")
            jane = donor(s, "GB", first_name="Jane", last_name="Smith", salutation="Mrs")
            refunded = gift(s, anna, 50_00, dt.date(Y, 2, 1))
            gift(s, anna, 30_00, dt.date(Y, 4, 1))
            gift(s, cees, 20_00, dt.date(Y, 5, 1))
            gift(s, bram, 25_00, dt.date(Y, 3, 1))
            giftaid.add_declaration(s, jane, made_on=dt.date(Y, 1, 10))
            gift(s, jane, 80_00, dt.date(Y, 2, 1), "GBP")
            gift(s, jane, 10_00, dt.date(Y, 3, 1), "GBP")
            run_id = batch.open_run(s, Y, settings=SETTINGS).id
            s.commit()
        batch.work(engine, run_id, settings=SETTINGS)
        with Session(engine) as s:
            reverse_gift(s, refunded, on=dt.date(Y, 12, 1), reason="donor asked")
            s.commit()
        url = engine.url.render_as_string(hide_password=False)
        monkeypatch.setenv("DONORCRM_DATABASE_URL", url)
        yield url


def _session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_needs_a_login(url: str) -> None:
    at = page("receipts")
    assert at.warning and not at.metric and not at.get("progress")


@pytest.mark.parametrize("role", ["viewer", "fundraiser"])
def test_viewers_and_fundraisers_are_denied(url: str, role: str) -> None:
    at = page("receipts", role)
    assert not at.exception
    assert at.error and "Access denied" in at.error[0].value
    assert not at.metric and not at.get("progress")


def test_figures_equal_the_reports(url: str) -> None:
    at = page("receipts", "finance")
    assert not at.exception
    for s in _session(url):
        runs = reports.runs(s)
        summary = reports.year_summary(s, Y)
        queue = reports.correction_queue(s, Y)
    bars = at.get("progress")
    assert len(bars) == len(runs) == 1
    assert bars[0].proto.value == round(100 * runs[0]["progress"]) == 100
    assert f"{runs[0]['issued']} issued" in bars[0].proto.text
    metrics = {m.label: m.value for m in at.metric}
    per = summary["jurisdictions"]
    assert metrics["Live receipts"] == str(sum(j.get("issued", 0) for j in per.values())) == "4"
    assert metrics["Awaiting correction"] == str(summary["needs_correction"]) == "1"
    queue_table = at.dataframe[-1].value
    assert list(queue_table["Number"]) == [r["number"] for r in queue]
    assert list(queue_table["Name"]) == ["Anna Smit"]


def test_search_by_name_and_by_donor_number(url: str) -> None:
    at = page("receipts", "finance")
    at.text_input(key="receipts_search").set_value("smit").run()
    shown = at.dataframe[1].value
    for s in _session(url):
        expected = reports.search(s, year=Y, text="smit")
        bram = reports.search(s, text="kok")[0]
    assert list(shown["Number"]) == [r["number"] for r in expected]
    assert sorted(shown["Name"]) == ["Anna Smit", "Cees Smit", "Jane Smith"]
    at.text_input(key="receipts_search").set_value(str(bram["donor_id"])).run()
    assert list(at.dataframe[1].value["Number"]) == [bram["number"]]
    assert [d.label for d in at.download_button if d.key == "receipts_pdf_search"] == ["Download PDF"]


def test_finance_voids_and_replaces_from_the_queue(url: str) -> None:
    at = page("receipts", "finance")
    for s in _session(url):
        (flagged,) = reports.correction_queue(s, Y)
    submit = [b for b in at.button if b.label == "Void receipt"]
    assert len(submit) == 1
    submit[0].click().run()
    assert any("reason" in e.value for e in at.error)
    at.text_input(key="receipts_reason_queue").set_value("gift refunded in December")
    [b for b in at.button if b.label == "Void receipt"][0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    for s in _session(url):
        original = service.get_receipt(s, flagged["number"])
        assert original.status == ReceiptStatus.VOIDED and original.void_reason == "gift refunded in December"
        (replacement,) = reports.search(s, donor_id=flagged["donor_id"], status=ReceiptStatus.ISSUED)
        assert replacement["total_minor"] == 30_00 and not replacement["needs_correction"]
        assert reports.correction_queue(s, Y) == []
        actions = s.execute(select(AuditLog.action, AuditLog.actor).where(AuditLog.entity == "receipt")).all()
        assert ("receipt.void", "admin:finance") in actions and ("receipt.replace", "admin:finance") in actions
    assert at.success and replacement["number"] in at.success[0].value
    at.text_input(key="receipts_search").set_value(flagged["number"]).run()
    assert list(at.dataframe[1].value["Status"]) == ["voided"]
    assert not [b for b in at.button if b.label == "Void receipt"]
    assert [d.label for d in at.download_button if d.key == "receipts_pdf_search"] == ["Download PDF"]


def test_admin_may_void_too(url: str) -> None:
    at = page("receipts", "admin")
    assert [b for b in at.button if b.label == "Void receipt"]


def test_giftaid_claim_preview_and_record(url: str) -> None:
    at = page("receipts", "finance")
    at.checkbox(key="receipts_ga_show").check().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Schedule rows"] == "2"
    assert metrics["Tax to reclaim"] == Money(22_50, "GBP").format()
    assert metrics["Gifts"] == Money(90_00, "GBP").format()
    at.button(key="receipts_ga_record").click().run()
    assert not at.exception
    claim_csv = at.session_state["receipts_ga_claim"]["csv"]
    rows = list(csv.reader(io.StringIO(claim_csv)))
    assert [r[-1] for r in rows[1:]] == ["80.00", "10.00"]
    for s in _session(url):
        assert len(s.execute(select(GiftAidClaim)).scalars().all()) == 1
    at.run()
    assert {m.label: m.value for m in at.metric}["Schedule rows"] == "0"  # claimed gifts are not offered again
