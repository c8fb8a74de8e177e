import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.campaigns import actions, service
from donorcrm.campaigns.models import MatchAllocation
from donorcrm.campaigns.reports import campaign_results, fundraising_cost_ratio
from donorcrm.donors.models import DonorCreate
from donorcrm.donors.service import create_donor, erase_donor, set_consent
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.service import GiftRow, record_gifts_bulk, reverse_gift
from donorcrm.money import Money
from tests import factories as f

DEC = dt.date(2020, 12, 10)


def _setup(session: Session):  # type: ignore[no-untyped-def]
    c = service.create_campaign(session, "XMAS20", "Families together", "crowdfunding",
                                starts_on=dt.date(2020, 12, 1), ends_on=dt.date(2020, 12, 31),
                                goal=Money(50_000_00), public_slug="families-together")
    funder = create_donor(session, DonorCreate(kind="organisation", organisation_name="Fonds Samen"))
    return c, funder


def test_match_pool_matches_each_gift_once_and_releases_on_reversal(session: Session) -> None:
    c, funder = _setup(session)
    pool = service.create_match_pool(session, "XMAS20", funder.id, "Fonds Samen doubles", cap_total=Money(100_00),
                                      cap_per_gift=Money(40_00), starts_on=dt.date(2020, 12, 1),
                                      ends_on=dt.date(2020, 12, 31), eligible_channels=["ideal", "sepa_dd"])
    d = f.donor(session)
    g1 = f.gift(session, d.id, 25_00, on=DEC, channel="ideal", campaign_id=c.id)
    g2 = f.gift(session, d.id, 50_00, on=DEC, channel="ideal", campaign_id=c.id)  # capped at 40
    f.gift(session, d.id, 50_00, on=DEC, channel="cash", campaign_id=c.id)  # not eligible
    f.gift(session, d.id, 10_00, on=dt.date(2021, 1, 2), channel="ideal", campaign_id=c.id)  # too late
    assert service.matched_minor(session, pool.id) == 65_00
    g3 = f.gift(session, d.id, 80_00, on=DEC, channel="sepa_dd", campaign_id=c.id)  # only 35 left
    assert service.matched_minor(session, pool.id) == 100_00
    service.sync_pool(session, pool.id)  # running the catch-up changes nothing
    assert service.matched_minor(session, pool.id) == 100_00

    reverse_gift(session, g2.id, entry_type="refund", on=dt.date(2020, 12, 20))
    reverse_gift(session, g2.id, entry_type="refund", on=dt.date(2020, 12, 21))
    assert service.matched_minor(session, pool.id) == 60_00
    allocations = session.execute(select(MatchAllocation).where(MatchAllocation.pool_id == pool.id)).scalars().all()
    assert sorted((a.gift_id, a.kind, a.amount_minor) for a in allocations) == sorted(
        [(g1.id, "match", 25_00), (g2.id, "match", 40_00), (g3.id, "match", 35_00), (g2.id, "release", -40_00)])

    t = service.thermometer(session, "XMAS20")
    assert t.raised_minor == 25_00 + 50_00 + 50_00 + 10_00 + 80_00 - 50_00
    assert t.matched_minor == 60_00 and t.goal_minor == 50_000_00

    settled = service.settle_pool(session, pool.id, dt.date(2021, 1, 15))
    assert settled is not None and settled.amount_minor == 60_00 and settled.donor_id == funder.id
    assert service.settle_pool(session, pool.id, dt.date(2021, 1, 16)).id == settled.id  # type: ignore[union-attr]
    t2 = service.thermometer(session, "XMAS20")
    assert (t2.raised_minor, t2.matched_minor) == (t.raised_minor, t.matched_minor)  # funder's gift not counted twice
    f.gift(session, d.id, 10_00, on=DEC, channel="ideal", campaign_id=c.id)
    assert service.matched_minor(session, pool.id) == 60_00  # settled pools take no new gifts


