"""Campaign use cases: campaigns and source codes, costs, crowdfunding and peer-to-peer pages,
match pools that react to gifts as they are booked, and petition/e-mail action participants."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, insert, select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import (
    Campaign,
    CampaignCost,
    CampaignKind,
    FundraisingPage,
    MatchAllocation,
    MatchPool,
    PageCredit,
    PageKind,
    PageStatus,
    PoolStatus,
    SourceCode,
)
from donorcrm.campaigns.rules import GiftFacts, PoolTerms, match_amount, parse_channels
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorStatus
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts import service as gifts
from donorcrm.gifts.categories import EntryType, IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import has_reversal
from donorcrm.gifts.summary import MATCHING_FUNDS_SOURCE
from donorcrm.money import Money

MATCH_SOURCE = MATCHING_FUNDS_SOURCE  # matching funds are booked as the funder's gifts under this source


# --- campaigns, source codes, costs ------------------------------------------------------------

def create_campaign(session: Session, code: str, name: str, kind: CampaignKind | str = CampaignKind.APPEAL, *,
                    parent_code: str | None = None, starts_on: dt.date | None = None,
                    ends_on: dt.date | None = None, goal: Money | None = None, budget: Money | None = None,
                    public_slug: str | None = None, description: str = "") -> Campaign:
    code = code.strip()
    if not code:
        raise ValidationError("a campaign needs a code")
    if session.execute(select(Campaign.id).where(Campaign.code == code)).first():
        raise InvalidState(f"campaign {code} exists already")
    parent_id = get_campaign(session, parent_code).id if parent_code else None
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError("a campaign cannot end before it starts")
    campaign = Campaign(code=code, name=name, kind=CampaignKind(kind), parent_id=parent_id, starts_on=starts_on,
                        ends_on=ends_on, goal_minor=goal.minor if goal else None,
                        budget_minor=budget.minor if budget else None, public_slug=public_slug,
                        description=description)
    session.add(campaign)
    session.flush()
    audit.record(session, "campaign.create", "campaign", campaign.id, after={"code": code, "kind": str(kind)})
    return campaign


def get_campaign(session: Session, code: str) -> Campaign:
    campaign = session.execute(select(Campaign).where(Campaign.code == code)).scalars().first()
    if campaign is None:
        raise NotFound(f"no campaign {code!r}")
    return campaign


def add_source_code(session: Session, campaign_code: str, code: str, description: str = "",
                    cost: Money | None = None) -> SourceCode:
    campaign = get_campaign(session, campaign_code)
    if session.execute(select(SourceCode.id).where(SourceCode.code == code)).first():
        raise InvalidState(f"source code {code} exists already")
    row = SourceCode(code=code, campaign_id=campaign.id, description=description,  # type: ignore[arg-type]
                     cost_minor=cost.minor if cost else 0)
    session.add(row)
    session.flush()
    return row


def campaign_for_source_code(session: Session, code: str | None) -> int | None:
    """The campaign a source code on a reply form or link belongs to."""
    if not code:
        return None
    return session.execute(select(SourceCode.campaign_id).where(SourceCode.code == code)).scalar()


def add_cost(session: Session, campaign_code: str, amount: Money, on: dt.date, description: str = "") -> CampaignCost:
    if not amount.is_positive:
        raise ValidationError("a cost must be positive")
    campaign = get_campaign(session, campaign_code)
    cost = CampaignCost(campaign_id=campaign.id, incurred_on=on, amount_minor=amount.minor,  # type: ignore[arg-type]
                        currency=amount.currency, description=description)
    session.add(cost)
    session.flush()
    audit.record(session, "campaign.cost", "campaign", campaign.id,
                 after={"amount": str(amount), "on": on, "description": description})
    return cost


# --- pages ----------------------------------------------------------------------------------------

def create_page(session: Session, campaign_code: str, slug: str, title: str, *,
                kind: PageKind | str = PageKind.PERSONAL, owner_donor_id: int | None = None,
                team_slug: str | None = None, goal: Money | None = None, story: str = "") -> FundraisingPage:
    """A supporter's page starts pending until staff approve it; the campaign's own page is approved."""
    campaign = get_campaign(session, campaign_code)
    kind = PageKind(kind)
    if kind == PageKind.PERSONAL and owner_donor_id is None:
        raise ValidationError("a personal page needs an owner")
    if session.execute(select(FundraisingPage.id).where(FundraisingPage.slug == slug)).first():
        raise InvalidState(f"page {slug} exists already")
    team_id = None
    if team_slug:
        team = get_page(session, team_slug)
        if team.kind != PageKind.TEAM or team.campaign_id != campaign.id:
            raise ValidationError(f"{team_slug} is not a team page of {campaign_code}")
        team_id = team.id
    page = FundraisingPage(
        campaign_id=campaign.id, slug=slug, title=title, story=story, kind=kind,  # type: ignore[arg-type]
        owner_donor_id=owner_donor_id, team_page_id=team_id, goal_minor=goal.minor if goal else None,
        status=PageStatus.APPROVED if kind == PageKind.CAMPAIGN else PageStatus.PENDING,
    )
    session.add(page)
    session.flush()
    audit.record(session, "page.create", "fundraising_page", page.id, after={"slug": slug, "kind": str(kind)})
    return page


def get_page(session: Session, slug: str) -> FundraisingPage:
    page = session.execute(select(FundraisingPage).where(FundraisingPage.slug == slug)).scalars().first()
    if page is None:
        raise NotFound(f"no page {slug!r}")
    return page


def review_page(session: Session, slug: str, approve: bool) -> FundraisingPage:
    page = get_page(session, slug)
    if page.status != PageStatus.PENDING:
        raise InvalidState(f"page {slug} is {page.status}, not pending")
    page.status = PageStatus.APPROVED if approve else PageStatus.REJECTED
    page.reviewed_by, page.reviewed_at = audit.current_actor(), utcnow()
    session.add(page)
    session.flush()
    audit.record(session, "page.review", "fundraising_page", page.id, after={"status": page.status})
    return page


def credit_page(session: Session, gift_id: int, slug: str, *, anonymous: bool = False,
                display_name: str | None = None, message: str | None = None) -> PageCredit:
    """Credit a gift to a page: money stays the giver's, the soft credit goes to the page's owner."""
    page = get_page(session, slug)
    if page.status != PageStatus.APPROVED:
        raise InvalidState(f"page {slug} is {page.status}; only approved pages take gifts")
    gift = session.get(Gift, gift_id)
    if gift is None or gift.entry_type != EntryType.GIFT:
        raise NotFound(f"no gift {gift_id}")
    if gift.campaign_id != page.campaign_id:
        raise ValidationError(f"gift {gift_id} is not a gift to the page's campaign")
    existing = session.execute(select(PageCredit).where(PageCredit.gift_id == gift_id)).scalars().first()
    if existing is not None:
        if existing.page_id != page.id:
            raise InvalidState(f"gift {gift_id} is credited to another page")
        return existing
    credit = PageCredit(gift_id=gift_id, page_id=page.id, soft_credit_donor_id=page.owner_donor_id,  # type: ignore[arg-type]
                        anonymous=anonymous, display_name=display_name, message=message)
    session.add(credit)
    session.flush()
    return credit


# --- match pools ----------------------------------------------------------------------------------

def create_match_pool(session: Session, campaign_code: str, funder_donor_id: int, name: str, *, cap_total: Money,
                      starts_on: dt.date, ends_on: dt.date, ratio: tuple[int, int] = (1, 1),
                      cap_per_gift: Money | None = None, eligible_channels: list[str] | None = None,
                      category: IncomeCategory | str = IncomeCategory.COMPANY) -> MatchPool:
    campaign = get_campaign(session, campaign_code)
    num, den = ratio
    if num <= 0 or den <= 0:
        raise ValidationError("a match ratio needs two positive numbers")
    if not cap_total.is_positive:
        raise ValidationError("a match pool needs a positive total cap")
    channels = [PaymentChannel(c).value for c in (eligible_channels or [])]
    pool = MatchPool(
        campaign_id=campaign.id, funder_donor_id=funder_donor_id, name=name,  # type: ignore[arg-type]
        ratio_numerator=num, ratio_denominator=den, cap_total_minor=cap_total.minor,
        cap_per_gift_minor=cap_per_gift.minor if cap_per_gift else None, currency=cap_total.currency,
        starts_on=starts_on, ends_on=ends_on, eligible_channels=",".join(channels),
        category=IncomeCategory(category),
    )
    session.add(pool)
    session.flush()
    audit.record(session, "match_pool.create", "match_pool", pool.id,
                 after={"campaign": campaign_code, "cap": str(cap_total), "ratio": f"{num}:{den}"})
    sync_pool(session, pool.id)  # type: ignore[arg-type]
    return pool


def _terms(pool: MatchPool) -> PoolTerms:
    return PoolTerms(pool.ratio_numerator, pool.ratio_denominator, pool.cap_per_gift_minor, pool.cap_total_minor,
                     pool.starts_on, pool.ends_on, parse_channels(pool.eligible_channels), pool.currency)


def matched_minor(session: Session, pool_id: int) -> int:
    """Net amount matched so far: matches minus releases."""
    return int(session.execute(select(func.coalesce(func.sum(MatchAllocation.amount_minor), 0))
                               .where(MatchAllocation.pool_id == pool_id)).scalar_one())


def _match_one(session: Session, pool: MatchPool, gift: Gift) -> MatchAllocation | None:
    if gift.source == MATCH_SOURCE or gift.donor_id == pool.funder_donor_id or gift.entry_type != EntryType.GIFT:
        return None
    done = session.execute(select(MatchAllocation.id).where(
        MatchAllocation.pool_id == pool.id, MatchAllocation.gift_id == gift.id, MatchAllocation.kind == "match")).first()
    if done is not None:
        return None
    facts = GiftFacts(gift.amount_minor, gift.currency, gift.channel, gift.received_on,
                      gifts.is_reversed(session, gift.id))  # type: ignore[arg-type]
    amount = match_amount(_terms(pool), facts, matched_minor(session, pool.id))  # type: ignore[arg-type]
    if amount <= 0:
        return None
    row = MatchAllocation(pool_id=pool.id, gift_id=gift.id, kind="match", amount_minor=amount)  # type: ignore[arg-type]
    session.add(row)
    session.flush()
    return row


def _open_pools_for(session: Session, campaign_id: int | None) -> list[MatchPool]:
    if campaign_id is None:
        return []
    parent = session.execute(select(Campaign.parent_id).where(Campaign.id == campaign_id)).scalar()
    ids = [campaign_id] + ([parent] if parent else [])
    return list(session.execute(select(MatchPool).where(MatchPool.campaign_id.in_(ids),  # type: ignore[attr-defined]
                                                        MatchPool.status == PoolStatus.OPEN)
                                .order_by(MatchPool.id)).scalars())


def on_gift_recorded(session: Session, gift: Gift) -> None:
    for pool in _open_pools_for(session, gift.campaign_id):
        _match_one(session, pool, gift)


def on_gift_reversed(session: Session, reversal: Gift) -> None:
    """A reversed gift gives its match back to the pool, once."""
    if reversal.reverses_gift_id is None:
        return
    for alloc in session.execute(select(MatchAllocation).where(
            MatchAllocation.gift_id == reversal.reverses_gift_id, MatchAllocation.kind == "match")).scalars().all():
        released = session.execute(select(MatchAllocation.id).where(
            MatchAllocation.pool_id == alloc.pool_id, MatchAllocation.gift_id == alloc.gift_id,
            MatchAllocation.kind == "release")).first()
        if released is None:
            session.add(MatchAllocation(pool_id=alloc.pool_id, gift_id=alloc.gift_id, kind="release",
                                        amount_minor=-alloc.amount_minor))
    session.flush()


def sync_pool(session: Session, pool_id: int) -> int:
    """Catch up on gifts booked in bulk (or before the pool existed), in booking order. Idempotent.

    Reads the candidates once and decides in memory with the same pure rule as the per-gift hook, so a
    pool over thousands of crowdfunding gifts costs a few queries, not a few per gift.
    """
    pool = session.get(MatchPool, pool_id)
    if pool is None or pool.status != PoolStatus.OPEN:
        return 0
    child_ids = list(session.execute(select(Campaign.id).where(Campaign.parent_id == pool.campaign_id)).scalars())
    already = exists().where(MatchAllocation.pool_id == pool_id, MatchAllocation.gift_id == Gift.id)
    candidates = session.execute(
        select(Gift.id, Gift.amount_minor, Gift.currency, Gift.channel, Gift.received_on, has_reversal())
        .where(Gift.campaign_id.in_([pool.campaign_id, *child_ids]),  # type: ignore[union-attr]
               Gift.entry_type == EntryType.GIFT, Gift.source != MATCH_SOURCE,
               (Gift.donor_id.is_(None)) | (Gift.donor_id != pool.funder_donor_id),  # type: ignore[union-attr]
               Gift.received_on >= pool.starts_on, Gift.received_on <= pool.ends_on,
               ~already)
        .order_by(Gift.id)
    ).all()
    terms = _terms(pool)
    matched = matched_minor(session, pool_id)
    rows = []
    for gift_id, minor, currency, channel, received_on, is_reversed in candidates:
        amount = match_amount(terms, GiftFacts(minor, currency, channel, received_on, bool(is_reversed)), matched)
        if amount > 0:
            rows.append({"pool_id": pool_id, "gift_id": gift_id, "kind": "match", "amount_minor": amount,
                         "created_at": utcnow()})
            matched += amount
        if matched >= pool.cap_total_minor:
            break
    if rows:
        session.execute(insert(MatchAllocation), rows)
        session.flush()
    return len(rows)


def sync_open_pools(session: Session) -> None:
    for pool_id in session.execute(select(MatchPool.id).where(MatchPool.status == PoolStatus.OPEN)).scalars().all():
        sync_pool(session, pool_id)


def settle_pool(session: Session, pool_id: int, on: dt.date) -> Gift | None:
    """Close the pool and book the funder's matching gift for what was matched (net of releases)."""
    pool = session.get(MatchPool, pool_id)
    if pool is None:
        raise NotFound(f"no match pool {pool_id}")
    if pool.status == PoolStatus.SETTLED:
        return session.get(Gift, pool.settled_gift_id) if pool.settled_gift_id else None
    amount = matched_minor(session, pool_id)
    gift = None
    if amount > 0:
        gift = gifts.record_gift(session, donor_id=pool.funder_donor_id, amount=Money(amount, pool.currency),
                                 received_on=on, channel=PaymentChannel.BANK_TRANSFER, category=pool.category,
                                 source=MATCH_SOURCE, external_ref=f"pool-{pool_id}", campaign_id=pool.campaign_id,
                                 note=f"match pool {pool.name}")
        pool.settled_gift_id = gift.id
    pool.status = PoolStatus.SETTLED
    session.add(pool)
    session.flush()
    audit.record(session, "match_pool.settle", "match_pool", pool_id, after={"matched": amount, "on": on})
    return gift


