import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.categories import IncomeCategory
from donorcrm.grants import rules
from donorcrm.grants.models import FunderKind, GrantStage, ReminderLevel, ReminderSubject
from donorcrm.money import Money

EUR = lambda minor: Money(minor, "EUR")  # noqa: E731
D = dt.date


@pytest.mark.parametrize(("kind", "category"), [
    ("lottery", IncomeCategory.LOTTERY),
    ("private_fund", IncomeCategory.OTHER_NONPROFIT),
    ("ministry", IncomeCategory.GOVERNMENT),
    ("municipality", IncomeCategory.GOVERNMENT),
    ("eu", IncomeCategory.GOVERNMENT),
    ("company", IncomeCategory.COMPANY),
    ("affiliated", IncomeCategory.AFFILIATED_NONPROFIT),
])
def test_funder_kind_maps_to_its_annual_accounts_line(kind: str, category: IncomeCategory) -> None:
    assert rules.category_for(kind) == category


def test_every_funder_kind_has_a_category_and_unknown_kinds_are_refused() -> None:
    assert set(rules.FUNDER_CATEGORY) == set(FunderKind)
    with pytest.raises(ValidationError):
        rules.category_for("bank")


def test_lifecycle_transitions() -> None:
    path = [GrantStage.DRAFT, GrantStage.APPLIED, GrantStage.AWARDED, GrantStage.SETTLEMENT_REQUESTED,
            GrantStage.SETTLED, GrantStage.CLOSED]
    for current, target in zip(path, path[1:], strict=False):
        rules.check_transition(current, target)
    for current, target in [(GrantStage.DRAFT, GrantStage.AWARDED), (GrantStage.APPLIED, GrantStage.SETTLED),
                            (GrantStage.REJECTED, GrantStage.AWARDED), (GrantStage.WITHDRAWN, GrantStage.APPLIED),
                            (GrantStage.SETTLED, GrantStage.AWARDED), (GrantStage.CLOSED, GrantStage.AWARDED)]:
        with pytest.raises(InvalidState):
            rules.check_transition(current, target)


def test_advance_and_rest_splits_exactly() -> None:
    plan = rules.advance_and_rest(EUR(100_001), advance_on=D(2020, 3, 1), rest_on=D(2021, 6, 1))
    assert [p.amount for p in plan] == [EUR(75_001), EUR(25_000)]
    assert plan[1].due_on == D(2021, 6, 1)
    assert rules.advance_and_rest(EUR(500), advance_percent=100, advance_on=D(2020, 1, 1),
                                  rest_on=D(2020, 2, 1)) == [rules.PlannedInstalment(D(2020, 1, 1), EUR(500),
                                                                                     "advance on signature")]
    with pytest.raises(ValidationError):
        rules.advance_and_rest(EUR(500), advance_percent=0, advance_on=D(2020, 1, 1), rest_on=D(2020, 2, 1))


def test_yearly_schedules_plan_one_schedule_per_year_of_a_multi_year_award() -> None:
    plan = rules.yearly_schedules(EUR(8_000_000_00), first_year=2020, years=5,
                                  pattern=((1, 31, 1), (7, 31, 1)))
    assert len(plan) == 10
    assert {p.schedule_year for p in plan} == {2020, 2021, 2022, 2023, 2024}
    for year in range(2020, 2025):
        assert sum(p.amount.minor for p in plan if p.schedule_year == year) == 8_000_000_00
        assert all(p.due_on.year == year for p in plan if p.schedule_year == year)
    feb = rules.yearly_schedules(EUR(100), first_year=2021, years=1, pattern=((2, 30, 1),))
    assert feb[0].due_on == D(2021, 2, 28)


@given(st.integers(1, 10**12), st.lists(st.integers(1, 100), min_size=1, max_size=12), st.integers(1, 6))
def test_yearly_schedules_always_add_up(yearly: int, weights: list[int], years: int) -> None:
    pattern = tuple((1 + i % 12, 15, w) for i, w in enumerate(weights))
    plan = rules.yearly_schedules(EUR(yearly), first_year=2020, years=years, pattern=pattern)
    assert sum(p.amount.minor for p in plan) == yearly * years


