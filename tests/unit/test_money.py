from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.errors import MoneyError
from donorcrm.money import Locale, Money, total


@pytest.mark.parametrize(
    ("text", "locale", "minor"),
    [
        ("12,50", "nl", 1250),
        ("12.50", "en", 1250),
        ("12.50", "plain", 1250),
        ("1.234,56", "nl", 123456),
        ("1,234.56", "en", 123456),
        ("1.234.567,8", "nl", 123456780),
        ("€ 7.490.449", "nl", 749044900),
        ("-5,00", "nl", -500),
        ("0,01", "nl", 1),
        ("1234", "nl", 123400),
    ],
)
def test_parse_is_explicit_about_locale(text: str, locale: str, minor: int) -> None:
    assert Money.parse(text, "EUR", locale) == Money(minor, "EUR")


@pytest.mark.parametrize(
    ("text", "locale"),
    [("12.50", "nl"), ("12,50", "en"), ("12,50", "plain"), ("1.23,45", "nl"), ("", "nl"), ("abc", "en"),
     ("1,2345.00", "en"), ("0,001", "nl"), ("1.234,567", "nl")],
)
def test_ambiguous_or_broken_text_is_refused(text: str, locale: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "EUR", locale)


def test_floats_and_mixed_currencies_are_refused() -> None:
    with pytest.raises(MoneyError):
        Money.from_decimal(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(100, "EUR") + Money(100, "GBP")
    with pytest.raises(MoneyError):
        _ = Money(100, "EUR") < Money(100, "USD")
    with pytest.raises(MoneyError):
        Money(100, "XXX")
    with pytest.raises(MoneyError):
        Money(100, "EUR") * Decimal("1.5")  # type: ignore[operator]


def test_currency_exponents() -> None:
    assert Money.parse("1000", "JPY", "plain") == Money(1000, "JPY")
    assert Money.parse("1.234", "KWD", "plain") == Money(1234, "KWD")
    with pytest.raises(MoneyError):
        Money.parse("10.5", "JPY", "plain")
    assert Money(1000, "JPY").to_string() == "1000"


def test_formatting() -> None:
    assert Money(123456, "EUR").format("nl") == "€ 1.234,56"
    assert Money(123456, "EUR").format("en") == "€1,234.56"
    assert Money(-50, "GBP").format("en") == "-£0.50"
    assert Money(123456, "EUR").to_string() == "1234.56"
    assert str(Money(5, "USD")) == "USD 0.05"


def test_scale_and_allocate() -> None:
    assert Money(1000, "GBP").scale("0.25") == Money(250, "GBP")
    assert Money(1, "EUR").scale("0.5") == Money(0, "EUR")  # banker's rounding
    parts = Money(100, "EUR").allocate([1, 1, 1])
    assert [p.minor for p in parts] == [34, 33, 33]
    assert total([]) == Money(0, "EUR")


@given(st.integers(min_value=-10**15, max_value=10**15), st.lists(st.integers(0, 1000), min_size=1, max_size=8))
def test_allocate_never_loses_a_cent(minor: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = Money(minor, "EUR").allocate(weights)
    assert sum(p.minor for p in parts) == minor


@given(st.integers(min_value=-10**13, max_value=10**13))
def test_format_and_parse_round_trip(minor: int) -> None:
    m = Money(minor, "EUR")
    for loc in Locale:
        assert Money.parse(m.format(loc), "EUR", loc) == m
