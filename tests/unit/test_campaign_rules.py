import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from donorcrm.campaigns.rules import GiftFacts, PoolTerms, match_amount, roi

D0, D1 = dt.date(2020, 12, 1), dt.date(2020, 12, 31)


def terms(**kw: object) -> PoolTerms:
    base = dict(ratio_numerator=1, ratio_denominator=1, cap_per_gift_minor=None, cap_total_minor=100_000,
                starts_on=D0, ends_on=D1, eligible_channels=frozenset())
    base.update(kw)
    return PoolTerms(**base)  # type: ignore[arg-type]


def gift(minor: int, channel: str = "ideal", on: dt.date = dt.date(2020, 12, 10), rev: bool = False) -> GiftFacts:
    return GiftFacts(minor, "EUR", channel, on, rev)


def test_one_to_one_within_caps() -> None:
    assert match_amount(terms(), gift(2500), 0) == 2500
    assert match_amount(terms(cap_per_gift_minor=1000), gift(2500), 0) == 1000
    assert match_amount(terms(), gift(2500), 99_000) == 1000  # only what is left
    assert match_amount(terms(), gift(2500), 100_000) == 0
    assert match_amount(terms(ratio_numerator=2), gift(2500), 0) == 5000
    assert match_amount(terms(ratio_denominator=3), gift(1000), 0) == 333  # rounds down


def test_outside_period_channel_currency_or_reversed_is_not_matched() -> None:
    assert match_amount(terms(), gift(2500, on=dt.date(2021, 1, 1)), 0) == 0
    assert match_amount(terms(eligible_channels=frozenset({"ideal"})), gift(2500, channel="cash"), 0) == 0
    assert match_amount(terms(), gift(2500, rev=True), 0) == 0
    assert match_amount(terms(), GiftFacts(2500, "GBP", "ideal", dt.date(2020, 12, 10)), 0) == 0


@given(
    st.lists(st.tuples(st.integers(1, 10**7), st.booleans()), max_size=60),
    st.integers(1, 10**7),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.integers(1, 5),
    st.integers(1, 5),
)
def test_never_over_either_cap_and_never_for_reversed_gifts(
    gifts: list[tuple[int, bool]], cap: int, per_gift: int | None, num: int, den: int
) -> None:
    t = terms(cap_total_minor=cap, cap_per_gift_minor=per_gift, ratio_numerator=num, ratio_denominator=den)
    matched = 0
    for minor, rev in gifts:
        m = match_amount(t, gift(minor, rev=rev), matched)
        assert m >= 0
        if rev:
            assert m == 0
        if per_gift is not None:
            assert m <= per_gift
        assert m * den <= minor * num
        matched += m
        assert matched <= cap


def test_roi() -> None:
    assert roi(10_000, 2_500) == 4.0
    assert roi(10_000, 0) is None
