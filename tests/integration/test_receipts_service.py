import datetime as dt

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from donorcrm.commitments.models import Commitment, PeriodicAgreement
from donorcrm.errors import InvalidState
from donorcrm.gifts.service import reverse_gift
from donorcrm.money import Money
from donorcrm.receipts import service
from donorcrm.receipts.models import Receipt, ReceiptLine, ReceiptStatus
from tests.integration.receipts_support import CURRENCY, SETTINGS, donor, gift, pdf_pages, pdf_text

Y = 2025


def issue(session: Session, donor_id: int) -> Receipt:
    r = service.issue_receipt(session, donor_id, Y, settings=SETTINGS, issued_on=dt.date(2026, 1, 15))
    assert r is not None
    return r


def test_serials_are_gapless_per_series_and_year_and_never_doubled(session: Session) -> None:
    numbers = []
    for country in ("NL", "NL", "DE", "NL"):
        d = donor(session, country)
        gift(session, d, 5000, dt.date(Y, 2, 1), CURRENCY[country])
        numbers.append(issue(session, d).number)
        assert service.issue_receipt(session, d, Y, settings=SETTINGS) is None  # nothing new: no second receipt
    assert numbers == ["NL-2025-000001", "NL-2025-000002", "DE-2025-000001", "NL-2025-000003"]


def test_no_receipt_without_registration_or_without_gifts(session: Session) -> None:
    d = donor(session, "NL")
    assert service.issue_receipt(session, d, Y, settings=SETTINGS) is None
    gift(session, d, 5000, dt.date(Y, 2, 1))
    from dataclasses import replace

    assert service.issue_receipt(session, d, Y, settings=replace(SETTINGS, org_rsin="")) is None


def test_nl_overview_pdf_shows_agreements_and_leaves_out_cash_and_reversed(session: Session) -> None:
    d = donor(session, "NL", first_name="Piet", last_name="Bakker")
    c = Commitment(donor_id=d, amount_minor=5000, starts_on=dt.date(Y, 1, 1))
    session.add(c)
    session.flush()
    session.add(PeriodicAgreement(commitment_id=c.id, transaction_number="PG-2025-0042", yearly_amount_minor=60000,
                                  first_year=Y, signed_on=dt.date(Y, 2, 15)))
    session.flush()
    gift(session, d, 5000, dt.date(Y, 2, 1), commitment_id=c.id)  # before signing: ordinary
    for m in (3, 4, 5):
        gift(session, d, 5000, dt.date(Y, m, 1), commitment_id=c.id, channel="sepa_dd",
             category="individual_recurring")
    gift(session, d, 2000, dt.date(Y, 6, 1), channel="cash")
    g = gift(session, d, 7000, dt.date(Y, 7, 1))
    reverse_gift(session, g, on=dt.date(Y, 7, 20), reason="MD06")
    r = issue(session, d)
    assert r.figures["periodic"] == {"PG-2025-0042": "150.00"}
    assert r.figures["ordinary"] == "50.00"
    assert r.total_minor == 20000
    data = service.receipt_pdf(session, r.id)
    text = pdf_text(data)
    assert pdf_pages(data) == 1
    for needed in ("Jaaroverzicht giften 2025", "RSIN 002956217", "PG-2025-0042", "€ 150,00", "€ 50,00",
                   "€ 200,00", "Piet Bakker", "Dorpsstraat 12", SETTINGS.org_name, "Contante giften",
                   "J. de Vries", r.number):
        assert needed in text, needed
    assert "€ 70,00" not in text and "€ 20,00" not in text


def test_english_overview_for_english_speaking_dutch_donor(session: Session) -> None:
    d = donor(session, "NL", language="en")
    gift(session, d, 5000, dt.date(Y, 2, 1))
    text = pdf_text(service.receipt_pdf(session, issue(session, d).id))
    assert "Annual giving statement 2025" in text and "RSIN 002956217" in text


def test_us_acknowledgment_pdf_with_quid_pro_quo(session: Session) -> None:
    d = donor(session, "US", first_name="Pat", last_name="Lee")
    g = gift(session, d, 10000, dt.date(Y, 3, 1), "USD")
    service.set_gift_detail(session, g, advantage=Money(4000, "USD"), description="gala dinner")
    gift(session, d, 30000, dt.date(Y, 4, 1), "USD")
    r = issue(session, d)
    assert r.eligible_minor == 36000
    text = pdf_text(service.receipt_pdf(session, r.id))
    for needed in ("Contribution acknowledgment 2025", "EIN 12-3456789", "$100.00", "$40.00", "$60.00", "$300.00",
                   "gala dinner", "Only the amount exceeding that value", "No goods or services were provided",
                   "5 Elm Street"):
        assert needed in text, needed


