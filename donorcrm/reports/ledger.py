"""Income per annual-accounts category and donor counts per year, aggregated in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm.gifts.categories import CATEGORY_LABELS, EntryType, IncomeCategory, accounts_line
from donorcrm.gifts.models import Gift


def _year(column):  # type: ignore[no-untyped-def]
    return func.extract("year", column)


@dataclass(frozen=True)
class CategoryIncome:
    year: int
    category: str
    line: str
    label: str
    amount_minor: int
    currency: str


def income_by_category(session: Session, year: int | None = None, currency: str = "EUR") -> list[CategoryIncome]:
    """Net income (gifts minus reversals, booked in the year they happen) per year and category."""
    y = _year(Gift.received_on).label("y")
    stmt = (
        select(y, Gift.category, func.sum(Gift.amount_minor))
        .where(Gift.currency == currency)
        .group_by(y, Gift.category)
        .order_by(y, Gift.category)
    )
    if year is not None:
        stmt = stmt.where(Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1))
    out = []
    for yr, cat, amount in session.execute(stmt):
        out.append(CategoryIncome(int(yr), cat, accounts_line(cat).key, CATEGORY_LABELS[IncomeCategory(cat)][0],
                                  int(amount), currency))
    return out


def donors_per_year(session: Session, year: int | None = None) -> dict[int, int]:
    """Distinct donors with at least one gift in the year that was not reversed."""
    rev = aliased(Gift)
    y = _year(Gift.received_on).label("y")
    stmt = (
        select(y, func.count(func.distinct(Gift.donor_id)))
        .where(Gift.entry_type == EntryType.GIFT, Gift.donor_id.is_not(None))  # type: ignore[union-attr]
        .where(~exists().where(and_(rev.reverses_gift_id == Gift.id)))
        .group_by(y)
        .order_by(y)
    )
    if year is not None:
        stmt = stmt.where(Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1))
    return {int(yr): int(n) for yr, n in session.execute(stmt)}
