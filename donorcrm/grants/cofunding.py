"""Co-funding: which own (donor) income covers a grant's required own contribution.

Own income is any ledger gift not itself grant money (gift.grant_id is NULL), not reversed. It is allocated
either gift by gift, or as an amount from a fund holding own income. Neither a gift nor a fund can be
allocated beyond what it holds, across all grants together, so one euro never co-funds twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Fund
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts.categories import EntryType, IncomeCategory, is_individual
from donorcrm.gifts.models import Gift
from donorcrm.grants import rules
from donorcrm.grants.models import CofundingAllocation, Grant
from donorcrm.money import Money


def _grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"no grant {grant_id}")
    return grant


def required(grant: Grant) -> Money:
    budget = None if grant.budget_minor is None else Money(grant.budget_minor, grant.currency)
    fixed = None if grant.cofunding_minor is None else Money(grant.cofunding_minor, grant.currency)
    return rules.cofunding_required(basis_points=grant.cofunding_basis_points, fixed=fixed, budget=budget,
                                    currency=grant.currency)


def allocations(session: Session, grant_id: int) -> list[CofundingAllocation]:
    return list(session.execute(
        select(CofundingAllocation).where(CofundingAllocation.grant_id == grant_id)
        .order_by(CofundingAllocation.allocated_on, CofundingAllocation.id)
    ).scalars())


def cofunding_position(session: Session, grant_id: int) -> rules.CofundingPosition:
    grant = _grant(session, grant_id)
    covered = session.execute(
        select(func.coalesce(func.sum(CofundingAllocation.amount_minor), 0))
        .where(CofundingAllocation.grant_id == grant_id)
    ).scalar_one()
    return rules.cofunding_position(required(grant), [Money(int(covered), grant.currency)])


def _allocated_from_gift(session: Session, gift_id: int) -> int:
    return int(session.execute(
        select(func.coalesce(func.sum(CofundingAllocation.amount_minor), 0))
        .where(CofundingAllocation.gift_id == gift_id)
    ).scalar_one())


def own_income_in_fund(session: Session, fund_id: int, currency: str = "EUR") -> Money:
    value = session.execute(
        select(func.coalesce(func.sum(Gift.amount_minor), 0))
        .where(Gift.fund_id == fund_id, Gift.grant_id.is_(None), Gift.currency == currency)  # type: ignore[union-attr]
    ).scalar_one()
    return Money(int(value), currency)


def available_in_fund(session: Session, fund_id: int, currency: str = "EUR") -> Money:
    allocated = session.execute(
        select(func.coalesce(func.sum(CofundingAllocation.amount_minor), 0))
        .where(CofundingAllocation.fund_id == fund_id, CofundingAllocation.currency == currency)
    ).scalar_one()
    return own_income_in_fund(session, fund_id, currency) - Money(int(allocated), currency)


def allocate(
    session: Session, grant_id: int, amount: Money, *, on: dt.date, gift_id: int | None = None,
    fund_id: int | None = None, note: str | None = None,
) -> CofundingAllocation:
    """Set own income against the grant's co-funding obligation, up to what is still short."""
    grant = _grant(session, grant_id)
    if grant.stage not in rules.LIVE_STAGES:
        raise InvalidState(f"grant {grant.reference} is {grant.stage}; co-funding follows an award")
    if (gift_id is None) == (fund_id is None):
        raise ValidationError("allocate from one gift or one fund")
    if amount.minor <= 0 or amount.currency != grant.currency:
        raise ValidationError(f"allocation must be positive {grant.currency}, got {amount}")
    pos = cofunding_position(session, grant_id)
    if amount > pos.shortfall:
        raise ValidationError(f"{grant.reference} needs {pos.shortfall} more co-funding, not {amount}")
    if gift_id is not None:
        gift = session.get(Gift, gift_id)
        if gift is None:
            raise NotFound(f"no gift {gift_id}")
        if gift.entry_type != EntryType.GIFT or gift.grant_id is not None:
            raise ValidationError(f"gift {gift_id} is not own income (a reversal or grant money)")
        if session.execute(select(Gift.id).where(Gift.reverses_gift_id == gift_id)).first():
            raise ValidationError(f"gift {gift_id} was reversed")
        if gift.currency != grant.currency:
            raise ValidationError(f"gift {gift_id} is in {gift.currency}")
        left = gift.amount_minor - _allocated_from_gift(session, gift_id)
        if amount.minor > left:
            raise ValidationError(f"gift {gift_id} has {Money(left, gift.currency)} left to allocate, not {amount}")
    else:
        fund = session.get(Fund, fund_id)
        if fund is None:
            raise NotFound(f"no fund {fund_id}")
        left_money = available_in_fund(session, fund_id, grant.currency)  # type: ignore[arg-type]
        if amount > left_money:
            raise ValidationError(f"fund {fund.code} has {left_money} own income left to allocate, not {amount}")
    row = CofundingAllocation(grant_id=grant_id, gift_id=gift_id, fund_id=fund_id, amount_minor=amount.minor,
                              currency=amount.currency, allocated_on=on, note=note,
                              created_by=audit.current_actor())
    session.add(row)
    session.flush()
    audit.record(session, "grant.cofunding_allocate", "grant", grant_id,
                 after={"allocation_id": row.id, "amount": str(amount), "gift_id": gift_id, "fund_id": fund_id})
    return row