def test_ca_official_receipt_has_every_required_element(session: Session) -> None:
    d = donor(session, "CA", first_name="Sam", last_name="Roy")
    g = gift(session, d, 50000, dt.date(Y, 3, 1), "CAD")
    service.set_gift_detail(session, g, advantage=Money(10000, "CAD"), description="concert ticket")
    r = issue(session, d)
    assert (r.total_minor, r.advantage_minor, r.eligible_minor) == (50000, 10000, 40000)
    text = pdf_text(service.receipt_pdf(session, r.id))
    for needed in ("Official receipt for income tax purposes", SETTINGS.org_name, "Postbus 2894",
                   "123456789RR0001", r.number, "Place issued", "Amsterdam", "Date of gift", "2025-03-01",
                   "Date issued", "15 Jan 2026", "Sam Roy", "100 King St W", "CA$500.00", "CA$100.00",
                   "concert ticket", "CA$400.00", "Authorized signature", "Canada Revenue Agency",
                   "canada.ca/charities-giving"):
        assert needed in text, needed


def test_de_single_confirmation_with_amount_in_words(session: Session) -> None:
    d = donor(session, "DE", first_name="Max", last_name="Müller")
    g = gift(session, d, 35000, dt.date(Y, 3, 1))
    service.set_gift_detail(session, g, expense_waiver=False)
    r = issue(session, d)
    data = service.receipt_pdf(session, r.id)
    text = pdf_text(data)
    assert pdf_pages(data) == 1
    for needed in ("Bestätigung über Geldzuwendungen", "Max Müller", "Hauptstraße 3", "€ 350,00",
                   "dreihundertfünfzig Euro", "01.03.2025", "Verzicht auf Erstattung von Aufwendungen",
                   "Nein [X]", "27/640/12345", "01.03.2024", "§ 5 Abs. 1 Nr. 9", "nur zur Förderung",
                   "Hinweis: Wer vorsätzlich", "§ 63 Abs. 5 AO"):
        assert needed in text, needed


def test_de_collective_confirmation_has_an_annex_adding_up(session: Session) -> None:
    d = donor(session, "DE")
    gift(session, d, 2500, dt.date(Y, 1, 10))
    g2 = gift(session, d, 7550, dt.date(Y, 6, 10))
    service.set_gift_detail(session, g2, expense_waiver=True)
    r = issue(session, d)
    data = service.receipt_pdf(session, r.id)
    text = pdf_text(data)
    assert pdf_pages(data) == 2
    for needed in ("Sammelbestätigung", "einhundert Euro und fünfzig Cent", "01.01.2025 – 31.12.2025",
                   "Anlage zur Sammelbestätigung", "keine weiteren Bestätigungen", "Gesamtsumme", "€ 100,50",
                   "€ 25,00", "€ 75,50", "ja", "nein"):
        assert needed in text, needed


def test_receipts_are_immutable(session: Session) -> None:
    d = donor(session, "NL")
    gift(session, d, 5000, dt.date(Y, 2, 1))
    r = issue(session, d)
    r.total_minor = 1
    session.add(r)
    with pytest.raises(InvalidState):
        session.flush()
    session.rollback()


def test_a_gift_cannot_be_on_two_live_receipts(session: Session) -> None:
    d = donor(session, "NL")
    g = gift(session, d, 5000, dt.date(Y, 2, 1))
    r = issue(session, d)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(insert(ReceiptLine).values(receipt_id=r.id, gift_id=g, live_gift_id=g,
                                                   received_on=dt.date(Y, 2, 1), amount_minor=5000,
                                                   eligible_minor=5000))


