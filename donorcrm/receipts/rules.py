"""One entry point over the five jurisdictions: given a donor, a year and their ledger rows, the draft receipt."""

from __future__ import annotations

from dataclasses import dataclass, field

from donorcrm.receipts import ca, de, nl, uk, us
from donorcrm.receipts.common import Charity, DonorInfo, Draft, Jurisdiction, LedgerGift


@dataclass(frozen=True)
class Context:
    """What beyond the gifts some rules need: agreements (NL), declarations (UK) and settings."""

    agreements: tuple[nl.Agreement, ...] = ()
    declarations: tuple[uk.Declaration, ...] = ()
    giftaid_basic_rate: int = 20
    us_all_donors: bool = True
    extra: dict[str, object] = field(default_factory=dict)


def draft_receipt(
    jurisdiction: Jurisdiction, donor: DonorInfo, year: int, gifts: list[LedgerGift], charity: Charity,
    context: Context | None = None,
) -> Draft | None:
    """The receipt due for this donor and year, or None when none is due."""
    ctx = context or Context()
    if jurisdiction == Jurisdiction.NL:
        return nl.yearly_overview(donor, year, gifts, list(ctx.agreements), charity)
    if jurisdiction == Jurisdiction.UK:
        return uk.giving_statement(donor, year, gifts, list(ctx.declarations), charity,
                                   basic_rate=ctx.giftaid_basic_rate)
    if jurisdiction == Jurisdiction.US:
        return us.acknowledgment(donor, year, gifts, charity, all_donors=ctx.us_all_donors)
    if jurisdiction == Jurisdiction.CA:
        return ca.official_receipt(donor, year, gifts, charity)
    if jurisdiction == Jurisdiction.DE:
        return de.confirmation(donor, year, gifts, charity)
    raise ValueError(f"unknown jurisdiction {jurisdiction}")
