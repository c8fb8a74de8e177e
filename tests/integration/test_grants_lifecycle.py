import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.audit import AuditLog
from donorcrm.campaigns.models import Fund
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.grants import expected_instalments, rules, service
from donorcrm.grants.models import Grant, GrantStage, InstalmentStatus
from donorcrm.money import Money
from tests import factories

D = dt.date


def eur(euros: int) -> Money:
    return Money(euros * 100, "EUR")


def make_fund_grant(session: Session, *, awarded: int = 100_000, code: str = "ORANJE", kind: str = "private_fund",
                    budget: int | None = 150_000, **award_kw: object) -> Grant:
    funder = service.create_funder(session, name=f"Fonds {code}", kind=kind, code=code,
                                   iban="NL91ABNA0417164300")
    grant = service.create_application(session, service.GrantApplication(
        funder_id=funder.id, reference=f"{code}-2020-01", title="Werk en inburgering", requested=eur(awarded),
        budget=eur(budget) if budget else None, applied_on=D(2019, 11, 1), period_start=D(2020, 1, 1),
        period_end=D(2020, 12, 31)))
    return service.award(session, grant.id, service.Award(awarded=eur(awarded), decided_on=D(2020, 2, 1),
                                                          conditions="final report by 1 June 2021",
                                                          **award_kw))  # type: ignore[arg-type]


def test_funder_is_an_organisation_donor_with_its_iban(session: Session) -> None:
    funder = service.create_funder(session, name="Nationale Postcode Loterij", kind="lottery", code="npl",
                                   iban="NL02ABNA0123456789")
    assert funder.code == "NPL"
    assert service.funder_name(session, funder) == "Nationale Postcode Loterij"
    with pytest.raises(ValidationError):
        service.create_funder(session, name="Other", kind="lottery", code="NPL")
    with pytest.raises(ValidationError):
        service.create_funder(session, name="Bank", kind="bank", code="BANK")
    person = factories.donor(session)
    with pytest.raises(ValidationError, match="organisation"):
        service.create_funder(session, name="x", kind="company", code="X", donor_id=person.id)


def test_application_to_award_is_checked_and_audited(session: Session) -> None:
    funder = service.create_funder(session, name="VSBfonds", kind="private_fund", code="VSB")
    grant = service.create_application(session, service.GrantApplication(
        funder_id=funder.id, reference="VSB-1", title="Taalmaatjes", requested=eur(50_000)))
    assert grant.stage == GrantStage.DRAFT and grant.category == "other_nonprofit"
    with pytest.raises(InvalidState):
        service.award(session, grant.id, service.Award(awarded=eur(40_000), decided_on=D(2020, 3, 1)))
    service.submit_application(session, grant.id, on=D(2020, 1, 10))
    service.award(session, grant.id, service.Award(awarded=eur(40_000), decided_on=D(2020, 3, 1)))
    assert grant.stage == GrantStage.AWARDED and grant.awarded_minor == 4_000_000
    fund = session.get(Fund, grant.fund_id)
    assert fund is not None and fund.restricted
    actions = session.execute(select(AuditLog.action).where(AuditLog.entity == "grant",
                                                            AuditLog.entity_id == str(grant.id))).scalars().all()
    assert {"grant.create", "grant.applied", "grant.awarded"} <= set(actions)
    with pytest.raises(InvalidState):
        service.reject(session, grant.id, on=D(2020, 3, 2))


def test_rejected_and_withdrawn_grants_stop(session: Session) -> None:
    funder = service.create_funder(session, name="Dioraphte", kind="private_fund", code="DIO")
    a = service.create_application(session, service.GrantApplication(
        funder_id=funder.id, reference="DIO-A", title="A", applied_on=D(2020, 1, 1)))
    b = service.create_application(session, service.GrantApplication(funder_id=funder.id, reference="DIO-B",
                                                                     title="B"))
    service.reject(session, a.id, on=D(2020, 2, 1), reason="budget exhausted")
    service.withdraw(session, b.id, on=D(2020, 2, 1))
    assert (a.stage, b.stage) == (GrantStage.REJECTED, GrantStage.WITHDRAWN)
    with pytest.raises(InvalidState):
        service.submit_application(session, b.id, on=D(2020, 3, 1))