def register_hooks() -> None:
    gifts.after_record_hooks.append(on_gift_recorded)
    gifts.after_reverse_hooks.append(on_gift_reversed)
    gifts.after_bulk_hooks.append(sync_open_pools)


# --- thermometer and honour roll --------------------------------------------------------------------

@dataclass(frozen=True)
class Thermometer:
    code: str
    name: str
    goal_minor: int | None
    raised_minor: int  # net of refunds, every channel, without the funders' matching gifts
    matched_minor: int
    gifts: int
    donors: int
    currency: str = "EUR"

    @property
    def total_minor(self) -> int:
        return self.raised_minor + self.matched_minor


def _campaign_ids(session: Session, campaign: Campaign) -> list[int]:
    children = session.execute(select(Campaign.id).where(Campaign.parent_id == campaign.id)).scalars().all()
    return [campaign.id, *children]  # type: ignore[list-item]


def thermometer(session: Session, code: str) -> Thermometer:
    campaign = get_campaign(session, code)
    ids = _campaign_ids(session, campaign)
    raised, n_gifts, n_donors = session.execute(
        select(func.coalesce(func.sum(Gift.amount_minor), 0),
               func.count().filter(Gift.entry_type == EntryType.GIFT),
               func.count(func.distinct(Gift.donor_id)))
        .where(Gift.campaign_id.in_(ids), Gift.source != MATCH_SOURCE)  # type: ignore[union-attr]
    ).one()
    pools = select(MatchPool.id).where(MatchPool.campaign_id.in_(ids))  # type: ignore[attr-defined]
    matched = session.execute(select(func.coalesce(func.sum(MatchAllocation.amount_minor), 0))
                              .where(MatchAllocation.pool_id.in_(pools))).scalar_one()  # type: ignore[attr-defined]
    return Thermometer(campaign.code, campaign.name, campaign.goal_minor, int(raised), int(matched),
                       int(n_gifts), int(n_donors), campaign.currency)


