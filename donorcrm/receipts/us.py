"""United States: written acknowledgments (single gifts of USD 250 or more) and quid-pro-quo disclosures.

Separate gifts under 250 are not added up; one annual summary listing each gift is allowed, so
the receipt is an annual summary that carries the acknowledgment wording each gift needs.
"""

from __future__ import annotations

from donorcrm.money import Money
from donorcrm.receipts.common import (
    Charity,
    DonorInfo,
    Draft,
    Jurisdiction,
    LedgerGift,
    Line,
    ReceiptKind,
    year_gifts,
)

ACKNOWLEDGMENT_THRESHOLD = Money(25_000, "USD")
QUID_PRO_QUO_THRESHOLD = Money(7_500, "USD")
NO_GOODS = "No goods or services were provided in exchange for this contribution."


def needs_acknowledgment(gift: LedgerGift) -> bool:
    """A single contribution of USD 250 or more needs a contemporaneous written acknowledgment."""
    return gift.amount >= ACKNOWLEDGMENT_THRESHOLD


def needs_disclosure(gift: LedgerGift) -> bool:
    """A payment over USD 75 made partly for goods or services needs a quid-pro-quo disclosure."""
    return gift.amount > QUID_PRO_QUO_THRESHOLD and gift.advantage_or_zero.is_positive


def deductible(gift: LedgerGift) -> Money:
    """Only the excess over the good-faith value of what the donor received is deductible."""
    return max(gift.amount - gift.advantage_or_zero, Money.zero(gift.amount.currency))


def goods_statement(gift: LedgerGift) -> str:
    if not gift.advantage_or_zero.is_positive:
        return NO_GOODS
    what = gift.advantage_description or "goods or services"
    return (f"In exchange for this contribution you received {what} with a good-faith estimated value of "
            f"{gift.advantage_or_zero.format('en')}. Only the amount exceeding that value, "
            f"{deductible(gift).format('en')}, is deductible for federal income tax purposes.")


def acknowledgment(
    donor: DonorInfo, year: int, gifts: list[LedgerGift], charity: Charity, *, all_donors: bool = True,
) -> Draft | None:
    """The annual summary; None when there is nothing the law asks for and the charity sends only those."""
    rows = year_gifts(gifts, year, "USD")
    if not rows:
        return None
    required = [g for g in rows if needs_acknowledgment(g) or needs_disclosure(g)]
    if not all_donors and not required:
        return None
    lines = tuple(
        Line(gift_id=g.id, on=g.received_on, amount=g.amount, eligible=deductible(g), advantage=g.advantage_or_zero,
             description=g.advantage_description, group="acknowledgment" if g in required else "summary",
             note=goods_statement(g))
        for g in rows
    )
    figures = {
        "ein": charity.ein,
        "acknowledged": [g.id for g in rows if needs_acknowledgment(g)],
        "disclosed": [g.id for g in rows if needs_disclosure(g)],
        "no_goods": all(not g.advantage_or_zero.is_positive for g in rows),
    }
    return Draft(jurisdiction=Jurisdiction.US, kind=ReceiptKind.US_ACKNOWLEDGMENT, year=year, donor=donor,
                 currency="USD", lines=lines, language="en", figures=figures)
