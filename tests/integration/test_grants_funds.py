"""Co-funding allocations and restricted-fund spending."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session

from donorcrm.campaigns.models import Fund
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.grants import cofunding, rules, service, spending
from donorcrm.money import Money
from tests import factories
from tests.integration.test_grants_lifecycle import eur, make_fund_grant

D = dt.date
FIXTURES = Path(__file__).parent.parent / "fixtures" / "grants"


def test_cofunding_percentage_of_budget_covered_by_gifts_and_a_fund(session: Session) -> None:
    grant = make_fund_grant(session, code="AMIF", kind="eu", awarded=75_000, budget=100_000, cofunding_percent="25")
    assert grant.category == "government"
    pos = cofunding.cofunding_position(session, grant.id)
    assert (pos.required, pos.covered, pos.met) == (eur(25_000), eur(0), False)

    donor = factories.donor(session)
    big = factories.gift(session, donor.id, 1_000_000)  # EUR 10,000
    cofunding.allocate(session, grant.id, eur(10_000), gift_id=big.id, on=D(2020, 6, 1))
    with pytest.raises(ValidationError, match="left to allocate"):
        cofunding.allocate(session, grant.id, eur(1), gift_id=big.id, on=D(2020, 6, 1))

    own_fund = Fund(code="COF-OWN", name="Eigen bijdrage projecten", restricted=True)
    session.add(own_fund)
    session.flush()
    factories.gift(session, donor.id, 2_000_000, fund_id=own_fund.id)  # EUR 20,000 of own income in the fund
    with pytest.raises(ValidationError, match="needs EUR 15000.00 more"):
        cofunding.allocate(session, grant.id, eur(20_000), fund_id=own_fund.id, on=D(2020, 6, 1))
    cofunding.allocate(session, grant.id, eur(15_000), fund_id=own_fund.id, on=D(2020, 6, 1))
    pos = cofunding.cofunding_position(session, grant.id)
    assert (pos.covered, pos.shortfall, pos.met) == (eur(25_000), eur(0), True)
    assert service.position(session, grant.id).cofunding.met
    sources = [r.source for r in cofunding.allocation_rows(session, grant.id)]
    assert sources[0].startswith(f"gift {big.id} (donor {donor.id}") and sources[1] == "fund COF-OWN"
    assert cofunding.available_in_fund(session, own_fund.id) == eur(5_000)


def test_grant_money_and_reversed_gifts_are_not_own_income(session: Session) -> None:
    grant = make_fund_grant(session, code="OR", awarded=10_000, budget=None, cofunding_amount=eur(2_000))
    other = make_fund_grant(session, code="VSB", awarded=10_000)
    [inst] = service.plan_instalments(session, other.id, [rules.PlannedInstalment(D(2020, 3, 1), eur(10_000))])
    grant_gift = service.receive_instalment(session, inst.id, received_on=D(2020, 3, 2))
    with pytest.raises(ValidationError, match="not own income"):
        cofunding.allocate(session, grant.id, eur(1_000), gift_id=grant_gift.id, on=D(2020, 6, 1))
    refunded = factories.gift(session, factories.donor(session).id, 100_000)
    from donorcrm.gifts.service import reverse_gift
    reverse_gift(session, refunded.id, on=D(2020, 6, 1))
    with pytest.raises(ValidationError, match="reversed"):
        cofunding.allocate(session, grant.id, eur(500), gift_id=refunded.id, on=D(2020, 6, 1))


def test_auto_allocate_fills_the_shortfall_from_unallocated_individual_gifts(session: Session) -> None:
    grant = make_fund_grant(session, code="VSB2", awarded=10_000, budget=None, cofunding_amount=eur(250))
    donor = factories.donor(session)
    g1 = factories.gift(session, donor.id, 10_000, on=D(2020, 1, 5))  # 100
    g2 = factories.gift(session, donor.id, 10_000, on=D(2020, 1, 6))  # 100
    factories.gift(session, donor.id, 10_000, on=D(2020, 1, 7), category="company")  # not from an individual
    g4 = factories.gift(session, donor.id, 10_000, on=D(2020, 1, 8))
    factories.gift(session, donor.id, 10_000, on=D(2021, 1, 8))  # outside the period
    first_grant = make_fund_grant(session, code="DIO2", awarded=10_000, budget=None, cofunding_amount=eur(30))
    cofunding.allocate(session, first_grant.id, eur(30), gift_id=g1.id, on=D(2020, 2, 1))
    rows = cofunding.auto_allocate(session, grant.id, received_from=D(2020, 1, 1), received_to=D(2020, 12, 31),
                                   on=D(2020, 12, 31))
    assert [(r.gift_id, r.amount_minor) for r in rows] == [(g1.id, 7_000), (g2.id, 10_000), (g4.id, 8_000)]
    assert cofunding.cofunding_position(session, grant.id).met
    assert cofunding.auto_allocate(session, grant.id, received_from=D(2020, 1, 1), received_to=D(2020, 12, 31),
                                   on=D(2020, 12, 31)) == []


def test_cofunding_needs_an_awarded_grant(session: Session) -> None:
    funder = service.create_funder(session, name="Rabo Foundation", kind="private_fund", code="RABO")
    grant = service.create_application(session, service.GrantApplication(funder_id=funder.id,
                                                                         reference="RABO-1", title="x"))
    gift = factories.gift(session, factories.donor(session).id, 10_000)
    with pytest.raises(InvalidState):
        cofunding.allocate(session, grant.id, eur(10), gift_id=gift.id, on=D(2020, 1, 1))


def test_fund_balance_is_income_minus_spending(session: Session) -> None:
    grant = make_fund_grant(session, code="SPEND", awarded=100_000)
    [inst] = service.plan_instalments(session, grant.id, [rules.PlannedInstalment(D(2020, 3, 1), eur(100_000))])
    service.receive_instalment(session, inst.id, received_on=D(2020, 3, 2))
    spending.record_spending(session, fund_id=grant.fund_id, amount=eur(30_000), spent_on=D(2020, 4, 30),
                             description="Salarissen april", grant_id=grant.id, external_ref="M-1")
    spending.record_spending(session, fund_id=grant.fund_id, amount=Money(-50_000, "EUR"), spent_on=D(2020, 5, 2),
                             description="Creditnota zaalhuur", external_ref="M-2")
    bal = spending.fund_balance(session, grant.fund_id)
    assert (bal.income, bal.spending, bal.balance) == (eur(100_000), eur(29_500), eur(70_500))
    assert spending.fund_balance(session, grant.fund_id, until=D(2020, 4, 30)).balance == eur(70_000)
    general = Fund(code="GENERAL", name="Algemeen", restricted=False)
    session.add(general)
    session.flush()
    with pytest.raises(ValidationError, match="not restricted"):
        spending.record_spending(session, fund_id=general.id, amount=eur(1), spent_on=D(2020, 1, 1),
                                 description="x")


def _project_fund(session: Session) -> Fund:
    grant = make_fund_grant(session, code="CSV", awarded=50_000)
    fund = session.get(Fund, grant.fund_id)
    assert fund is not None
    fund.code = "PRJ-WERK"
    session.add(fund)
    session.flush()
    return fund


def test_spending_csv_imports_every_row_and_is_idempotent(session: Session) -> None:
    fund = _project_fund(session)
    text = (FIXTURES / "spending_ok.csv").read_text(encoding="utf-8")
    result = spending.import_spending_csv(session, text)
    assert result.ok and (result.rows, result.written) == (3, 3)
    assert spending.fund_balance(session, fund.id).spending == Money(1_234_56 + 250_00 - 10_00, "EUR")
    again = spending.import_spending_csv(session, text)
    assert (again.written, again.already_imported, again.ok) == (0, 3, True)


def test_spending_csv_reports_every_bad_row_and_writes_nothing(session: Session) -> None:
    fund = _project_fund(session)
    text = (FIXTURES / "spending_bad.csv").read_text(encoding="utf-8")
    result = spending.import_spending_csv(session, text)
    where = [p.where for p in result.problems]
    assert where == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"], result.problems
    whats = " | ".join(p.what for p in result.problems)
    for expected in ("date", "unknown fund", "cannot read", "description is empty", "appears twice",
                     "unknown grant"):
        assert expected in whats
    assert result.written == 0 and spending.fund_balance(session, fund.id).spending == Money(0, "EUR")
    partial = spending.import_spending_csv(session, text, partial=True)
    assert partial.written == 2  # lines 2 and 9


def test_spending_csv_missing_columns(session: Session) -> None:
    result = spending.import_spending_csv(session, "datum;bedrag\n2020-01-01;10,00\n")
    assert not result.ok and "missing column fund" in result.problems[0].what