def test_void_and_replace_keeps_the_original_and_cites_it(session: Session) -> None:
    d = donor(session, "CA")
    g1 = gift(session, d, 10000, dt.date(Y, 2, 1), "CAD")
    gift(session, d, 2000, dt.date(Y, 3, 1), "CAD")
    original = issue(session, d)
    reverse_gift(session, g1, on=dt.date(Y, 12, 1), reason="booked in error", entry_type="correction")
    session.refresh(original)
    assert original.needs_correction
    result = service.void_receipt(session, original.number, reason="gift reversed", settings=SETTINGS)
    assert result.voided.status == ReceiptStatus.VOIDED
    new = result.replacement
    assert new is not None and new.replaces_id == original.id and new.total_minor == 2000
    assert new.serial == original.serial + 1
    text = pdf_text(service.receipt_pdf(session, new.id))
    assert f"cancels and replaces receipt {original.number}" in text
    assert "Official receipt for income tax purposes" in text
    cancelled = pdf_text(service.receipt_pdf(session, original.id))
    assert "CANCELLED" in cancelled and "CA$100.00" in cancelled
    live = session.execute(select(ReceiptLine.live_gift_id).where(ReceiptLine.live_gift_id.is_not(None),
                                                                  ReceiptLine.receipt_id.in_([original.id, new.id]))).scalars().all()
    assert len(live) == 1
    with pytest.raises(InvalidState):
        service.void_receipt(session, original.id, reason="again", settings=SETTINGS)


def test_gifts_after_issue_flag_the_receipt_instead_of_a_second_one(session: Session) -> None:
    d = donor(session, "NL")
    gift(session, d, 5000, dt.date(Y, 2, 1))
    r = issue(session, d)
    gift(session, d, 1000, dt.date(Y, 12, 30))
    assert service.issue_receipt(session, d, Y, settings=SETTINGS) is None
    session.refresh(r)
    assert r.needs_correction and "after this receipt" in (r.correction_reason or "")


def test_flag_sweep_finds_reversals_booked_outside_the_orm(session: Session) -> None:
    from donorcrm.gifts.models import Gift

    d = donor(session, "NL")
    g = gift(session, d, 5000, dt.date(Y, 2, 1))
    r = issue(session, d)
    session.execute(insert(Gift).values(donor_id=d, entry_type="return", amount_minor=-5000, currency="EUR",
                                        received_on=dt.date(Y, 3, 1), channel="sepa_dd",
                                        category="individual_one_off", reverses_gift_id=g, source="bulk",
                                        created_at=r.issued_at, created_by="t"))
    assert service.flag_corrections(session, Y) == 1
    session.refresh(r)
    assert r.needs_correction


def test_pdf_hash_is_recorded_and_rendering_is_reproducible(session: Session) -> None:
    import hashlib

    from donorcrm.receipts import pdf

    d = donor(session, "NL")
    gift(session, d, 5000, dt.date(Y, 2, 1))
    r = issue(session, d)
    data = service.receipt_pdf(session, r.id)
    assert hashlib.sha256(data).hexdigest() == r.pdf_sha256
    again = pdf.render_receipt(pdf.view_of(r, service.existing_lines(session, r.id)))
    assert again == data


def test_periodic_gift_stopped_early_flags_earlier_overviews(session: Session) -> None:
    d = donor(session, "NL")
    c = Commitment(donor_id=d, amount_minor=5000, starts_on=dt.date(2024, 1, 1))
    session.add(c)
    session.flush()
    agreement = PeriodicAgreement(commitment_id=c.id, transaction_number="PG-2024-0099", yearly_amount_minor=60000,
                                  first_year=2024, signed_on=dt.date(2024, 1, 1))
    session.add(agreement)
    session.flush()
    gift(session, d, 5000, dt.date(2024, 3, 1), commitment_id=c.id)
    r2024 = service.issue_receipt(session, d, 2024, settings=SETTINGS)
    assert r2024 is not None and r2024.figures["periodic"] == {"PG-2024-0099": "50.00"}
    agreement.stopped_on, agreement.stop_reason = dt.date(2025, 6, 1), "death"
    session.add(agreement)
    session.flush()
    assert service.agreement_stopped(session, "PG-2024-0099") == 0  # an agreed end condition
    agreement.stop_reason = "donor_request"
    session.add(agreement)
    session.flush()
    assert service.agreement_stopped(session, "PG-2024-0099") == 1
    session.refresh(r2024)
    assert r2024.needs_correction and "ordinary" in (r2024.correction_reason or "")
    replacement = service.void_receipt(session, r2024.id, reason="periodic gift stopped", settings=SETTINGS).replacement
    assert replacement is not None
    assert replacement.figures["periodic"] == {} and replacement.figures["ordinary"] == "50.00"
