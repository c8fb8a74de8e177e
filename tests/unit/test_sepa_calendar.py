import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.sepa.calendar import add_business_days, easter_sunday, is_business_day, next_business_day


@pytest.mark.parametrize("year, easter", [(2024, dt.date(2024, 3, 31)), (2025, dt.date(2025, 4, 20)),
                                          (2026, dt.date(2026, 4, 5)), (2027, dt.date(2027, 3, 28))])
def test_easter_sunday(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


@pytest.mark.parametrize("day", [dt.date(2026, 1, 1), dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 5, 1),
                                 dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2026, 11, 28)])
def test_target2_closing_days_are_not_business_days(day: dt.date) -> None:
    assert not is_business_day(day)


def test_next_business_day_skips_new_year_and_the_weekend() -> None:
    assert next_business_day(dt.date(2027, 1, 1)) == dt.date(2027, 1, 4)  # Friday holiday, then weekend
    assert next_business_day(dt.date(2026, 12, 2)) == dt.date(2026, 12, 2)
    assert add_business_days(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 28)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_next_business_day_is_a_business_day_within_five_days(day: dt.date) -> None:
    nxt = next_business_day(day)
    assert is_business_day(nxt) and 0 <= (nxt - day).days <= 4
