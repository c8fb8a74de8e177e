"""Campaign results aggregated in SQL: raised, matched, cost, net, ratios, donors acquired and kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, select
from sqlmodel import Session

from donorcrm.campaigns.models import Campaign, CampaignCost, MatchAllocation, MatchPool, SourceCode
from donorcrm.campaigns.rules import percent, roi
from donorcrm.campaigns.service import MATCH_SOURCE
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import GrowthYear, IncomeMonth
from donorcrm.reports import metrics as m


@dataclass(frozen=True)
class CampaignResult:
    code: str
    name: str
    kind: str
    parent_code: str | None
    raised_minor: int
    matched_minor: int
    cost_minor: int
    gifts: int
    gross_minor: int
    new_donors: int
    new_donors_retained: int
    goal_minor: int | None = None

    @property
    def net_minor(self) -> int:
        return self.raised_minor + self.matched_minor - self.cost_minor

    @property
    def cost_ratio(self) -> float | None:
        return percent(self.cost_minor, self.raised_minor + self.matched_minor)

    @property
    def roi(self) -> float | None:
        return roi(self.raised_minor + self.matched_minor, self.cost_minor)

    @property
    def average_gift_minor(self) -> int | None:
        return self.gross_minor // self.gifts if self.gifts else None

    @property
    def acquired_retention(self) -> float | None:
        return percent(self.new_donors_retained, self.new_donors)


def _year_bounds(year: int | None) -> tuple[dt.date, dt.date] | None:
    return (dt.date(year, 1, 1), dt.date(year + 1, 1, 1)) if year else None


def _in_year(column, year: int | None):  # type: ignore[no-untyped-def]
    bounds = _year_bounds(year)
    return and_(column >= bounds[0], column < bounds[1]) if bounds else True


def campaign_results(session: Session, year: int | None = None, roll_up: bool = True) -> list[CampaignResult]:
    """Every campaign's figures for a year (or all years), read from the ledger summaries.

    A campaign acquired a donor when the donor's first gift (in the currency) was to it; matching funds
    acquire nobody. Kept: the donor gave again in the next calendar year.
    """
    campaigns = session.execute(select(Campaign).order_by(Campaign.code)).scalars().all()
    by_id = {c.id: c for c in campaigns}

    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    money = {int(cid): [int(net), int(n), int(gross)] for cid, net, n, gross in session.execute(
        select(im.c.campaign_id, func.sum(im.c.amount_minor), func.sum(im.c.gifts), func.sum(im.c.gross_minor))
        .where(im.c.campaign_id != 0, im.c.year == year if year else True).group_by(im.c.campaign_id))}
    # Matching funds are booked as gifts to the campaign but reported as matched, not as raised.
    for cid, net, n, gross in session.execute(
            select(Gift.campaign_id, func.sum(Gift.amount_minor), func.count().filter(Gift.entry_type == EntryType.GIFT),
                   func.coalesce(func.sum(Gift.amount_minor).filter(Gift.entry_type == EntryType.GIFT), 0))
            .where(Gift.source == MATCH_SOURCE, Gift.campaign_id.is_not(None),  # type: ignore[union-attr]
                   _in_year(Gift.received_on, year))
            .group_by(Gift.campaign_id)):
        row = money.setdefault(int(cid), [0, 0, 0])
        row[0] -= int(net)
        row[1] -= int(n)
        row[2] -= int(gross)
    # Allocations drive (a correlated check per allocation), not the year's gifts.
    matched_gift = select(Gift.id).where(Gift.id == MatchAllocation.gift_id, _in_year(Gift.received_on, year))
    matched = dict(session.execute(
        select(MatchPool.campaign_id, func.sum(MatchAllocation.amount_minor))
        .join(MatchPool, MatchPool.id == MatchAllocation.pool_id)
        .where(matched_gift.exists()).group_by(MatchPool.campaign_id)).all())
    cost_lines = dict(session.execute(
        select(CampaignCost.campaign_id, func.sum(CampaignCost.amount_minor))
        .where(_in_year(CampaignCost.incurred_on, year)).group_by(CampaignCost.campaign_id)).all())
    code_costs = dict(session.execute(
        select(SourceCode.campaign_id, func.sum(SourceCode.cost_minor)).group_by(SourceCode.campaign_id)).all())

    gy = GrowthYear.__table__  # type: ignore[attr-defined]
    acquired: dict[int, list[int]] = {}
    for cid, metric, n in session.execute(
            select(gy.c.part, gy.c.metric, func.sum(gy.c.value))
            .where(gy.c.metric.in_([m.NEW_BY_CAMPAIGN, m.NEW_BY_CAMPAIGN_KEPT]), gy.c.part != 0,
                   gy.c.year == year if year else True)
            .group_by(gy.c.part, gy.c.metric)):
        acquired.setdefault(int(cid), [0, 0])[0 if metric == m.NEW_BY_CAMPAIGN else 1] = int(n)

    def fixed_cost(c: Campaign) -> int:
        if year is None or c.starts_on is None or c.starts_on.year == year:
            return c.cost_minor + int(code_costs.get(c.id, 0) or 0)
        return 0

    own = {}
    for c in campaigns:
        net, n, gross = money.get(c.id, (0, 0, 0))  # type: ignore[arg-type]
        new, kept = acquired.get(c.id, (0, 0))  # type: ignore[arg-type]
        own[c.id] = CampaignResult(
            c.code, c.name, c.kind, by_id[c.parent_id].code if c.parent_id in by_id else None, net,
            int(matched.get(c.id, 0) or 0), fixed_cost(c) + int(cost_lines.get(c.id, 0) or 0), n, gross, new, kept,
            c.goal_minor)
    if not roll_up:
        return list(own.values())
    out = []
    for c in campaigns:
        r = own[c.id]
        for child in (x for x in campaigns if x.parent_id == c.id):
            k = own[child.id]
            r = replace(r, raised_minor=r.raised_minor + k.raised_minor, matched_minor=r.matched_minor + k.matched_minor,
                        cost_minor=r.cost_minor + k.cost_minor, gifts=r.gifts + k.gifts,
                        gross_minor=r.gross_minor + k.gross_minor, new_donors=r.new_donors + k.new_donors,
                        new_donors_retained=r.new_donors_retained + k.new_donors_retained)
        out.append(r)
    return out


@dataclass(frozen=True)
class CostRatio:
    year: int
    fundraising_cost_minor: int
    raised_income_minor: int

    @property
    def ratio(self) -> float | None:
        """Cost of fundraising as a percentage of total raised income (domain rules §7)."""
        return percent(self.fundraising_cost_minor, self.raised_income_minor)


def fundraising_cost_ratio(session: Session, year: int) -> CostRatio:
    results = campaign_results(session, year, roll_up=False)
    cost = sum(r.cost_minor for r in results)
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    income = session.execute(select(func.coalesce(func.sum(im.c.amount_minor), 0))
                             .where(im.c.year == year)).scalar_one()
    return CostRatio(year, cost, int(income))


def campaign_timeline(session: Session, code: str) -> list[tuple[dt.date, int]]:
    """Net raised per day for a campaign and its children (for a chart over time)."""
    campaign = session.execute(select(Campaign).where(Campaign.code == code)).scalars().one()
    ids = [campaign.id, *session.execute(select(Campaign.id).where(Campaign.parent_id == campaign.id)).scalars()]
    rows = session.execute(
        select(Gift.received_on, func.sum(Gift.amount_minor))
        .where(Gift.campaign_id.in_(ids), Gift.source != MATCH_SOURCE)  # type: ignore[union-attr]
        .group_by(Gift.received_on).order_by(Gift.received_on)).all()
    return [(d, int(v)) for d, v in rows]