def test_schedule_may_not_exceed_the_award() -> None:
    assert rules.schedule_problems(EUR(1000), [EUR(750), EUR(250)]) == []
    problems = rules.schedule_problems(EUR(1000), [EUR(750), EUR(251)])
    assert len(problems) == 1 and "more than awarded" in problems[0].what


def test_settlement_below_advances_claims_the_difference_back() -> None:
    s = rules.settle_amounts(EUR(100_000), EUR(60_000), EUR(75_000))
    assert (s.to_receive, s.to_repay) == (EUR(0), EUR(15_000))


def test_settlement_above_advances_leaves_a_final_payment() -> None:
    s = rules.settle_amounts(EUR(100_000), EUR(90_000), EUR(75_000))
    assert (s.to_receive, s.to_repay) == (EUR(15_000), EUR(0))


def test_settlement_is_at_most_the_award() -> None:
    with pytest.raises(ValidationError, match="more than the awarded"):
        rules.settle_amounts(EUR(100_000), EUR(100_001), EUR(0))
    with pytest.raises(ValidationError):
        rules.settle_amounts(EUR(100_000), EUR(-1), EUR(0))


@given(st.integers(1, 10**10), st.integers(0, 10**10), st.integers(0, 2 * 10**10))
def test_settlement_arithmetic_balances(awarded: int, settled: int, received: int) -> None:
    if settled > awarded:
        with pytest.raises(ValidationError):
            rules.settle_amounts(EUR(awarded), EUR(settled), EUR(received))
        return
    s = rules.settle_amounts(EUR(awarded), EUR(settled), EUR(received))
    assert s.to_receive.minor >= 0 and s.to_repay.minor >= 0
    assert not (s.to_receive.minor and s.to_repay.minor)
    assert received + s.to_receive.minor - s.to_repay.minor == settled


def test_money_position_before_and_after_settlement() -> None:
    before = rules.money_position(EUR(100_000), ledger_income=EUR(75_000))
    assert (before.received, before.to_receive, before.to_repay) == (EUR(75_000), EUR(25_000), EUR(0))
    # settled at 60,000: the ledger was corrected to 60,000 and 15,000 is claimed back
    after = rules.money_position(EUR(100_000), ledger_income=EUR(60_000), settled=EUR(60_000),
                                 claims_open=EUR(15_000))
    assert (after.received, after.income, after.to_receive, after.to_repay) == (
        EUR(75_000), EUR(60_000), EUR(0), EUR(15_000))
    paid = rules.money_position(EUR(100_000), ledger_income=EUR(60_000), settled=EUR(60_000),
                                claims_paid=EUR(15_000))
    assert (paid.to_repay, paid.repaid, paid.received) == (EUR(0), EUR(15_000), EUR(75_000))
    over = rules.money_position(EUR(100_000), ledger_income=EUR(110_000))
    assert over.to_repay == EUR(10_000) and over.to_receive == EUR(0)


def test_correction_plan_reverses_newest_gifts_and_rebooks_the_rest() -> None:
    gifts = [(3, EUR(25_000)), (2, EUR(50_000)), (1, EUR(25_000))]
    plan = rules.correction_plan(gifts, EUR(30_000))
    assert plan.reverse_gift_ids == (3, 2)
    assert plan.rebook == EUR(45_000)
    exact = rules.correction_plan(gifts, EUR(25_000))
    assert exact == rules.LedgerCorrection((3,), EUR(0))
    assert rules.correction_plan(gifts, EUR(0)).reverse_gift_ids == ()
    with pytest.raises(InvalidState):
        rules.correction_plan(gifts, EUR(100_001))


