"""Pure §7 formulas over generated ledgers (per-donor-per-year totals)."""

import datetime as dt
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from donorcrm.reports import metrics as m

YEARS = range(2015, 2024)

year_total = st.builds(
    lambda amount, gifts, month, campaign: m.YearTotal(amount, gifts, dt.date(2000, month, 1), campaign),
    st.integers(1, 1_000_000), st.integers(1, 12), st.integers(1, 12), st.sampled_from([None, 1, 2]),
)
history = st.dictionaries(st.sampled_from(list(YEARS)), year_total, max_size=len(YEARS))
ledger = st.dictionaries(st.integers(1, 10_000), history, max_size=40)


@settings(max_examples=120, deadline=None)
@given(ledger)
def test_gains_minus_losses_is_the_year_on_year_change_exactly(histories) -> None:
    for g in m.growth(histories.values(), YEARS):
        total = sum(h[g.year].amount_minor for h in histories.values() if g.year in h)
        previous = sum(h[g.year - 1].amount_minor for h in histories.values() if g.year - 1 in h)
        assert g.total_minor == total and g.previous_total_minor == previous
        assert g.gains_minor - g.losses_minor == total - previous


@settings(max_examples=80, deadline=None)
@given(ledger)
def test_donor_flows_match_set_definitions(histories) -> None:
    for g in m.growth(histories.values(), YEARS):
        y = g.year
        d_now = {d for d, h in histories.items() if y in h}
        d_prev = {d for d, h in histories.items() if y - 1 in h}
        first = {d: min(h) for d, h in histories.items() if h}
        assert g.donors == len(d_now)
        assert g.retained == len(d_now & d_prev)
        assert g.lapsed == len(d_prev - d_now)
        assert g.new == len({d for d in d_now if first[d] == y})
        assert g.recaptured == len({d for d in d_now - d_prev if first[d] < y - 1})
        assert g.new + g.retained + g.recaptured == g.donors
        assert g.retained + g.lapsed == g.previous_donors
        new_prev = {d for d in d_prev if first[d] == y - 1}
        assert g.new_base == len(new_prev) and g.new_retained == len(new_prev & d_now)
        assert g.repeat_base == len(d_prev - new_prev) and g.repeat_retained == len((d_prev - new_prev) & d_now)
        if d_prev:
            assert g.retention == Fraction(len(d_now & d_prev), len(d_prev))
        else:
            assert g.retention is None
        retained = d_now & d_prev
        if retained:
            assert g.dollar_retention == Fraction(sum(histories[d][y].amount_minor for d in retained),
                                                  sum(histories[d][y - 1].amount_minor for d in retained))


@settings(max_examples=80, deadline=None)
@given(history, history)
def test_delta_turns_one_history_into_another(before, after) -> None:
    c = Counter(m.contributions(before))
    c.update(m.delta(before, after))
    assert +c == +m.contributions(after)


@settings(max_examples=60, deadline=None)
@given(ledger, st.sampled_from(list(YEARS)))
def test_lybunt_and_sybunt(histories, year) -> None:
    lybunt = m.lybunt(histories, year)
    sybunt = m.sybunt(histories, year)
    wide = m.sybunt(histories, year, include_last_year=True)
    assert lybunt == {d for d, h in histories.items() if year - 1 in h and year not in h}
    assert sybunt == {d for d, h in histories.items() if year not in h and year - 1 not in h
                      and any(y < year for y in h)}
    assert wide == sybunt | lybunt and not (sybunt & lybunt)
    g = m.year_growth(m.counters(histories.values()), year)
    assert g.lapsed == len(lybunt)


def test_worked_example() -> None:
    histories = {
        1: {2020: m.YearTotal(10_000), 2021: m.YearTotal(15_000)},  # upgraded by 50
        2: {2020: m.YearTotal(20_000)},  # lapsed 200
        3: {2021: m.YearTotal(5_000, first_on=dt.date(2021, 3, 9))},  # new 50
        4: {2018: m.YearTotal(1_000), 2021: m.YearTotal(3_000)},  # recaptured 30
        5: {2020: m.YearTotal(8_000), 2021: m.YearTotal(6_000)},  # downgraded by 20
    }
    (g,) = m.growth(histories.values(), [2021])
    assert (g.new, g.retained, g.recaptured, g.lapsed) == (1, 2, 1, 1)
    assert g.gains_minor == 5_000 + 3_000 + 5_000 and g.losses_minor == 2_000 + 20_000
    assert g.net_minor == 29_000 - 38_000
    assert g.retention == Fraction(2, 3) and g.dollar_retention == Fraction(21_000, 18_000)
    # Donors 1, 2 and 5 first gave in 2020: new donors of 2020, two of them came back.
    assert g.new_donor_retention == Fraction(2, 3) and g.repeat_donor_retention is None
    assert g.average_gift_per_donor_minor == Fraction(29_000, 4)
    assert g.lifetime_value_minor == Fraction(29_000, 4) * 3
    assert m.contributions(histories[3])[(2021, m.NEW_BY_MONTH, 3)] == 1


def test_lifetime_value_is_undefined_without_churn_or_data() -> None:
    assert m.lifetime_value(Fraction(100), Fraction(1)) is None
    assert m.lifetime_value(None, Fraction(1, 2)) is None
    assert m.lifetime_value(Fraction(100), Fraction(1, 2)) == 200


def test_the_campaign_of_the_first_gift_acquires_the_donor_and_keeps_them_if_they_give_next_year() -> None:
    kept = {2020: m.YearTotal(5_000, first_campaign_id=7), 2021: m.YearTotal(2_000, first_campaign_id=9)}
    lost = {2020: m.YearTotal(5_000, first_campaign_id=7), 2022: m.YearTotal(1_000)}
    unknown = {2021: m.YearTotal(100)}
    c = m.counters([kept, lost, unknown])
    assert c[(2020, m.NEW_BY_CAMPAIGN, 7)] == 2 and c[(2020, m.NEW_BY_CAMPAIGN_KEPT, 7)] == 1
    assert c[(2021, m.NEW_BY_CAMPAIGN, 0)] == 1 and (2021, m.NEW_BY_CAMPAIGN, 9) not in c


@given(ledger, st.sets(st.sampled_from(list(YEARS))))
@settings(max_examples=200, deadline=None)
def test_growth_tally_year_by_year_equals_the_counters_of_whole_histories(histories, empty_years):
    """A bulk load tallies one year at a time (some years may have no gifts at all)."""
    tally = m.GrowthTally()
    for y in YEARS:
        rows = [(d, h[y].amount_minor, h[y].first_on, h[y].first_campaign_id)
                for d, h in sorted(histories.items()) if y in h]
        if rows or y in empty_years:
            tally.add_year(y, rows)
    assert tally.counters() == Counter({k: v for k, v in m.counters(histories.values()).items() if v})


def test_growth_tally_wants_the_years_in_order():
    tally = m.GrowthTally()
    tally.add_year(2020, [(1, 500, None, None)])
    with pytest.raises(ValueError, match="ascending"):
        tally.add_year(2019, [(1, 500, None, None)])
