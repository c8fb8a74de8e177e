import datetime as dt

from donorcrm.money import Money
from donorcrm.receipts.ca import eligibility, official_receipt, receipt_problems
from donorcrm.receipts.common import Charity, DonorInfo, Jurisdiction, LedgerGift, jurisdiction_for
from donorcrm.receipts.de import annex_total_matches, bank_statement_suffices, confirmation
from donorcrm.receipts.us import NO_GOODS, acknowledgment, deductible, needs_acknowledgment, needs_disclosure

CHARITY = Charity(name="Demo", street="1 Main St", postcode="X", city="Town", country="NL", rsin="1", ein="12-3",
                  cra_number="123456789RR0001", place="Toronto", signatory="J. Doe", de_finanzamt="Berlin",
                  de_steuernummer="27/123/45678", de_notice_date="2024-03-01", de_assessment_period="2022",
                  de_purpose="der Flüchtlingshilfe")
DONOR = DonorInfo(id=1, name="Pat Lee", first_name="Pat", last_name="Lee", street="Elm St", house_number="5",
                  postcode="M5V 1A1", city="Toronto", language="en")


def usd(d: int) -> Money:
    return Money(d * 100, "USD")


def cad(d: int, c: int = 0) -> Money:
    return Money(d * 100 + c, "CAD")


def g(i: int, amount: Money, on: dt.date = dt.date(2024, 5, 1), **kw: object) -> LedgerGift:
    return LedgerGift(id=i, received_on=on, amount=amount, **kw)  # type: ignore[arg-type]


def test_jurisdiction_from_country_needs_a_registration() -> None:
    assert jurisdiction_for("nl", CHARITY) == Jurisdiction.NL
    assert jurisdiction_for("GB", CHARITY) is None  # no HMRC reference
    assert jurisdiction_for("US", CHARITY) == Jurisdiction.US
    assert jurisdiction_for("BE", CHARITY) is None


def test_us_acknowledgment_threshold_is_250_per_single_gift() -> None:
    assert needs_acknowledgment(g(1, usd(250)))
    assert not needs_acknowledgment(g(2, Money(24_999, "USD")))


def test_us_quid_pro_quo_example_100_gift_40_dinner() -> None:
    gift = g(1, usd(100), advantage=usd(40), advantage_description="a dinner")
    assert needs_disclosure(gift)
    assert deductible(gift) == usd(60)
    assert not needs_disclosure(g(2, usd(75), advantage=usd(40)))


def test_us_annual_summary_does_not_add_up_small_gifts() -> None:
    gifts = [g(1, usd(200)), g(2, usd(200), dt.date(2024, 6, 1))]
    draft = acknowledgment(DONOR, 2024, gifts, CHARITY, all_donors=False)
    assert draft is None
    draft = acknowledgment(DONOR, 2024, gifts, CHARITY)
    assert draft is not None and draft.figures["acknowledged"] == [] and draft.figures["no_goods"]
    assert all(line.note == NO_GOODS for line in draft.lines)
    dinner = acknowledgment(DONOR, 2024, [g(3, usd(100), advantage=usd(40), advantage_description="dinner")],
                            CHARITY, all_donors=False)
    assert dinner is not None and dinner.eligible_total == usd(60) and "$40.00" in dinner.lines[0].note


def test_ca_de_minimis_is_min_of_75_and_ten_percent() -> None:
    e = eligibility(g(1, cad(1000), advantage=cad(75)))
    assert e.receiptable and e.eligible == cad(1000) and e.advantage == cad(0)
    e = eligibility(g(1, cad(1000), advantage=cad(75, 1)))
    assert e.eligible == cad(924, 99)
    e = eligibility(g(1, cad(500), advantage=cad(50)))  # 10% = 50, de minimis
    assert e.eligible == cad(500)
    e = eligibility(g(1, cad(500), advantage=cad(50, 1)))
    assert e.eligible == cad(449, 99)


def test_ca_no_receipt_above_80_percent_advantage() -> None:
    assert eligibility(g(1, cad(100), advantage=cad(80))).receiptable
    assert not eligibility(g(1, cad(100), advantage=cad(80, 1))).receiptable
    draft = official_receipt(DONOR, 2024, [g(1, cad(100), advantage=cad(90)), g(2, cad(50))], CHARITY)
    assert draft is not None and draft.gift_ids == [2] and draft.figures["not_receipted"] == [1]
    assert draft.figures["date_of_gift"] == "2024-05-01"
    assert official_receipt(DONOR, 2024, [g(1, cad(100), advantage=cad(90))], CHARITY) is None


def test_ca_receipt_problems_name_missing_elements() -> None:
    draft = official_receipt(DONOR, 2024, [g(1, cad(100))], CHARITY)
    assert draft is not None and receipt_problems(draft, CHARITY) == []
    bare = Charity(name="Demo", street="", postcode="", city="", country="CA")
    assert {p.what for p in receipt_problems(draft, bare)} == {
        "charity address missing", "registration number missing", "place issued missing",
        "authorised signature missing"}


def test_de_single_and_collective_confirmation() -> None:
    eur = lambda c: Money(c, "EUR")  # noqa: E731
    single = confirmation(DONOR, 2024, [g(1, eur(35_000), expense_waiver=False)], CHARITY)
    assert single is not None and single.kind == "de_zuwendungsbestaetigung"
    assert single.figures["amount_words"] == "dreihundertfünfzig Euro"
    assert single.figures["waiver"] == "Nein" and single.figures["date_of_gift"] == "01.05.2024"
    assert "StNr. 27/123/45678, vom 01.03.2024" in single.figures["exemption"]
    many = confirmation(DONOR, 2024, [g(1, eur(1000)), g(2, eur(2550), dt.date(2024, 7, 1), expense_waiver=True),
                                      g(3, eur(999), reversed=True)], CHARITY)
    assert many is not None and many.kind == "de_sammelbestaetigung"
    assert many.total == eur(3550) and annex_total_matches(many)
    assert many.figures["amount_words"] == "fünfunddreißig Euro und fünfzig Cent"
    assert [ln.note for ln in many.lines] == ["nein", "ja"]


def test_de_simplified_proof_up_to_300() -> None:
    assert bank_statement_suffices(Money(30_000, "EUR"))
    assert not bank_statement_suffices(Money(30_001, "EUR"))
