"""The legacy income forecast on made-up pipelines with answers worked out by hand.

Rounding rules under test: each case's expected amount is rounded once per scenario, half to even, to whole
cents (remaining × value% × probability); scaled stage durations are rounded half to even to whole days;
quarter totals are plain sums of the rounded case amounts.
"""

from __future__ import annotations

import datetime as dt

import pytest

from donorcrm.bequests.rules import (
    DEFAULT_DURATION_DAYS,
    ForecastCase,
    LegacyKind,
    Stage,
    StageVisit,
    add_quarters,
    div_half_even,
    expected_receipt,
    forecast,
    learn_durations,
    quarter_start,
)

D = dt.date
TODAY = D(2027, 1, 15)


def test_half_even_division() -> None:
    assert [div_half_even(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert div_half_even(2, 3) == 1 and div_half_even(1, 3) == 0
    assert div_half_even(10**30 + 1, 2) == 5 * 10**29  # exact on huge integers


def test_quarters() -> None:
    assert quarter_start(D(2027, 2, 28)) == D(2027, 1, 1)
    assert quarter_start(D(2027, 12, 31)) == D(2027, 10, 1)
    assert add_quarters(D(2027, 10, 1), 1) == D(2028, 1, 1)
    assert add_quarters(D(2027, 1, 1), 11) == D(2029, 10, 1)


def test_residuary_case_in_administration_by_hand() -> None:
    # 45 days into administration (180): 135 left, then interim 120 + estate accounts 60 + final 45 = 360 days.
    since = D(2026, 12, 1)
    assert expected_receipt(Stage.ADMINISTRATION, since, TODAY, LegacyKind.RESIDUARY, DEFAULT_DURATION_DAYS) == \
        TODAY + dt.timedelta(days=360)
    # A pecuniary legacy skips interim distributions and estate accounts: 135 + 45.
    assert expected_receipt(Stage.ADMINISTRATION, since, TODAY, LegacyKind.PECUNIARY, DEFAULT_DURATION_DAYS) == \
        TODAY + dt.timedelta(days=180)
    # An overdue stage ends today.
    assert expected_receipt(Stage.FINAL, D(2025, 1, 1), TODAY, LegacyKind.PECUNIARY, DEFAULT_DURATION_DAYS) == TODAY


def test_disputed_case_waits_for_the_dispute_then_restarts_its_stage() -> None:
    # dispute 270 days (just started), then notified 60 + documents 90 + administration 180 + final 45.
    when = expected_receipt(Stage.DISPUTED, TODAY, TODAY, LegacyKind.PECUNIARY, DEFAULT_DURATION_DAYS,
                            resume=Stage.NOTIFIED)
    assert when == TODAY + dt.timedelta(days=270 + 60 + 90 + 180 + 45)


def made_up_pipeline() -> list[ForecastCase]:
    return [
        # A: EUR 10,000 pecuniary legacy in final distribution since 1 January: certain, this quarter.
        ForecastCase(1, Stage.FINAL, D(2027, 1, 1), LegacyKind.PECUNIARY, 10_000_00),
        # B: residuary share of EUR 200,000, EUR 50,000 advanced; 150,000 left at 95%.
        ForecastCase(2, Stage.ADMINISTRATION, D(2026, 12, 1), LegacyKind.RESIDUARY, 200_000_00, 50_000_00),
        # C: a life interest whose tenant lives: no date.
        ForecastCase(3, Stage.ADMINISTRATION, D(2026, 6, 1), LegacyKind.LIFE_INTEREST, 40_000_00,
                     waits_for_life_tenant=True),
        # D: received more than estimated: nothing left to expect.
        ForecastCase(4, Stage.FINAL, D(2027, 1, 1), LegacyKind.PECUNIARY, 5_000_00, 6_000_00),
        # E: closed cases are history.
        ForecastCase(5, Stage.CLOSED, D(2026, 1, 1), LegacyKind.PECUNIARY, 99_000_00),
    ]


def test_forecast_by_hand() -> None:
    f = forecast(made_up_pipeline(), TODAY, DEFAULT_DURATION_DAYS)
    assert len(f.quarters) == 12 and f.quarters[0].quarter == "2027-Q1" and f.quarters[-1].quarter == "2029-Q4"
    by_q = {q.quarter: q.amounts for q in f.quarters}
    # central: A 10,000 × 100% in Q1 2027 (31 days left); B 150,000 × 95% = 142,500 on 2028-01-10.
    assert by_q["2027-Q1"]["central"] == 10_000_00
    assert by_q["2028-Q1"]["central"] == 142_500_00
    # low (85% of value, durations × 1.25): A 8,500 in Q1 2027 (56 days, 42 left); B 150,000 × 85% × 95% =
    # 121,125 after 180 + 150 + 75 + 56 = 461 days: 2028-04-20.
    assert by_q["2027-Q1"]["low"] == 8_500_00
    assert by_q["2028-Q2"]["low"] == 121_125_00
    # high (105%, durations × 0.85): B 149,625 after 108 + 102 + 51 + 38 = 299 days: 2027-11-10.
    assert by_q["2027-Q1"]["high"] == 10_500_00
    assert by_q["2027-Q4"]["high"] == 149_625_00
    assert f.total("central") == 152_500_00 and f.total("low") == 129_625_00 and f.total("high") == 160_125_00
    assert f.undated == {"low": 32_300_00, "central": 38_000_00, "high": 39_900_00}  # 40,000 × 95% × 85|100|105%
    assert f.beyond == {"low": 0, "central": 0, "high": 0}
    assert sorted(c.case_id for c in f.cases) == [1, 2, 3, 4]
    assert next(c for c in f.cases if c.case_id == 4).remaining_minor == 0


def test_amounts_after_the_horizon_are_reported_apart() -> None:
    f = forecast(made_up_pipeline(), TODAY, DEFAULT_DURATION_DAYS, quarters=4)
    assert f.beyond["central"] == 142_500_00
    assert f.total("central") == 10_000_00


def test_each_case_is_rounded_once_half_to_even() -> None:
    # 1 cent × 50% probability = 0.5 cent -> 0; 3 cents × 50% = 1.5 -> 2.
    cases = [ForecastCase(1, Stage.DISPUTED, TODAY, LegacyKind.PECUNIARY, 1, resume=Stage.FINAL),
             ForecastCase(2, Stage.DISPUTED, TODAY, LegacyKind.PECUNIARY, 3, resume=Stage.FINAL)]
    f = forecast(cases, TODAY, DEFAULT_DURATION_DAYS)
    assert [c.expected["central"][1] for c in f.cases] == [0, 2]
    assert f.total("central") == 2


def history(*steps: tuple[Stage, int], start: dt.date = D(2024, 1, 1)) -> list[StageVisit]:
    """Visits from (stage, days spent) pairs, the last stage entered after the others."""
    out, day = [], start
    for stage, spent in steps:
        out.append(StageVisit(stage, day))
        day += dt.timedelta(days=spent)
    return out


def test_durations_are_the_lower_median_of_closed_cases() -> None:
    admin_days = [100, 300, 200, 150, 250, 120]  # sorted: 100 120 150 200 250 300 -> lower median 150
    closed = [history((Stage.NOTIFIED, 10), (Stage.DOCUMENTS, 20), (Stage.ADMINISTRATION, a), (Stage.FINAL, 30),
                      (Stage.CLOSED, 0)) for a in admin_days]
    still_open = [history((Stage.NOTIFIED, 10), (Stage.DOCUMENTS, 5000), (Stage.ADMINISTRATION, 0))]
    # Only four closed cases went through interim distributions: too few, the default stays.
    with_interim = [history((Stage.NOTIFIED, 10), (Stage.DOCUMENTS, 20), (Stage.ADMINISTRATION, 100),
                            (Stage.INTERIM, 999), (Stage.FINAL, 30), (Stage.CLOSED, 0)) for _ in range(4)]
    learned = learn_durations(closed + still_open + with_interim)
    assert learned[Stage.NOTIFIED] == 10
    assert learned[Stage.DOCUMENTS] == 20
    assert learned[Stage.ADMINISTRATION] == 100  # ten cases: 100,100,100,100,100,120,150,... -> 100
    assert learned[Stage.FINAL] == 30
    assert learned[Stage.INTERIM] == DEFAULT_DURATION_DAYS[Stage.INTERIM]
    assert learned[Stage.DISPUTED] == DEFAULT_DURATION_DAYS[Stage.DISPUTED]


def test_lower_median_with_only_the_six_cases() -> None:
    admin_days = [100, 300, 200, 150, 250, 120]
    closed = [history((Stage.NOTIFIED, 10), (Stage.DOCUMENTS, 20), (Stage.ADMINISTRATION, a), (Stage.FINAL, 30),
                      (Stage.CLOSED, 0)) for a in admin_days]
    assert learn_durations(closed)[Stage.ADMINISTRATION] == 150
    assert learn_durations(closed[:4])[Stage.ADMINISTRATION] == DEFAULT_DURATION_DAYS[Stage.ADMINISTRATION]


@pytest.mark.parametrize("min_cases", [1, 3])
def test_min_cases_is_a_parameter(min_cases: int) -> None:
    closed = [history((Stage.NOTIFIED, 7), (Stage.DOCUMENTS, 1), (Stage.ADMINISTRATION, 1), (Stage.FINAL, 1),
                      (Stage.CLOSED, 0))] * min_cases
    assert learn_durations(closed, min_cases=min_cases)[Stage.NOTIFIED] == 7


def test_stage_values_can_be_overridden_by_a_setting() -> None:
    from donorcrm.bequests.rules import DEFAULT_PROBABILITY_BP, parse_stage_values
    from donorcrm.errors import ValidationError

    got = parse_stage_values(" notified=8000, disputed=4000 ", DEFAULT_PROBABILITY_BP)
    assert got[Stage.NOTIFIED] == 8000 and got[Stage.DISPUTED] == 4000
    assert got[Stage.FINAL] == DEFAULT_PROBABILITY_BP[Stage.FINAL]
    assert parse_stage_values("", DEFAULT_PROBABILITY_BP) == dict(DEFAULT_PROBABILITY_BP)
    for bad in ("notified", "heaven=1", "notified=-1", "closed=5", "notified=x"):
        with pytest.raises(ValidationError):
            parse_stage_values(bad, DEFAULT_PROBABILITY_BP)
