"""The morning overview: donors, active recurring giving, income year-to-date, retention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import case, func, select
from sqlmodel import Session

from donorcrm.commitments.models import MONTHS_PER_PERIOD, Commitment, CommitmentStatus
from donorcrm.config import get_settings
from donorcrm.donors.models import Donor, DonorStatus
from donorcrm.reports import growth, income


def yearly_value_expr():  # type: ignore[no-untyped-def]
    """A commitment's yearly value in minor units (amount × periods per year), in SQL."""
    return case(
        *((Commitment.frequency == f, Commitment.amount_minor * (12 // months))
          for f, months in MONTHS_PER_PERIOD.items()),
        else_=0,
    )


@dataclass(frozen=True)
class Overview:
    today: dt.date
    active_donors: int
    active_commitments: int
    commitments_yearly_minor: int
    ytd: income.YearToDate
    retention_last_year: Fraction | None  # last complete year
    retention_year: int
    donors_this_year: int

    @property
    def commitments_monthly_minor(self) -> int:
        return round(Fraction(self.commitments_yearly_minor, 12))


def overview(session: Session, today: dt.date | None = None, currency: str | None = None) -> Overview:
    today = today or dt.date.today()
    currency = currency or get_settings().currency
    donors = session.execute(
        select(func.count()).select_from(Donor).where(Donor.status == DonorStatus.ACTIVE)
    ).scalar_one()
    n, yearly = session.execute(
        select(func.count(), func.coalesce(func.sum(yearly_value_expr()), 0))
        .where(Commitment.status == CommitmentStatus.ACTIVE, Commitment.currency == currency)
    ).one()
    rows = growth.growth_table(session, first_year=today.year - 1, last_year=today.year, currency=currency)
    last = rows[0] if rows else None
    return Overview(
        today=today, active_donors=int(donors), active_commitments=int(n), commitments_yearly_minor=int(yearly),
        ytd=income.year_to_date(session, today, currency),
        retention_last_year=last.retention if last else None, retention_year=today.year - 1,
        donors_this_year=rows[1].donors if len(rows) > 1 else 0,
    )
