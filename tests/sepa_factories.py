"""Builders for SEPA tests: a donor with a monthly commitment and an active mandate."""

from __future__ import annotations

import datetime as dt
import itertools

from schwifty import IBAN
from sqlmodel import Session

from donorcrm.commitments.service import CommitmentCreate, create_commitment
from donorcrm.config import Settings
from donorcrm.money import Money
from donorcrm.sepa.mandates import create_mandate
from tests import factories

_n = itertools.count(1)
BANKS = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "TRIO")


def iban_for(n: int, bank: str | None = None) -> str:
    """A valid Dutch IBAN per number (a distinct account for each donor)."""
    return str(IBAN.generate("NL", bank_code=bank or BANKS[n % len(BANKS)], account_code=f"{n:010d}"))


SETTINGS = Settings(creditor_id="NL98ZZZ999999999999", org_name="Stichting Vluchtelingenhulp Demo")


def sepa_donor(session: Session, cents: int = 1000, *, starts_on: dt.date = dt.date(2026, 1, 1),
               signed_on: dt.date = dt.date(2025, 12, 1), day: int = 1, frequency: str = "monthly",
               iban: str | None = None, holder: str | None = None, **donor_fields: object):  # type: ignore[no-untyped-def]
    n = next(_n)
    donor = factories.donor(session, **donor_fields)
    commitment = create_commitment(session, CommitmentCreate(
        donor_id=donor.id, amount=Money(cents, "EUR"), starts_on=starts_on, frequency=frequency, collection_day=day))
    mandate = create_mandate(session, donor_id=donor.id, commitment_id=commitment.id,
                             iban=iban or iban_for(n), holder=holder or donor.display_name,
                             signed_on=signed_on, settings=SETTINGS)
    return donor, commitment, mandate