@dataclass(frozen=True)
class PageProgress:
    slug: str
    title: str
    kind: str
    goal_minor: int | None
    raised_minor: int
    gifts: int


def page_progress(session: Session, slug: str) -> PageProgress:
    """Net raised on a page; a team page counts its members' pages too."""
    page = get_page(session, slug)
    page_ids = [page.id]
    if page.kind == PageKind.TEAM:
        page_ids += list(session.execute(select(FundraisingPage.id).where(FundraisingPage.team_page_id == page.id))
                         .scalars())
    original = select(PageCredit.gift_id).where(PageCredit.page_id.in_(page_ids))  # type: ignore[attr-defined]
    raised, n = session.execute(
        select(func.coalesce(func.sum(Gift.amount_minor), 0), func.count().filter(Gift.entry_type == EntryType.GIFT))
        .where((Gift.id.in_(original)) | (Gift.reverses_gift_id.in_(original)))  # type: ignore[union-attr]
    ).one()
    return PageProgress(page.slug, page.title, page.kind, page.goal_minor, int(raised), int(n))


@dataclass(frozen=True)
class HonourEntry:
    name: str
    amount_minor: int
    message: str | None
    received_on: dt.date


def honour_roll(session: Session, code: str, limit: int = 50) -> list[HonourEntry]:
    """Latest credited gifts, not reversed; anonymous and erased givers show no name."""
    campaign = get_campaign(session, code)
    ids = _campaign_ids(session, campaign)
    rows = session.execute(
        select(Gift, PageCredit, Donor)
        .join(PageCredit, PageCredit.gift_id == Gift.id)
        .outerjoin(Donor, Donor.id == Gift.donor_id)
        .where(Gift.campaign_id.in_(ids), ~has_reversal())  # type: ignore[union-attr]
        .order_by(Gift.received_on.desc(), Gift.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    ).all()
    out = []
    for gift, credit, donor in rows:
        hidden = credit.anonymous or donor is None or donor.status == DonorStatus.ERASED
        name = "Anonymous" if hidden else (credit.display_name or donor.first_name or donor.display_name)
        out.append(HonourEntry(name, gift.amount_minor,
                               credit.message, gift.received_on))
    return out




def list_pages(session: Session, code: str) -> list[FundraisingPage]:
    campaign = get_campaign(session, code)
    return list(session.execute(select(FundraisingPage).where(FundraisingPage.campaign_id == campaign.id)
                                .order_by(FundraisingPage.id)).scalars())


@dataclass(frozen=True)
class PoolView:
    id: int
    name: str
    ratio_numerator: int
    ratio_denominator: int
    cap_total_minor: int
    matched_minor: int
    status: str


def list_pools(session: Session, code: str) -> list[PoolView]:
    campaign = get_campaign(session, code)
    pools = session.execute(select(MatchPool).where(MatchPool.campaign_id == campaign.id)
                            .order_by(MatchPool.id)).scalars().all()
    return [PoolView(p.id, p.name, p.ratio_numerator, p.ratio_denominator, p.cap_total_minor,  # type: ignore[arg-type]
                     matched_minor(session, p.id), p.status) for p in pools]  # type: ignore[arg-type]
