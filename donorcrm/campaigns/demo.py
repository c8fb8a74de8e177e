"""Demo data for campaigns: the December crowdfunding with its pages and a match pool, and the petition
whose signers became contacts and, some of them, donors.

Runs after the demo's ledger step, so it works on the gifts the builder booked: it credits crowdfunding
gifts to pages and lets the match pool catch up, and turns the petition's givers and a crowd of new
contacts into participations. It books no money: the pool stays open until its January settlement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from donorcrm.campaigns import service
from donorcrm.campaigns.models import ActionParticipation, Campaign, FundraisingPage, PageKind, PageStatus
from donorcrm.db import session_scope
from donorcrm.demo.bulk import BulkWriter
from donorcrm.demo.identity import PersonFactory
from donorcrm.donors.models import Donor, DonorCreate
from donorcrm.donors.service import create_donor
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.money import Money

PETITION_SIGNERS_2020 = 106_106  # REPORT: "ruim honderdduizend" signers; the petition counted 106,106
PETITION_START = dt.date(2020, 3, 5)
CROWD_SLUG = "gezinshereniging-2020"
TEAMS = ("Team Amsterdam", "Team Utrecht", "Team Rotterdam")


def demo_step(engine: Engine, ctx: Any) -> None:
    crowd = _crowdfunding(engine, ctx)
    signers = _petition(engine, ctx)
    ctx.summary.append(f"Crowdfunding CF2020: {crowd['pages']} pages, {crowd['credits']:,} gifts credited, "
                       f"matched {Money(crowd['matched']).format('nl')} (pool open until settlement)")
    ctx.summary.append(f"Petition PET2020: {signers['participants']:,} signers, {signers['new']:,} new contacts")


def _crowdfunding(engine: Engine, ctx: Any) -> dict[str, int]:
    rng = ctx.rng("campaigns-crowdfunding")
    with session_scope(engine) as s:
        cf = s.get(Campaign, ctx.campaign_ids["CF2020"])
        assert cf is not None
        cf.public_slug = CROWD_SLUG
        cf.description = "Help families who fled war to be together again: every gift pays for travel and fees."
        s.add(cf)
        gifts = s.execute(select(Gift.id, Gift.donor_id).where(Gift.campaign_id == cf.id,
                                                                 Gift.entry_type == EntryType.GIFT)
                          .order_by(Gift.id)).all()
        main_page = service.create_page(s, "CF2020", CROWD_SLUG, cf.name, kind=PageKind.CAMPAIGN,
                                        goal=Money(cf.goal_minor or 0))
        givers = sorted({d for _, d in gifts if d is not None})
        team_pages = []
        for name in TEAMS:
            page = service.create_page(s, "CF2020", f"cf2020-{name.split()[1].lower()}", name, kind=PageKind.TEAM,
                                       goal=Money(max(1, round(ctx.cents(25_000)))))
            service.review_page(s, page.slug, approve=True)
            team_pages.append(page)
        personal = []
        owners = rng.sample(givers, min(len(givers), max(3, round(40 * ctx.scale))))
        for i, owner in enumerate(owners):
            team = team_pages[i % len(team_pages)] if rng.random() < 0.5 else None
            page = service.create_page(s, "CF2020", f"cf2020-p{i + 1}", f"Actie {i + 1} voor gezinshereniging",
                                       owner_donor_id=owner, team_slug=team.slug if team else None,
                                       goal=Money(rng.choice((500_00, 1_000_00, 2_500_00))))
            if i < len(owners) - 2:  # the last two still wait for staff
                service.review_page(s, page.slug, approve=True)
                personal.append(page)
        credit_rows = []
        for gift_id, _giver in gifts:
            page_id, owner = main_page.id, None
            if personal and rng.random() < 0.3:
                chosen = rng.choice(personal)
                page_id, owner = chosen.id, chosen.owner_donor_id
            credit_rows.append((gift_id, page_id, owner, rng.random() < 0.2))
        conn = s.connection()
        w = BulkWriter(conn)
        base = w.max_id("page_credit")
        w.insert("page_credit", ("id", "gift_id", "page_id", "soft_credit_donor_id", "anonymous"),
                 [(base + i + 1, *row) for i, row in enumerate(credit_rows)])
        w.fix_sequences(["page_credit"])
        funder = create_donor(s, DonorCreate(kind="organisation", organisation_name="Stichting Samen Verdubbelen",
                                             country="NL", reference="DEMO-MATCH-FUNDER"))
        pool = service.create_match_pool(
            s, "CF2020", funder.id, "Samen Verdubbelen: elke gift tot € 50 verdubbeld",  # type: ignore[arg-type]
            cap_total=Money(max(100, ctx.cents(100_000))), cap_per_gift=Money(50_00),
            starts_on=dt.date(2020, 12, 1), ends_on=dt.date(2020, 12, 31),
            eligible_channels=["ideal", "card", "sepa_dd", "bank_transfer"])
        matched = service.matched_minor(s, pool.id)  # type: ignore[arg-type]
        pages = s.execute(select(func.count()).select_from(FundraisingPage)
                          .where(FundraisingPage.status == PageStatus.APPROVED)).scalar_one()
    ctx.count("page_credit", len(credit_rows))
    return {"pages": int(pages), "credits": len(credit_rows), "matched": matched}


def _petition(engine: Engine, ctx: Any) -> dict[str, int]:
    """Signers: donors the petition brought in (they gave later), some earlier donors, and new contacts."""
    rng = ctx.rng("campaigns-petition")
    target = max(10, round(PETITION_SIGNERS_2020 * ctx.scale))
    with session_scope(engine) as s:
        pet_id = ctx.campaign_ids["PET2020"]
        converted = s.execute(
            select(Donor.id, func.min(Gift.received_on)).join(Gift, Gift.donor_id == Donor.id)
            .where(Donor.acquisition_campaign_id == pet_id, Gift.entry_type == EntryType.GIFT)
            .group_by(Donor.id).order_by(Donor.id)).all()
        earlier = s.execute(
            select(Gift.donor_id).where(Gift.received_on < PETITION_START, Gift.received_on >= dt.date(2019, 1, 1),
                                        Gift.donor_id.is_not(None))  # type: ignore[union-attr]
            .group_by(Gift.donor_id).order_by(Gift.donor_id)).scalars().all()
        converted_ids = {d for d, _ in converted}
        earlier = [d for d in earlier if d not in converted_ids]
        existing = rng.sample(earlier, min(len(earlier), round(0.15 * target)))
        conn = s.connection()
        w = BulkWriter(conn)
        part_id, donor_id, consent_id = w.max_id("action_participation"), w.max_id("donor"), w.max_id("consent_event")
        parts, donors, consents = [], [], []

        def signed(latest: dt.date, earliest: dt.date = PETITION_START) -> dt.date:
            start = max(earliest, PETITION_START)
            span = max(0, (min(latest, dt.date(2020, 12, 31)) - start).days)
            return start + dt.timedelta(days=rng.randint(0, span))

        for did, first in converted:
            part_id += 1
            day = signed(first - dt.timedelta(days=1), first - dt.timedelta(days=rng.choice((7, 30, 60, 200))))
            parts.append((part_id, pet_id, did, w.timestamp(day), "demo", False))
        for did in existing:
            part_id += 1
            parts.append((part_id, pet_id, did, w.timestamp(signed(dt.date(2020, 6, 30))), "demo", False))
        factory = PersonFactory(rng)
        for _ in range(max(0, target - len(parts))):
            person = factory.person()
            donor_id += 1
            part_id += 1
            day = signed(dt.date(2020, 6, 30))
            ts = w.timestamp(day)
            email = person["email"] or f"ondertekenaar{donor_id}@example.nl"
            donors.append((donor_id, "person", person["salutation"], person["initials"], person["first_name"],
                           person["name_infix"], person["last_name"], None, "nl", None, None, person["postcode"],
                           person["city"], "NL", email, None, None, None, "active", None, pet_id, None, ts, ts))
            parts.append((part_id, pet_id, donor_id, ts, "demo", True))
            if rng.random() < 0.55:
                consent_id += 1
                consents.append((consent_id, donor_id, "email", "fundraising", "granted", ts, "petition PET2020", ts))
        from donorcrm.demo.steps import DONOR_COLUMNS

        w.insert("donor", DONOR_COLUMNS, donors)
        w.insert("action_participation", ("id", "campaign_id", "donor_id", "at", "source", "new_contact"), parts)
        w.insert("consent_event", ("id", "donor_id", "channel", "purpose", "status", "at", "source", "recorded_at"),
                 consents)
        w.fix_sequences(["donor", "action_participation", "consent_event"])
        n = s.execute(select(func.count()).select_from(ActionParticipation)
                      .where(ActionParticipation.campaign_id == pet_id)).scalar_one()
    ctx.count("action_participation", len(parts))
    ctx.count("donor", len(donors))
    return {"participants": int(n), "new": len(donors)}
