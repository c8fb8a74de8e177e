import datetime as dt

from donorcrm.money import Money
from donorcrm.receipts.common import Charity, DonorInfo, LedgerGift
from donorcrm.receipts.nl import (
    Agreement,
    agreement_document,
    agreement_holds,
    is_periodic,
    ordinary_deduction,
    periodic_deductible,
    yearly_overview,
)

CHARITY = Charity(name="Stichting Demo", street="Postbus 1", postcode="1000 AA", city="Amsterdam",
                  country="NL", rsin="002956217")
DONOR = DonorInfo(id=7, name="Anna de Vries", first_name="Anna", last_name="Vries", street="Dorpsstraat",
                  house_number="1", postcode="1234 AB", city="Utrecht", birth_date=dt.date(1970, 5, 1))


def eur(units: int) -> Money:
    return Money(units * 100, "EUR")


def test_threshold_example_from_the_rules() -> None:
    d = ordinary_deduction(eur(27_000), eur(450))
    assert d.threshold == eur(270)
    assert d.deductible == eur(180)


def test_threshold_is_at_least_sixty_euro_and_capped_at_ten_percent() -> None:
    assert ordinary_deduction(eur(3_000), eur(100)).threshold == eur(60)
    assert ordinary_deduction(eur(3_000), eur(100)).deductible == eur(40)
    assert ordinary_deduction(eur(10_000), eur(5_000)).deductible == eur(1_000)
    assert ordinary_deduction(eur(27_000), eur(200)).deductible == eur(0)


def agreement(**kw: object) -> Agreement:
    values: dict = dict(commitment_id=1, transaction_number="PG-2024-0001", yearly_amount=eur(600),
                        first_year=2024, signed_on=dt.date(2024, 3, 10), term_years=5)
    values.update(kw)
    return Agreement(**values)


def gift(i: int, on: dt.date, units: int = 50, **kw: object) -> LedgerGift:
    return LedgerGift(id=i, received_on=on, amount=eur(units), **kw)  # type: ignore[arg-type]


def test_payments_before_the_agreement_never_count_as_periodic() -> None:
    a = agreement()
    assert not is_periodic(gift(1, dt.date(2024, 3, 1), commitment_id=1), a)
    assert is_periodic(gift(2, dt.date(2024, 3, 10), commitment_id=1), a)
    assert not is_periodic(gift(3, dt.date(2029, 1, 1), commitment_id=1), a)  # after the five years


def test_stop_within_five_years_without_end_condition_makes_gifts_ordinary() -> None:
    assert not agreement_holds(agreement(stopped_on=dt.date(2026, 6, 1), stop_reason="donor_request"))
    assert agreement_holds(agreement(stopped_on=dt.date(2026, 6, 1), stop_reason="death"))
    assert agreement_holds(agreement(stopped_on=dt.date(2028, 6, 1), stop_reason="donor_request"))


def test_periodic_cap_applies_to_agreements_after_4_october_2022() -> None:
    assert periodic_deductible(agreement(signed_on=dt.date(2022, 10, 4)), eur(300_000)) == eur(300_000)
    assert periodic_deductible(agreement(signed_on=dt.date(2022, 10, 5)), eur(300_000)) == eur(250_000)


def test_yearly_overview_totals_per_transaction_number_excludes_cash_and_reversed() -> None:
    a = agreement()
    b = agreement(commitment_id=2, transaction_number="PG-2024-0002", signed_on=dt.date(2024, 1, 1))
    gifts = [
        gift(1, dt.date(2024, 2, 1), commitment_id=1),  # before signing: ordinary
        gift(2, dt.date(2024, 4, 1), commitment_id=1),
        gift(3, dt.date(2024, 5, 1), commitment_id=1),
        gift(4, dt.date(2024, 6, 1), 25, commitment_id=2),
        gift(5, dt.date(2024, 7, 1), 100, channel="cash"),
        gift(6, dt.date(2024, 8, 1), 70, reversed=True),
        gift(7, dt.date(2024, 9, 1), 30),
        gift(8, dt.date(2023, 9, 1), 30),  # other year
    ]
    draft = yearly_overview(DONOR, 2024, gifts, [a, b], CHARITY)
    assert draft is not None
    assert draft.figures["periodic"] == {"PG-2024-0001": "100.00", "PG-2024-0002": "25.00"}
    assert draft.figures["ordinary"] == "80.00"
    assert draft.figures["rsin"] == "002956217"
    assert draft.figures["cash_excluded"] == 1
    assert sorted(draft.gift_ids) == [1, 2, 3, 4, 7]
    assert draft.total == eur(205)


def test_no_overview_for_cash_only_or_no_gifts() -> None:
    assert yearly_overview(DONOR, 2024, [gift(1, dt.date(2024, 1, 1), channel="cash")], [], CHARITY) is None
    assert yearly_overview(DONOR, 2024, [], [], CHARITY) is None


def test_agreement_document_has_every_field() -> None:
    doc = agreement_document(agreement(partner_name="Bert de Vries"), DONOR, CHARITY)
    assert doc.transaction_number == "PG-2024-0001"
    assert doc.charity_rsin == "002956217"
    assert doc.yearly_amount_digits == "€ 600,00"
    assert doc.yearly_amount_words == "zeshonderd euro"
    assert doc.term == "5 jaar (2024 t/m 2028)"
    assert doc.donor_birth_date == dt.date(1970, 5, 1)
    assert doc.signatures == ("schenker", "partner", "instelling")
    assert "overlijden van de schenker" in doc.end_conditions
    assert doc.missing() == []


def test_agreement_document_lists_missing_fields() -> None:
    donor = DonorInfo(id=1, name="X")
    doc = agreement_document(agreement(term_years=None), donor, CHARITY)
    assert doc.term == "onbepaalde tijd, vanaf 2024"
    assert set(doc.missing()) == {"geboortedatum", "adres"}
