"""Netherlands: the yearly overview (jaaroverzicht), periodic-gift agreements and the deduction rules.

Periodic gifts are counted per agreement transaction number; payments dated before the agreement
was signed never count as periodic; cash is not deductible since 2021 and stays off the overview;
reversed gifts are no gifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from donorcrm.money import Money, total
from donorcrm.receipts.common import (
    Charity,
    DonorInfo,
    Draft,
    Jurisdiction,
    LedgerGift,
    Line,
    ReceiptKind,
    language_for,
    year_gifts,
)
from donorcrm.receipts.words import dutch_amount

ORDINARY = "ordinary"
MIN_THRESHOLD = Money(6000, "EUR")  # EUR 60
PERIODIC_CAP = Money(25_000_000, "EUR")  # EUR 250,000 a year for agreements after 4 October 2022
PERIODIC_CAP_FROM = dt.date(2022, 10, 5)
MIN_TERM_YEARS = 5
END_CONDITIONS = frozenset({"death", "job_loss", "disability", "anbi_loss"})


@dataclass(frozen=True)
class Agreement:
    """A periodic-gift agreement as the rules need it (from periodic_agreement + its commitment)."""

    commitment_id: int
    transaction_number: str
    yearly_amount: Money
    first_year: int
    signed_on: dt.date
    term_years: int | None = 5  # None = indefinite
    ends_on_death: bool = True
    end_conditions: frozenset[str] = END_CONDITIONS
    partner_name: str | None = None
    stopped_on: dt.date | None = None
    stop_reason: str | None = None

    @property
    def last_year(self) -> int | None:
        return None if self.term_years is None else self.first_year + self.term_years - 1


@dataclass(frozen=True)
class Deduction:
    threshold: Money
    deductible: Money


def ordinary_deduction(income: Money, gifts: Money) -> Deduction:
    """Ordinary gifts deduct above max(1% of threshold income, EUR 60), capped at 10% of that income."""
    one_percent = income.scale(Decimal("0.01"), rounding=ROUND_CEILING)
    threshold = max(one_percent, Money(MIN_THRESHOLD.minor, income.currency))
    cap = income.scale(Decimal("0.10"))
    above = gifts - threshold
    deductible = min(max(above, Money.zero(income.currency)), cap)
    return Deduction(threshold=threshold, deductible=deductible)


def periodic_deductible(agreement: Agreement, paid: Money) -> Money:
    """Periodic gifts deduct in full; agreements made after 4 October 2022 up to EUR 250,000 a year."""
    if agreement.signed_on >= PERIODIC_CAP_FROM and paid > Money(PERIODIC_CAP.minor, paid.currency):
        return Money(PERIODIC_CAP.minor, paid.currency)
    return paid


def agreement_holds(agreement: Agreement) -> bool:
    """False when a periodic gift stopped within five years without an agreed end condition.

    Its payments then count as ordinary gifts, also those of earlier years.
    """
    if agreement.stopped_on is None:
        return True
    if agreement.term_years is not None and agreement.term_years < MIN_TERM_YEARS:
        return False
    years_run = agreement.stopped_on.year - agreement.first_year + 1
    if years_run >= MIN_TERM_YEARS:
        return True
    return (agreement.stop_reason or "") in agreement.end_conditions


def is_periodic(gift: LedgerGift, agreement: Agreement | None) -> bool:
    """A payment counts as periodic under a holding agreement, dated on or after signing, within its years."""
    if agreement is None or not agreement_holds(agreement):
        return False
    if gift.received_on < agreement.signed_on or gift.received_on.year < agreement.first_year:
        return False
    if agreement.last_year is not None and gift.received_on.year > agreement.last_year:
        return False
    return not (agreement.stopped_on and gift.received_on > agreement.stopped_on)


def yearly_overview(
    donor: DonorInfo, year: int, gifts: list[LedgerGift], agreements: list[Agreement], charity: Charity,
) -> Draft | None:
    """The jaaroverzicht: totals per agreement transaction number and the ordinary gifts; None if nothing to show."""
    by_commitment = {a.commitment_id: a for a in agreements}
    lines: list[Line] = []
    cash_excluded = 0
    for g in year_gifts(gifts, year, "EUR"):
        if g.is_cash:
            cash_excluded += 1
            continue
        agreement = by_commitment.get(g.commitment_id) if g.commitment_id is not None else None
        if is_periodic(g, agreement):
            assert agreement is not None
            group, description = f"periodic:{agreement.transaction_number}", "periodieke gift"
        else:
            group, description = ORDINARY, "gift"
        lines.append(Line(gift_id=g.id, on=g.received_on, amount=g.amount, eligible=g.amount,
                          advantage=Money.zero("EUR"), description=description, group=group))
    if not lines:
        return None
    periodic: dict[str, str] = {}
    for a in sorted(agreements, key=lambda a: a.transaction_number):
        paid = total([ln.amount for ln in lines if ln.group == f"periodic:{a.transaction_number}"])
        if paid:
            periodic[a.transaction_number] = paid.to_string()
    ordinary = total([ln.amount for ln in lines if ln.group == ORDINARY])
    figures = {
        "rsin": charity.rsin,
        "periodic": periodic,  # transaction number -> total
        "ordinary": ordinary.to_string(),
        "cash_excluded": cash_excluded,
    }
    return Draft(
        jurisdiction=Jurisdiction.NL, kind=ReceiptKind.NL_OVERVIEW, year=year, donor=donor, currency="EUR",
        lines=tuple(lines), language=language_for(donor), figures=figures,
    )


@dataclass(frozen=True)
class AgreementDocument:
    """Every field of a periodic-gift agreement (domain rules §2.3), ready to print and sign."""

    transaction_number: str
    charity_name: str
    charity_rsin: str
    charity_address: str
    donor_name: str
    donor_birth_date: dt.date | None
    donor_address: str
    yearly_amount: Money
    yearly_amount_digits: str
    yearly_amount_words: str
    first_year: int
    term: str
    ends_on_death: bool
    end_conditions: tuple[str, ...]
    partner_name: str | None
    signatures: tuple[str, ...]

    def missing(self) -> list[str]:
        """Fields still empty; an agreement with gaps must not be signed."""
        required = {
            "transactienummer": self.transaction_number, "RSIN": self.charity_rsin, "naam": self.donor_name,
            "geboortedatum": self.donor_birth_date, "adres": self.donor_address,
        }
        return [k for k, v in required.items() if not v]


END_CONDITION_TEXT = {
    "death": "overlijden van de schenker",
    "job_loss": "arbeidsongeschiktheid of werkloosheid van de schenker",
    "disability": "invaliditeit van de schenker",
    "anbi_loss": "verlies van de ANBI-status van de instelling",
}


def agreement_document(agreement: Agreement, donor: DonorInfo, charity: Charity) -> AgreementDocument:
    term = (f"{agreement.term_years} jaar ({agreement.first_year} t/m {agreement.last_year})"
            if agreement.term_years else f"onbepaalde tijd, vanaf {agreement.first_year}")
    conditions = tuple(END_CONDITION_TEXT.get(c, c) for c in sorted(agreement.end_conditions)
                       if c != "death" or agreement.ends_on_death)
    signatures = ("schenker",) + (("partner",) if agreement.partner_name else ()) + ("instelling",)
    return AgreementDocument(
        transaction_number=agreement.transaction_number, charity_name=charity.name, charity_rsin=charity.rsin,
        charity_address=charity.address_line, donor_name=donor.name, donor_birth_date=donor.birth_date,
        donor_address=", ".join(donor.address_lines), yearly_amount=agreement.yearly_amount,
        yearly_amount_digits=agreement.yearly_amount.format("nl"),
        yearly_amount_words=dutch_amount(agreement.yearly_amount), first_year=agreement.first_year, term=term,
        ends_on_death=agreement.ends_on_death, end_conditions=conditions, partner_name=agreement.partner_name,
        signatures=signatures,
    )