def test_bulk_booked_gifts_are_matched_by_the_catch_up(session: Session) -> None:
    c, funder = _setup(session)
    pool = service.create_match_pool(session, "XMAS20", funder.id, "pool", cap_total=Money(1_000_00),
                                      starts_on=dt.date(2020, 12, 1), ends_on=dt.date(2020, 12, 31))
    d = f.donor(session)
    rows = [GiftRow(d.id, 10_00, DEC, "ideal", "individual_crowdfunding", campaign_id=c.id, source="t",
                    external_ref=f"x{i}") for i in range(5)]
    record_gifts_bulk(session, rows)
    assert service.matched_minor(session, pool.id) == 50_00
    record_gifts_bulk(session, rows)
    assert service.matched_minor(session, pool.id) == 50_00


def test_pages_need_approval_and_credit_the_owner(session: Session) -> None:
    c, _ = _setup(session)
    owner, giver = f.donor(session, first_name="Sara"), f.donor(session, first_name="Johan")
    team = service.create_page(session, "XMAS20", "team-utrecht", "Team Utrecht", kind="team", goal=Money(5_000_00))
    page = service.create_page(session, "XMAS20", "sara-runs", "Sara runs", owner_donor_id=owner.id,
                               team_slug="team-utrecht", goal=Money(1_000_00))
    g = f.gift(session, giver.id, 30_00, on=DEC, channel="ideal", campaign_id=c.id)
    with pytest.raises(InvalidState):
        service.credit_page(session, g.id, "sara-runs")
    service.review_page(session, "sara-runs", approve=True)
    service.review_page(session, "team-utrecht", approve=True)
    credit = service.credit_page(session, g.id, "sara-runs", message="Go Sara!")
    assert credit.soft_credit_donor_id == owner.id
    assert service.credit_page(session, g.id, "sara-runs").id == credit.id
    g2 = f.gift(session, giver.id, 20_00, on=DEC, channel="card", campaign_id=c.id)
    service.credit_page(session, g2.id, "sara-runs", anonymous=True)
    assert service.page_progress(session, "sara-runs").raised_minor == 50_00
    assert service.page_progress(session, "team-utrecht").raised_minor == 50_00
    reverse_gift(session, g2.id, entry_type="chargeback", on=dt.date(2020, 12, 12))
    assert service.page_progress(session, "sara-runs").raised_minor == 30_00
    other = service.create_campaign(session, "OTHER", "Other")
    g3 = f.gift(session, giver.id, 5_00, on=DEC, campaign_id=other.id)
    with pytest.raises(ValidationError):
        service.credit_page(session, g3.id, "sara-runs")
    with pytest.raises(ValidationError):
        service.create_page(session, "XMAS20", "nobody", "No owner")
    assert page.team_page_id == team.id


def test_honour_roll_respects_anonymity_erasure_and_reversals(session: Session) -> None:
    c, _ = _setup(session)
    service.create_page(session, "XMAS20", "families-together", "Families together", kind="campaign")
    a, b, e = f.donor(session, first_name="Anna"), f.donor(session, first_name="Bram"), f.donor(session, first_name="Eva")
    ga = f.gift(session, a.id, 10_00, on=DEC, channel="ideal", campaign_id=c.id)
    gb = f.gift(session, b.id, 20_00, on=dt.date(2020, 12, 11), channel="ideal", campaign_id=c.id)
    ge = f.gift(session, e.id, 30_00, on=dt.date(2020, 12, 12), channel="ideal", campaign_id=c.id)
    gr = f.gift(session, a.id, 40_00, on=dt.date(2020, 12, 13), channel="ideal", campaign_id=c.id)
    service.credit_page(session, ga.id, "families-together")
    service.credit_page(session, gb.id, "families-together", anonymous=True)
    service.credit_page(session, ge.id, "families-together")
    service.credit_page(session, gr.id, "families-together")
    reverse_gift(session, gr.id, entry_type="refund", on=dt.date(2020, 12, 14))
    erase_donor(session, e.id)
    roll = service.honour_roll(session, "XMAS20")
    assert [(r.name, r.amount_minor) for r in roll] == [("Anonymous", 30_00), ("Anonymous", 20_00), ("Anna", 10_00)]


