"""RJ 650 recognition of legacies: when income counts, and what is recognised but not yet received."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from donorcrm.bequests.rules import (
    Estimate,
    Receipt,
    RecognitionFacts,
    recognised_to,
    recognition_for_year,
)

D = dt.date


def test_advances_without_a_reliable_estimate_are_income_when_received() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 3, 1), 500_000_00, reliable=False),),
                             receipts=(Receipt(D(2025, 9, 1), 10_000_00),))
    y = recognition_for_year(facts, 2025)
    assert (y.recognised_minor, y.received_minor, y.receivable_minor) == (10_000_00, 10_000_00, 0)


def test_a_reliable_estimate_is_income_in_its_year_and_the_rest_a_receivable() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 6, 1), 100_000_00, reliable=True),),
                             receipts=(Receipt(D(2025, 7, 1), 30_000_00), Receipt(D(2026, 2, 1), 70_000_00)))
    y25, y26 = recognition_for_year(facts, 2025), recognition_for_year(facts, 2026)
    assert (y25.recognised_minor, y25.received_minor, y25.receivable_minor) == (100_000_00, 30_000_00, 70_000_00)
    assert (y26.recognised_minor, y26.received_minor, y26.receivable_minor) == (0, 70_000_00, 0)


def test_the_deed_of_distribution_forces_recognition_at_the_latest() -> None:
    facts = RecognitionFacts(
        estimates=(Estimate(D(2025, 2, 1), 120_000_00, reliable=False), Estimate(D(2026, 4, 1), 90_000_00, False)),
        deed_on=D(2026, 4, 1),
    )
    assert recognition_for_year(facts, 2025).recognised_minor == 0
    y26 = recognition_for_year(facts, 2026)
    assert (y26.recognised_minor, y26.receivable_minor) == (90_000_00, 90_000_00)


def test_a_usufruct_reduces_the_value_until_the_life_tenant_dies() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 5, 1), 100_000_00, reliable=True),),
                             usufruct_minor=40_000_00, usufruct_ends_on=D(2027, 8, 1))
    assert recognition_for_year(facts, 2025).recognised_minor == 60_000_00
    assert recognition_for_year(facts, 2026).recognised_minor == 0
    assert recognition_for_year(facts, 2027).recognised_minor == 40_000_00


def test_a_lower_estimate_corrects_income_in_the_year_it_is_made() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 5, 1), 100_000_00, True),
                                        Estimate(D(2026, 5, 1), 80_000_00, True)))
    assert recognition_for_year(facts, 2026).recognised_minor == -20_000_00


def test_on_closing_income_becomes_exactly_what_was_received() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 5, 1), 100_000_00, True),),
                             receipts=(Receipt(D(2026, 3, 1), 95_000_00),), ended_on=D(2026, 3, 2))
    y26 = recognition_for_year(facts, 2026)
    assert (y26.recognised_minor, y26.received_minor, y26.receivable_minor) == (-5_000_00, 95_000_00, 0)


def test_receiving_more_than_estimated_is_income_as_received() -> None:
    facts = RecognitionFacts(estimates=(Estimate(D(2025, 1, 1), 10_000_00, True),),
                             receipts=(Receipt(D(2025, 2, 1), 12_500_00),))
    assert recognised_to(facts, D(2025, 12, 31)) == 12_500_00


days = st.dates(min_value=D(2020, 1, 1), max_value=D(2029, 12, 31))


@given(
    estimates=st.lists(st.builds(Estimate, days, st.integers(0, 10**9), st.booleans()), max_size=4),
    receipts=st.lists(st.builds(Receipt, days, st.integers(1, 10**8)), max_size=4),
    deed=st.none() | days,
    usufruct=st.integers(0, 10**8),
    usufruct_end=st.none() | days,
    ended=st.none() | days,
)
def test_yearly_income_adds_up_and_ends_equal_to_cash(estimates, receipts, deed, usufruct, usufruct_end,
                                                      ended) -> None:  # type: ignore[no-untyped-def]
    facts = RecognitionFacts(tuple(estimates), tuple(receipts), deed, usufruct, usufruct_end, ended)
    years = [recognition_for_year(facts, y) for y in range(2020, 2031)]
    assert sum(y.recognised_minor for y in years) == recognised_to(facts, D(2030, 12, 31))
    assert all(y.receivable_minor >= 0 for y in years)
    if ended is not None:
        last = years[-1]
        assert last.recognised_total_minor == last.received_total_minor
