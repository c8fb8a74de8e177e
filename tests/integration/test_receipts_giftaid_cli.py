import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from donorcrm.commitments.models import Commitment, PeriodicAgreement
from donorcrm.db import session_scope
from donorcrm.errors import ValidationError
from donorcrm.gifts.service import reverse_gift
from donorcrm.money import Money
from donorcrm.receipts import giftaid, service
from donorcrm.receipts.agreements import agreement_pdf
from donorcrm.receipts.uk import SCHEDULE_COLUMNS, DeclarationMethod
from tests.integration.receipts_support import SETTINGS, donor, gift, pdf_text

Y = 2025


def gbp(p: int) -> Money:
    return Money(p, "GBP")


def test_giftaid_claim_takes_eligible_unclaimed_gifts_once(session: Session) -> None:
    d = donor(session, "GB", first_name="Jane", last_name="Smith", salutation="Mrs")
    other = donor(session, "GB", first_name="Tom", last_name="Jones")  # no declaration
    giftaid.add_declaration(session, d, made_on=dt.date(Y, 1, 10))
    g1 = gift(session, d, 8000, dt.date(Y, 2, 1), "GBP")
    g2 = gift(session, d, 1000, dt.date(Y, 3, 1), "GBP")
    g3 = gift(session, d, 500, dt.date(Y, 3, 2), "GBP")
    reverse_gift(session, g3, on=dt.date(Y, 3, 20))
    gift(session, other, 5000, dt.date(Y, 2, 1), "GBP")
    result = giftaid.make_claim(session, dt.date(Y, 1, 1), dt.date(Y, 12, 31), today=dt.date(Y + 1, 1, 5),
                                settings=SETTINGS)
    assert result.gifts == gbp(9000) and result.tax == gbp(2250)
    assert [r.gift_ids for r in result.rows] == [(g1,), (g2,)]
    rows = list(csv.reader(io.StringIO(result.csv)))
    assert rows[0] == list(SCHEDULE_COLUMNS)
    assert rows[1] == ["Mrs", "Jane", "Smith", "221B", "NW1 6XE", "", "", "01/02/25", "80.00"]
    again = giftaid.make_claim(session, dt.date(Y, 1, 1), dt.date(Y, 12, 31), today=dt.date(Y + 1, 1, 5),
                               settings=SETTINGS)
    assert again.rows == [] and again.claim is None


def test_gifts_outside_the_four_year_window_are_not_claimed(session: Session) -> None:
    d = donor(session, "GB")
    giftaid.add_declaration(session, d, made_on=dt.date(2020, 1, 1))
    gift(session, d, 1000, dt.date(2020, 6, 1), "GBP")
    result = giftaid.make_claim(session, dt.date(2020, 1, 1), dt.date(2020, 12, 31), today=dt.date(2025, 1, 1),
                                settings=SETTINGS, dry_run=True)
    assert result.rows == []
    assert [p.what for p in result.problems] == ["older than the four-year claim window; not claimed"]


def test_oral_declaration_and_cancellation_through_the_service(session: Session) -> None:
    d = donor(session, "GB")
    decl = giftaid.add_declaration(session, d, made_on=dt.date(Y, 1, 5), method=DeclarationMethod.ORAL)
    gift(session, d, 1000, dt.date(Y, 2, 1), "GBP")
    claim = lambda: giftaid.make_claim(session, dt.date(Y, 1, 1), dt.date(Y, 12, 31),  # noqa: E731
                                       today=dt.date(Y, 12, 31), settings=SETTINGS, dry_run=True)
    assert claim().rows == []  # no written record yet
    giftaid.record_sent(session, decl.id, dt.date(Y, 1, 6))
    assert len(claim().rows) == 1
    giftaid.cancel_declaration(session, decl.id, dt.date(Y, 1, 20), "changed mind")
    assert claim().rows == []  # cancelled within 30 days of the record: void from the start


def test_incomplete_declaration_is_refused(session: Session) -> None:
    d = donor(session, "GB", postcode="1234 AB")
    with pytest.raises(ValidationError) as info:
        giftaid.add_declaration(session, d, made_on=dt.date(Y, 1, 5))
    assert [p.what for p in info.value.problems] == ["UK postcode missing"]