def release(session: Session, allocation_id: int, *, reason: str) -> None:
    """Take an allocation back (e.g. the gift turned out to be restricted to something else)."""
    row = session.get(CofundingAllocation, allocation_id)
    if row is None:
        raise NotFound(f"no co-funding allocation {allocation_id}")
    audit.record(session, "grant.cofunding_release", "grant", row.grant_id, before={
        "allocation_id": row.id, "amount": str(Money(row.amount_minor, row.currency)), "gift_id": row.gift_id,
        "fund_id": row.fund_id}, after={"reason": reason})
    session.delete(row)
    session.flush()


INDIVIDUAL_CATEGORIES = tuple(str(c) for c in IncomeCategory if is_individual(c))


def auto_allocate(
    session: Session, grant_id: int, *, received_from: dt.date, received_to: dt.date, on: dt.date,
    categories: tuple[str, ...] = INDIVIDUAL_CATEGORIES, batch: int = 2000,
) -> list[CofundingAllocation]:
    """Cover the shortfall with unallocated gifts from individuals in the period, oldest first.

    The database sums what each gift has given already; gifts stream in batches so a year of a large
    charity's ledger is never loaded at once.
    """
    grant = _grant(session, grant_id)
    shortfall = cofunding_position(session, grant_id).shortfall.minor
    if shortfall <= 0:
        return []
    given = (
        select(CofundingAllocation.gift_id, func.sum(CofundingAllocation.amount_minor).label("used"))
        .where(CofundingAllocation.gift_id.is_not(None)).group_by(CofundingAllocation.gift_id)  # type: ignore[union-attr]
        .subquery()
    )
    reversal = aliased(Gift)
    left_expr = Gift.amount_minor - func.coalesce(given.c.used, 0)
    stmt = (
        select(Gift.id, left_expr.label("left"))
        .outerjoin(given, given.c.gift_id == Gift.id)
        .where(Gift.entry_type == EntryType.GIFT, Gift.grant_id.is_(None), Gift.currency == grant.currency,  # type: ignore[union-attr]
               Gift.category.in_(categories), Gift.received_on >= received_from,  # type: ignore[attr-defined]
               Gift.received_on <= received_to, left_expr > 0,
               ~select(reversal.id).where(reversal.reverses_gift_id == Gift.id).exists())
        .order_by(Gift.received_on, Gift.id)
    )
    picks: list[tuple[int, int]] = []
    for gift_id, left in session.execute(stmt.execution_options(yield_per=batch)):
        take = min(int(left), shortfall)
        picks.append((gift_id, take))
        shortfall -= take
        if shortfall == 0:
            break
    rows = [CofundingAllocation(grant_id=grant_id, gift_id=g, amount_minor=take, currency=grant.currency,
                                allocated_on=on, note="allocated automatically", created_by=audit.current_actor())
            for g, take in picks]
    session.add_all(rows)
    session.flush()
    if rows:
        audit.record(session, "grant.cofunding_auto", "grant", grant_id, after={
            "allocations": len(rows), "amount": str(Money(sum(t for _g, t in picks), grant.currency)),
            "from": received_from, "to": received_to})
    return rows


@dataclass(frozen=True, slots=True)
class AllocationRow:
    allocation_id: int
    source: str  # "gift 123 (donor 45, 2020-05-01)" or "fund CODE"
    amount: Money
    allocated_on: dt.date
    note: str | None


def allocation_rows(session: Session, grant_id: int) -> list[AllocationRow]:
    """Which own income covers the grant, for display."""
    out = []
    rows = session.execute(
        select(CofundingAllocation, Gift.donor_id, Gift.received_on, Fund.code)
        .outerjoin(Gift, Gift.id == CofundingAllocation.gift_id)
        .outerjoin(Fund, Fund.id == CofundingAllocation.fund_id)
        .where(CofundingAllocation.grant_id == grant_id)
        .order_by(CofundingAllocation.allocated_on, CofundingAllocation.id)
    ).all()
    for a, donor_id, received_on, fund_code in rows:
        source = (f"gift {a.gift_id} (donor {donor_id}, {received_on})" if a.gift_id is not None
                  else f"fund {fund_code}")
        out.append(AllocationRow(a.id, source, Money(a.amount_minor, a.currency), a.allocated_on, a.note))
    return out