@given(st.lists(st.integers(1, 10**8), min_size=1, max_size=10), st.data())
def test_correction_lowers_income_by_exactly_the_repayment(amounts: list[int], data: st.DataObject) -> None:
    gifts = [(i, EUR(a)) for i, a in enumerate(amounts)]
    repay = data.draw(st.integers(1, sum(amounts)))
    plan = rules.correction_plan(gifts, EUR(repay))
    reversed_total = sum(a for i, a in enumerate(amounts) if i in plan.reverse_gift_ids)
    assert sum(amounts) - reversed_total + plan.rebook.minor == sum(amounts) - repay
    assert 0 <= plan.rebook.minor


def test_cofunding_required_as_percentage_or_amount() -> None:
    assert rules.cofunding_required(basis_points=2500, fixed=None, budget=EUR(2_600_000_00)) == EUR(650_000_00)
    # rounded up: never under-state what must be raised
    assert rules.cofunding_required(basis_points=2500, fixed=None, budget=EUR(1001)) == EUR(251)
    assert rules.cofunding_required(basis_points=None, fixed=EUR(5000), budget=None) == EUR(5000)
    assert rules.cofunding_required(basis_points=None, fixed=None, budget=EUR(100)) == EUR(0)
    with pytest.raises(ValidationError):
        rules.cofunding_required(basis_points=2500, fixed=EUR(1), budget=EUR(100))
    with pytest.raises(ValidationError, match="budget"):
        rules.cofunding_required(basis_points=2500, fixed=None, budget=None)
    with pytest.raises(ValidationError):
        rules.cofunding_required(basis_points=10_001, fixed=None, budget=EUR(100))


def test_percent_to_basis_points() -> None:
    assert rules.percent_to_basis_points("25") == 2500
    assert rules.percent_to_basis_points("12.5%") == 1250
    with pytest.raises(ValidationError):
        rules.percent_to_basis_points("12.345")


def test_cofunding_position_shows_shortfall_until_met() -> None:
    short = rules.cofunding_position(EUR(1000), [EUR(300), EUR(200)])
    assert (short.covered, short.shortfall, short.met) == (EUR(500), EUR(500), False)
    met = rules.cofunding_position(EUR(1000), [EUR(1000)])
    assert met.met and met.shortfall == EUR(0)
    assert rules.cofunding_position(EUR(0), []).met


TODAY = D(2021, 6, 1)


@pytest.mark.parametrize(("due", "level"), [
    (D(2021, 7, 15), None),  # 44 days ahead: not yet
    (D(2021, 7, 1), ReminderLevel.UPCOMING),  # 30 days: inside the horizon
    (TODAY, ReminderLevel.UPCOMING),
    (D(2021, 5, 31), ReminderLevel.OVERDUE),
    (D(2021, 5, 18), ReminderLevel.OVERDUE),  # 14 days overdue
    (D(2021, 5, 17), ReminderLevel.ESCALATED),  # 15 days overdue
])
def test_reminder_level(due: dt.date, level: ReminderLevel | None) -> None:
    assert rules.reminder_level(due, TODAY, horizon_days=30, escalate_after_days=14) == level


def test_select_reminders_skips_existing_levels() -> None:
    items = [rules.DueItem(ReminderSubject.REPORT, 1, 10, D(2021, 6, 20), "final report"),
             rules.DueItem(ReminderSubject.INSTALMENT, 2, 10, D(2021, 4, 1), "instalment"),
             rules.DueItem(ReminderSubject.REPAYMENT, 3, 11, D(2021, 12, 1), "repayment")]
    chosen = rules.select_reminders(items, TODAY)
    assert [(d.item.subject_id, d.level) for d in chosen] == [(1, ReminderLevel.UPCOMING),
                                                              (2, ReminderLevel.ESCALATED)]
    again = rules.select_reminders(items, TODAY, existing={("report", 1, "upcoming")})
    assert [d.item.subject_id for d in again] == [2]
    assert "days overdue" in chosen[1].message(TODAY) and chosen[1].message(TODAY).startswith("ESCALATED")
