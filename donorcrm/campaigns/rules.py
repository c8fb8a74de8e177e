"""Pure campaign rules: how much a match pool adds to a gift, and campaign ratios."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class PoolTerms:
    ratio_numerator: int
    ratio_denominator: int
    cap_per_gift_minor: int | None
    cap_total_minor: int
    starts_on: dt.date
    ends_on: dt.date
    eligible_channels: frozenset[str]  # empty: every channel
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class GiftFacts:
    amount_minor: int
    currency: str
    channel: str
    received_on: dt.date
    reversed: bool = False


def parse_channels(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(",") if c.strip())


def match_amount(terms: PoolTerms, gift: GiftFacts, already_matched_minor: int) -> int:
    """Minor units the pool adds to this gift: ratio × gift, within the per-gift cap and what is left.

    Rounds down, so the pool never pays a fraction of a cent more than it pledged.
    """
    if gift.reversed or gift.amount_minor <= 0 or gift.currency != terms.currency:
        return 0
    if not (terms.starts_on <= gift.received_on <= terms.ends_on):
        return 0
    if terms.eligible_channels and gift.channel not in terms.eligible_channels:
        return 0
    wanted = int(Fraction(gift.amount_minor * terms.ratio_numerator, terms.ratio_denominator))
    if terms.cap_per_gift_minor is not None:
        wanted = min(wanted, terms.cap_per_gift_minor)
    left = max(terms.cap_total_minor - already_matched_minor, 0)
    return max(min(wanted, left), 0)


def percent(part: int, whole: int | None) -> float | None:
    """A display percentage (not money): share of a goal reached, cost ratio."""
    if not whole:
        return None
    return round(100 * part / whole, 1)


def roi(income_minor: int, cost_minor: int) -> float | None:
    """Income per unit of cost; None when nothing was spent."""
    if cost_minor <= 0:
        return None
    return round(income_minor / cost_minor, 2)