def test_petition_import_dedupes_and_feeds_the_funnel(session: Session, tmp_path: Path) -> None:
    service.create_campaign(session, "PET20", "Bring 500 children", "petition", starts_on=dt.date(2020, 3, 1))
    known = f.donor(session, email="Known@Example.org", last_name="Bakker")
    path = tmp_path / "signers.csv"
    path.write_text(
        "email,first_name,last_name,postcode,signed_at,consent_email\n"
        "known@example.org,K,Bakker,,2020-03-02,yes\n"
        "new1@example.org,N,One,1234 AB,2020-03-02,yes\n"
        "new2@example.org,N,Two,1234 AB,2020-03-03,no\n"
        "broken,N,Three,,2020-03-03,yes\n"
        "new3@example.org,N,Four,,2020-03-32,yes\n"
        "new1@example.org,N,One,1234 AB,2020-03-02,yes\n")
    result = actions.import_participants(session, path, "PET20")
    assert (result.participants, result.new_contacts, result.matched_donors) == (3, 2, 1)
    assert result.already_present == 1
    assert sorted(p.where for p in result.problems) == ["line 5", "line 6"]
    again = actions.import_participants(session, path, "PET20")
    assert again.participants == 0 and again.already_present == 4

    new1 = session.execute(select(actions.Donor).where(actions.Donor.email == "new1@example.org")).scalars().one()
    f.gift(session, new1.id, 10_00, on=dt.date(2020, 4, 1))
    f.gift(session, new1.id, 10_00, on=dt.date(2021, 4, 2))
    f.gift(session, known.id, 10_00, on=dt.date(2020, 9, 1))  # later than 90 days
    set_consent(session, known.id, "email", "fundraising", False, at=dt.datetime(2020, 5, 1, tzinfo=dt.UTC))
    fun = actions.funnel(session, "PET20", within_days=90, now=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    assert (fun.signers, fun.new_contacts, fun.contactable, fun.first_gift, fun.still_giving) == (3, 2, 1, 1, 1)
    with pytest.raises(ValidationError):
        service.create_campaign(session, "APP", "Appeal")
        actions.import_participants(session, path, "APP")


def test_campaign_report_and_cost_ratio(session: Session) -> None:
    parent = service.create_campaign(session, "APPEAL20", "Spring appeal", starts_on=dt.date(2020, 3, 1))
    child = service.create_campaign(session, "APPEAL20-POST", "by post", parent_code="APPEAL20",
                                    starts_on=dt.date(2020, 3, 1))
    service.add_source_code(session, "APPEAL20-POST", "P20A", "segment A", cost=Money(100_00))
    service.add_cost(session, "APPEAL20", Money(400_00), dt.date(2020, 3, 1), "print")
    a, b = f.donor(session), f.donor(session)
    f.gift(session, a.id, 300_00, on=dt.date(2020, 3, 10), campaign_id=child.id)  # a's first gift: acquired
    f.gift(session, a.id, 50_00, on=dt.date(2021, 1, 10))  # and retained
    f.gift(session, b.id, 10_00, on=dt.date(2019, 1, 1))  # b was already a donor
    f.gift(session, b.id, 200_00, on=dt.date(2020, 3, 11), campaign_id=parent.id)
    f.gift(session, b.id, 1000_00, on=dt.date(2020, 6, 1), category="lottery")
    rows = {r.code: r for r in campaign_results(session, 2020)}
    p = rows["APPEAL20"]
    assert (p.raised_minor, p.cost_minor, p.gifts, p.new_donors, p.new_donors_retained) == (500_00, 500_00, 2, 1, 1)
    assert p.net_minor == 0 and p.roi == 1.0 and p.cost_ratio == 100.0 and p.average_gift_minor == 250_00
    assert rows["APPEAL20-POST"].raised_minor == 300_00 and rows["APPEAL20-POST"].cost_minor == 100_00
    ratio = fundraising_cost_ratio(session, 2020)
    assert ratio.fundraising_cost_minor == 500_00 and ratio.raised_income_minor == 1500_00
    assert ratio.ratio == 33.3
