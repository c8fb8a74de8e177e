"""Recurring giving: commitments by status and route, with their monthly and yearly value."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select
from sqlmodel import Session

from donorcrm.commitments.models import Commitment
from donorcrm.config import get_settings
from donorcrm.reports.overview import yearly_value_expr


@dataclass(frozen=True)
class CommitmentGroup:
    status: str
    route: str
    frequency: str
    commitments: int
    yearly_minor: int

    @property
    def monthly_minor(self) -> int:
        return round(Fraction(self.yearly_minor, 12))


def commitments_by_status(session: Session, *, route: str | None = None,
                          currency: str | None = None) -> list[CommitmentGroup]:
    currency = currency or get_settings().currency
    value = yearly_value_expr()
    stmt = (select(Commitment.status, Commitment.route, Commitment.frequency, func.count(),
                   func.coalesce(func.sum(value), 0))
            .where(Commitment.currency == currency)
            .group_by(Commitment.status, Commitment.route, Commitment.frequency)
            .order_by(Commitment.status, Commitment.route, Commitment.frequency))
    if route:
        stmt = stmt.where(Commitment.route == route)
    return [CommitmentGroup(s, r, f, int(n), int(v)) for s, r, f, n, v in session.execute(stmt)]