def test_instalments_received_are_ledger_gifts_in_the_right_category_and_fund(session: Session) -> None:
    grant = make_fund_grant(session)
    plan = service.plan_instalments(session, grant.id, rules.advance_and_rest(
        eur(100_000), advance_on=D(2020, 3, 1), rest_on=D(2021, 7, 1)))
    assert [i.amount_minor for i in plan] == [7_500_000, 2_500_000]
    with pytest.raises(ValidationError, match="more than awarded"):
        service.plan_instalments(session, grant.id, [rules.PlannedInstalment(D(2021, 8, 1), eur(1))])
    gift = service.receive_instalment(session, plan[0].id, received_on=D(2020, 3, 3), external_ref="stmt-1/4")
    funder = service.get_funder(session, grant.funder_id)
    assert (gift.grant_id, gift.fund_id, gift.category, gift.donor_id) == (
        grant.id, grant.fund_id, "other_nonprofit", funder.donor_id)
    assert plan[0].status == InstalmentStatus.RECEIVED and plan[0].gift_id == gift.id
    # the same bank line twice books once
    assert service.receive_instalment(session, plan[0].id, received_on=D(2020, 3, 3),
                                      external_ref="stmt-1/4").id == gift.id
    pos = service.position(session, grant.id)
    assert (pos.money.awarded, pos.money.received, pos.money.to_receive, pos.money.to_repay) == (
        eur(100_000), eur(75_000), eur(25_000), eur(0))


def test_linking_an_existing_gift_checks_it_fits(session: Session) -> None:
    grant = make_fund_grant(session)
    [inst] = service.plan_instalments(session, grant.id, [rules.PlannedInstalment(D(2020, 3, 1), eur(100_000))])
    wrong = factories.gift(session, None, 10_000_000, category="government")
    with pytest.raises(InvalidState, match="booked as government"):
        service.link_gift(session, inst.id, wrong.id)
    right = factories.gift(session, None, 10_000_000, category="other_nonprofit", external_ref="b-77")
    service.link_gift(session, inst.id, right.id)
    assert right.grant_id == grant.id and right.fund_id == grant.fund_id and right.donor_id is not None
    assert inst.status == InstalmentStatus.RECEIVED


def test_settlement_below_advances_claims_repayment_and_corrects_income(session: Session) -> None:
    grant = make_fund_grant(session)
    plan = service.plan_instalments(session, grant.id, rules.advance_and_rest(
        eur(100_000), advance_on=D(2020, 3, 1), rest_on=D(2021, 7, 1)))
    service.receive_instalment(session, plan[0].id, received_on=D(2020, 3, 3))
    service.request_settlement(session, grant.id, on=D(2021, 5, 1), claimed=eur(60_000))
    with pytest.raises(ValidationError, match="more than the awarded"):
        service.settle(session, grant.id, settled=eur(100_001), on=D(2021, 9, 1))
    out = service.settle(session, grant.id, settled=eur(60_000), on=D(2021, 9, 1))
    assert out.settlement.to_repay == eur(15_000) and out.claim is not None
    assert out.claim.amount_minor == 1_500_000 and out.claim.due_on == D(2021, 10, 13)
    assert plan[1].status == InstalmentStatus.CANCELLED
    assert service.ledger_income(session, grant.id) == eur(60_000)
    ledger = session.execute(select(Gift).where(Gift.grant_id == grant.id).order_by(Gift.id)).scalars().all()
    assert [g.amount_minor for g in ledger] == [7_500_000, -7_500_000, 6_000_000]
    pos = service.position(session, grant.id)
    assert (pos.money.received, pos.money.to_repay, pos.money.to_receive) == (eur(75_000), eur(15_000), eur(0))
    with pytest.raises(InvalidState, match="still to repay"):
        service.close(session, grant.id, on=D(2021, 9, 2))
    service.record_repayment(session, out.claim.id, paid_on=D(2021, 10, 1), payment_ref="TRF-9")
    service.close(session, grant.id, on=D(2021, 10, 2))
    assert grant.stage == GrantStage.CLOSED
    # lowered again within five years: another claim, income follows
    again = service.settle(session, grant.id, settled=eur(50_000), on=D(2023, 1, 10))
    assert again.claim is not None and again.claim.amount_minor == 1_000_000
    assert service.ledger_income(session, grant.id) == eur(50_000)
    with pytest.raises(InvalidState, match="only lower"):
        service.settle(session, grant.id, settled=eur(55_000), on=D(2023, 2, 1))
    with pytest.raises(InvalidState, match="5 years"):
        service.settle(session, grant.id, settled=eur(40_000), on=D(2026, 9, 2))