def test_uk_statement_shows_gift_aid(session: Session) -> None:
    d = donor(session, "GB")
    giftaid.add_declaration(session, d, made_on=dt.date(Y, 1, 5))
    gift(session, d, 10000, dt.date(Y, 2, 1), "GBP")
    r = service.issue_receipt(session, d, Y, settings=SETTINGS)
    text = pdf_text(service.receipt_pdf(session, r.id))
    for needed in ("Gift Aid statement 2025", "HMRC charity reference XR12345", "£100.00", "Yes",
                   "Gift Aid claimed on your gifts: £25.00", "221B Baker Street", "NW1 6XE"):
        assert needed in text, needed


def test_periodic_gift_agreement_document(session: Session) -> None:
    d = donor(session, "NL", first_name="Els", last_name="Visser")
    c = Commitment(donor_id=d, amount_minor=2500, starts_on=dt.date(Y, 1, 1))
    session.add(c)
    session.flush()
    session.add(PeriodicAgreement(commitment_id=c.id, transaction_number="PG-2025-0007", yearly_amount_minor=30000,
                                  first_year=Y, term_years=5, signed_on=dt.date(Y, 1, 1), partner_name="Jan Visser"))
    session.flush()
    data, missing = agreement_pdf(session, "PG-2025-0007", SETTINGS)
    assert missing == []
    text = pdf_text(data)
    for needed in ("Overeenkomst periodieke gift", "PG-2025-0007", "Els Visser", "01-05-1970", "Dorpsstraat 12",
                   "RSIN: 002956217", "€ 300,00", "driehonderd euro", "5 jaar (2025 t/m 2029)",
                   "overlijden van de schenker", "Handtekening schenker", "Handtekening partner: Jan Visser",
                   "Handtekening instelling"):
        assert needed in text, needed


def run_cli(url: str, *args: str) -> tuple[int, str]:
    from donorcrm.cli import app

    result = CliRunner().invoke(app, list(args), env={
        "DONORCRM_DATABASE_URL": url, "DONORCRM_ORG_HMRC_REF": "XR12345", "DONORCRM_ORG_CRA_NUMBER": "1RR0001",
    })
    return result.exit_code, result.output


def test_cli_issue_list_void_and_giftaid_claim(engine: Engine, tmp_path: Path) -> None:
    from donorcrm.db import get_engine

    url = engine.url.render_as_string(hide_password=False)
    with session_scope(engine) as s:
        nl = donor(s, "NL")
        gift(s, nl, 5000, dt.date(Y, 2, 1))
        gift(s, nl, 7000, dt.date(Y, 3, 1))
        uk_donor = donor(s, "GB")
        giftaid.add_declaration(s, uk_donor, made_on=dt.date(Y, 1, 1))
        gift(s, uk_donor, 2000, dt.date(Y, 4, 1), "GBP")
    get_engine.cache_clear()
    code, out = run_cli(url, "receipts", "issue", "--year", str(Y), "--dry-run", "--json")
    assert code == 0, out
    assert json.loads(out)["receipts"] == {"NL": 1, "UK": 1}
    code, out = run_cli(url, "receipts", "issue", "--year", str(Y), "--out", str(tmp_path), "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{"):])
    assert summary["issued"] == 2 and summary["printed"] == 2
    code, out = run_cli(url, "receipts", "list", "--year", str(Y), "--json")
    listed = json.loads(out)
    assert [r["number"] for r in listed] == ["NL-2025-000001", "UK-2025-000001"]
    code, out = run_cli(url, "receipts", "void", "NL-2025-000001", "--reason", "address changed")
    assert code == 0 and "replaced by NL-2025-000002" in out
    code, out = run_cli(url, "receipts", "void", "NL-2025-000001", "--reason", "again")
    assert code != 0
    claim_file = tmp_path / "claim.csv"
    code, out = run_cli(url, "receipts", "giftaid-claim", "--from", f"{Y}-01-01", "--to", f"{Y}-12-31",
                        "--out", str(claim_file))
    assert code == 0, out
    assert claim_file.read_text().splitlines()[1].endswith("01/04/25,20.00")
    get_engine.cache_clear()
