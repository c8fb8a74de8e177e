"""IBAN validation (schwifty) and masking for display."""

from __future__ import annotations

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from donorcrm.errors import ValidationError


def normalise_iban(text: str) -> str:
    """The IBAN in electronic form (no spaces, upper case) if its checksum and format are right."""
    try:
        return IBAN(text.strip()).compact
    except SchwiftyException as exc:
        raise ValidationError(f"invalid IBAN {mask_iban(text)}: {exc}") from None


def bic_for(iban: str) -> str | None:
    """The BIC schwifty derives from the bank code, where it knows one."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return None
    return str(bic) if bic else None


def mask_iban(iban: str | None) -> str:
    """Country, check digits and the last four characters; never the account number in between."""
    if not iban:
        return ""
    compact = "".join(iban.split()).upper()
    if len(compact) <= 8:
        return "*" * len(compact)
    return f"{compact[:4]} **** {compact[-4:]}"


def last4(iban: str) -> str:
    return "".join(iban.split())[-4:]
