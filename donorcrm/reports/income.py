"""Income breakdown (domain rules §6): annual-accounts lines by year, individuals split, by fund and
campaign, and the gifts behind any cell, a page at a time.

Totals come from `income_month` (kept by the gift services), so a year of any size is a few hundred
summary rows; the drill-down reads the ledger through its (received_on, category) index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from donorcrm.campaigns.models import Campaign, Fund
from donorcrm.config import get_settings
from donorcrm.donors.models import Donor
from donorcrm.gifts.categories import ACCOUNTS_LINES, CATEGORY_LABELS, IncomeCategory, accounts_line
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import IncomeDay, IncomeMonth

# The admin's breakdown: the six lines of §6, with the first split in four.
BREAKDOWN_ORDER: tuple[IncomeCategory, ...] = tuple(IncomeCategory)


@dataclass(frozen=True)
class IncomeCell:
    year: int
    category: str
    label: str
    dutch: str
    line: str  # accounts line key
    line_label: str
    amount_minor: int
    gifts: int
    reversals: int


@dataclass(frozen=True)
class Filter:
    """What a breakdown is restricted to; None means everything."""

    first_year: int | None = None
    last_year: int | None = None
    months: tuple[int, int] = (1, 12)  # inclusive month range within each year (year-to-date views)
    fund_id: int | None = None  # 0 = no fund
    campaign_id: int | None = None  # 0 = no campaign
    currency: str | None = None


def _where(stmt, f: Filter):  # type: ignore[no-untyped-def]
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    stmt = stmt.where(im.c.currency == (f.currency or get_settings().currency))
    if f.first_year is not None:
        stmt = stmt.where(im.c.year >= f.first_year)
    if f.last_year is not None:
        stmt = stmt.where(im.c.year <= f.last_year)
    if f.months != (1, 12):
        stmt = stmt.where(im.c.month >= f.months[0], im.c.month <= f.months[1])
    if f.fund_id is not None:
        stmt = stmt.where(im.c.fund_id == f.fund_id)
    if f.campaign_id is not None:
        stmt = stmt.where(im.c.campaign_id == f.campaign_id)
    return stmt


def by_category(session: Session, f: Filter = Filter()) -> list[IncomeCell]:
    """Net income per year and category (individuals split into one-off, recurring, bequest, crowdfunding)."""
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    stmt = _where(select(im.c.year, im.c.category, func.sum(im.c.amount_minor), func.sum(im.c.gifts),
                         func.sum(im.c.reversals)), f).group_by(im.c.year, im.c.category)
    order = {c: i for i, c in enumerate(BREAKDOWN_ORDER)}
    cells = []
    for year, cat, amount, gifts, reversals in session.execute(stmt):
        line = accounts_line(cat)
        english, dutch = CATEGORY_LABELS[IncomeCategory(cat)]
        cells.append(IncomeCell(int(year), cat, english, dutch, line.key, line.english, int(amount), int(gifts),
                                int(reversals)))
    return sorted(cells, key=lambda c: (c.year, order[IncomeCategory(c.category)]))


@dataclass(frozen=True)
class AccountsRow:
    year: int
    order: int
    key: str
    english: str
    dutch: str
    amount_minor: int


def accounts_statement(session: Session, year: int, f: Filter = Filter()) -> list[AccountsRow]:
    """The six "geworven baten" lines for one year in RJ 650 order, zero lines included, then the total."""
    f = Filter(year, year, f.months, f.fund_id, f.campaign_id, f.currency)
    per_line: dict[str, int] = {}
    for cell in by_category(session, f):
        per_line[cell.line] = per_line.get(cell.line, 0) + cell.amount_minor
    rows = [AccountsRow(year, line.order, line.key, line.english, line.dutch, per_line.get(line.key, 0))
            for line in ACCOUNTS_LINES]
    rows.append(AccountsRow(year, 7, "total", "Total raised income", "Som van de geworven baten",
                            sum(r.amount_minor for r in rows)))
    return rows


@dataclass(frozen=True)
class DimensionCell:
    year: int
    id: int  # 0 = none
    code: str
    name: str
    amount_minor: int
    gifts: int


def by_fund(session: Session, f: Filter = Filter()) -> list[DimensionCell]:
    return _by_dimension(session, f, "fund_id", Fund)


def by_campaign(session: Session, f: Filter = Filter()) -> list[DimensionCell]:
    return _by_dimension(session, f, "campaign_id", Campaign)


def _by_dimension(session: Session, f: Filter, column: str, model: type) -> list[DimensionCell]:
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    col = getattr(im.c, column)
    stmt = _where(select(im.c.year, col, func.sum(im.c.amount_minor), func.sum(im.c.gifts)), f) \
        .group_by(im.c.year, col)
    rows = session.execute(stmt).all()
    ids = {int(r[1]) for r in rows if r[1]}
    names: dict[int, tuple[str, str]] = {}
    if ids:
        for i, code, name in session.execute(select(model.id, model.code, model.name).where(model.id.in_(ids))):  # type: ignore[attr-defined]
            names[int(i)] = (code, name)
    out = [DimensionCell(int(y), int(i), *names.get(int(i), ("", "(none)" if not i else f"#{i}")), int(a), int(n))
           for y, i, a, n in rows]
    return sorted(out, key=lambda c: (c.year, -c.amount_minor, c.id))


def years_with_income(session: Session, currency: str | None = None) -> list[int]:
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    stmt = select(im.c.year).where(im.c.currency == (currency or get_settings().currency)).distinct() \
        .order_by(im.c.year)
    return [int(y) for y in session.execute(stmt).scalars()]


# --- Drill-down -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GiftLine:
    id: int
    received_on: dt.date
    donor_id: int | None
    donor_name: str
    entry_type: str
    amount_minor: int
    currency: str
    category: str
    channel: str
    fund_id: int | None
    campaign_id: int | None
    source: str
    external_ref: str | None


@dataclass(frozen=True)
class GiftPage:
    rows: list[GiftLine]
    total_rows: int  # from the summary, not a COUNT over the ledger
    total_minor: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_rows // self.page_size))


def gifts_behind(session: Session, *, year: int, category: str | None = None, fund_id: int | None = None,
                 campaign_id: int | None = None, months: tuple[int, int] = (1, 12), currency: str | None = None,
                 page: int = 0, page_size: int = 50) -> GiftPage:
    """The ledger rows (gifts and reversals) that make up one cell of the breakdown, one page at a time."""
    currency = currency or get_settings().currency
    f = Filter(year, year, months, fund_id, campaign_id, currency)
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    totals = _where(select(func.coalesce(func.sum(im.c.gifts + im.c.reversals), 0),
                           func.coalesce(func.sum(im.c.amount_minor), 0)), f)
    if category is not None:
        totals = totals.where(im.c.category == category)
    total_rows, total_minor = session.execute(totals).one()
    start = dt.date(year, months[0], 1)
    end = dt.date(year + 1, 1, 1) if months[1] == 12 else dt.date(year, months[1] + 1, 1)
    stmt = (
        select(Gift, Donor.first_name, Donor.name_infix, Donor.last_name, Donor.organisation_name)
        .outerjoin(Donor, Donor.id == Gift.donor_id)  # type: ignore[arg-type]
        .where(Gift.received_on >= start, Gift.received_on < end, Gift.currency == currency)
    )
    if category is not None:
        stmt = stmt.where(Gift.category == category)
    if fund_id is not None:
        stmt = stmt.where(Gift.fund_id == fund_id if fund_id else Gift.fund_id.is_(None))  # type: ignore[union-attr]
    if campaign_id is not None:
        stmt = stmt.where(Gift.campaign_id == campaign_id if campaign_id else Gift.campaign_id.is_(None))  # type: ignore[union-attr]
    stmt = stmt.order_by(Gift.received_on, Gift.id).limit(page_size).offset(page * page_size)
    rows = []
    for g, first, infix, last, org in session.execute(stmt):
        name = org or " ".join(p for p in (first, infix, last) if p) or ("anonymous" if g.donor_id is None else "")
        rows.append(GiftLine(g.id, g.received_on, g.donor_id, name, g.entry_type, g.amount_minor, g.currency,
                             g.category, g.channel, g.fund_id, g.campaign_id, g.source, g.external_ref))
    return GiftPage(rows, int(total_rows), int(total_minor), page, page_size)


# --- Year to date -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class YearToDate:
    today: dt.date
    this_year_minor: int
    last_year_minor: int  # same period last year

    @property
    def change(self) -> float | None:
        return (self.this_year_minor - self.last_year_minor) / self.last_year_minor if self.last_year_minor else None


def _period_total(session: Session, start: dt.date, until: dt.date, currency: str) -> int:
    """Net income from `start` to `until` inclusive, from the daily summary."""
    idy = IncomeDay.__table__  # type: ignore[attr-defined]
    return int(session.execute(
        select(func.coalesce(func.sum(idy.c.amount_minor), 0))
        .where(idy.c.day >= start, idy.c.day <= until, idy.c.currency == currency)
    ).scalar_one())


def year_to_date(session: Session, today: dt.date | None = None, currency: str | None = None) -> YearToDate:
    today = today or dt.date.today()
    currency = currency or get_settings().currency
    try:
        same_day_last_year = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        same_day_last_year = today.replace(year=today.year - 1, day=28)
    return YearToDate(today, _period_total(session, dt.date(today.year, 1, 1), today, currency),
                      _period_total(session, dt.date(today.year - 1, 1, 1), same_day_last_year, currency))