def test_settlement_above_advances_plans_the_final_payment(session: Session) -> None:
    grant = make_fund_grant(session)
    plan = service.plan_instalments(session, grant.id, rules.advance_and_rest(
        eur(100_000), advance_on=D(2020, 3, 1), rest_on=D(2021, 7, 1)))
    service.receive_instalment(session, plan[0].id, received_on=D(2020, 3, 3))
    out = service.settle(session, grant.id, settled=eur(90_000), on=D(2021, 9, 1))
    assert out.claim is None and out.final_instalment is not None
    assert out.final_instalment.amount_minor == 1_500_000
    service.receive_instalment(session, out.final_instalment.id, received_on=D(2021, 9, 20))
    pos = service.position(session, grant.id)
    assert (pos.money.received, pos.money.to_receive, pos.money.to_repay) == (eur(90_000), eur(0), eur(0))
    service.close(session, grant.id, on=D(2021, 9, 21))


def test_multi_year_lottery_contribution_plans_one_schedule_per_year(session: Session) -> None:
    funder = service.create_funder(session, name="Nationale Postcode Loterij", kind="lottery", code="NPL",
                                   iban="NL02ABNA0123456789")
    grant = service.create_application(session, service.GrantApplication(
        funder_id=funder.id, reference="NPL-REG-2020", title="Regular contribution 2020-2024",
        requested=eur(40_000_000), applied_on=D(2019, 6, 1)))
    service.award(session, grant.id, service.Award(awarded=eur(40_000_000), decided_on=D(2019, 12, 1),
                                                   restricted=False, period_start=D(2020, 1, 1),
                                                   period_end=D(2024, 12, 31)))
    assert grant.fund_id is None and grant.category == "lottery"
    rows = service.plan_instalments(session, grant.id, rules.yearly_schedules(
        eur(8_000_000), first_year=2020, years=5, pattern=((3, 15, 1),)))
    assert [(r.schedule_year, r.due_on.year, r.amount_minor) for r in rows] == [
        (y, y, 800_000_000) for y in range(2020, 2025)]
    expected = expected_instalments(session, D(2021, 1, 1))
    mine = [e for e in expected if e.grant_id == grant.id]
    assert [e.due_on for e in mine] == [D(y, 3, 15) for y in range(2021, 2025)]
    assert mine[0].funder_name == "Nationale Postcode Loterij" and mine[0].iban == "NL02ABNA0123456789"
    assert mine[0].amount == eur(8_000_000) and mine[0].reference == "NPL-REG-2020"


def test_reports_submit_and_accept(session: Session) -> None:
    grant = make_fund_grant(session)
    report = service.add_report(session, grant.id, kind="final", due_on=D(2021, 6, 1))
    with pytest.raises(InvalidState):
        service.accept_report(session, report.id, on=D(2021, 6, 2))
    service.submit_report(session, report.id, on=D(2021, 5, 20))
    service.accept_report(session, report.id, on=D(2021, 6, 10))
    assert report.status == "accepted"
    with pytest.raises(ValidationError):
        service.add_report(session, grant.id, kind="poem", due_on=D(2021, 6, 1))
