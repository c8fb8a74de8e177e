"""Canada: official donation receipts for income tax purposes (CRA), with the advantage rules.

An advantage of at most min(CAD 75, 10% of the gift) is ignored (de minimis); a gift whose advantage
exceeds 80% of its value gets no receipt at all. Replacements cite the serial they replace.
"""

from __future__ import annotations

from dataclasses import dataclass

from donorcrm.errors import Problem
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

TITLE = "Official receipt for income tax purposes"
CRA_NAME = "Canada Revenue Agency"
CRA_URL = "canada.ca/charities-giving"
DE_MINIMIS = Money(7_500, "CAD")


@dataclass(frozen=True)
class Eligibility:
    receiptable: bool
    advantage: Money  # the advantage that counts (0 under de minimis)
    eligible: Money
    reason: str = ""


def eligibility(gift: LedgerGift) -> Eligibility:
    """Eligible amount = value − advantage; de-minimis advantages are ignored; over 80% there is no gift."""
    value = gift.amount
    advantage = gift.advantage_or_zero
    zero = Money.zero(value.currency)
    if advantage.minor * 100 > value.minor * 80:
        return Eligibility(False, advantage, zero, "advantage above 80% of the gift")
    de_minimis_limit = min(Money(DE_MINIMIS.minor, value.currency), Money(value.minor // 10, value.currency))
    if advantage <= de_minimis_limit:
        return Eligibility(True, zero, value, "de minimis" if advantage.is_positive else "")
    return Eligibility(True, advantage, value - advantage)


def official_receipt(donor: DonorInfo, year: int, gifts: list[LedgerGift], charity: Charity) -> Draft | None:
    """One annual official receipt for the year's receiptable gifts; None when none qualifies."""
    lines = []
    skipped = []
    for g in year_gifts(gifts, year, "CAD"):
        e = eligibility(g)
        if not e.receiptable:
            skipped.append(g.id)
            continue
        lines.append(Line(gift_id=g.id, on=g.received_on, amount=g.amount, eligible=e.eligible,
                          advantage=e.advantage, description=g.advantage_description if e.advantage else "",
                          group="receipted", note=e.reason))
    if not lines:
        return None
    figures = {
        "registration_number": charity.cra_number,
        "place_issued": charity.place,
        "date_of_gift": str(year) if len(lines) > 1 else lines[0].on.isoformat(),
        "advantage_description": "; ".join(sorted({ln.description for ln in lines if ln.description})),
        "not_receipted": skipped,
    }
    return Draft(jurisdiction=Jurisdiction.CA, kind=ReceiptKind.CA_OFFICIAL, year=year, donor=donor,
                 currency="CAD", lines=tuple(lines), language="en", figures=figures)


def receipt_problems(draft: Draft, charity: Charity) -> list[Problem]:
    """Every element the CRA requires that would be missing from this receipt."""
    where = f"donor {draft.donor.id}"
    checks = {
        "charity name": charity.name, "charity address": charity.street and charity.city,
        "registration number": charity.cra_number, "place issued": charity.place,
        "donor name": draft.donor.name, "donor address": draft.donor.address_lines,
        "authorised signature": charity.signatory,
    }
    return [Problem(where, f"{k} missing") for k, v in checks.items() if not v]
