import pytest
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.errors import ValidationError
from donorcrm.money import Money
from donorcrm.receipts.words import dutch_amount, dutch_number, german_amount, german_number


@pytest.mark.parametrize(("n", "words"), [
    (0, "null"), (1, "eins"), (16, "sechzehn"), (17, "siebzehn"), (21, "einundzwanzig"), (30, "dreißig"),
    (99, "neunundneunzig"), (100, "einhundert"), (101, "einhunderteins"), (250, "zweihundertfünfzig"),
    (1000, "eintausend"), (1234, "eintausendzweihundertvierunddreißig"),
    (300_000, "dreihunderttausend"), (1_000_000, "eine Million"),
    (2_500_001, "zwei Millionen fünfhunderttausendeins"),
])
def test_german_numbers(n: int, words: str) -> None:
    assert german_number(n) == words


@pytest.mark.parametrize(("minor", "words"), [
    (35_000, "dreihundertfünfzig Euro"), (100, "ein Euro"), (1_250, "zwölf Euro und fünfzig Cent"),
    (101, "ein Euro und ein Cent"), (0, "null Euro"),
])
def test_german_amounts(minor: int, words: str) -> None:
    assert german_amount(Money(minor, "EUR")) == words


@pytest.mark.parametrize(("n", "words"), [
    (0, "nul"), (1, "één"), (21, "eenentwintig"), (22, "tweeëntwintig"), (23, "drieëntwintig"),
    (100, "honderd"), (101, "honderdeen"), (180, "honderdtachtig"), (1000, "duizend"),
    (1250, "duizend tweehonderdvijftig"), (2026, "tweeduizend zesentwintig"), (1_000_000, "een miljoen"),
])
def test_dutch_numbers(n: int, words: str) -> None:
    assert dutch_number(n) == words


def test_dutch_amount_with_cents() -> None:
    assert dutch_amount(Money(60_000, "EUR")) == "zeshonderd euro"
    assert dutch_amount(Money(1_250, "EUR")) == "twaalf euro en vijftig cent"


def test_negative_amounts_have_no_words() -> None:
    with pytest.raises(ValidationError):
        german_amount(Money(-1, "EUR"))


@given(st.integers(min_value=1, max_value=999_999))
def test_german_words_are_one_word_below_a_million_and_distinct(n: int) -> None:
    words = german_number(n)
    assert " " not in words
    assert words != german_number(n + 1)
