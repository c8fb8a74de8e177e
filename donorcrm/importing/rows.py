"""Pure validation of CSV rows into plain values, collecting every problem with its line number."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from donorcrm.errors import DonorCrmError, Problem
from donorcrm.gifts.categories import IncomeCategory, PaymentChannel, parse_category
from donorcrm.iban import normalise_iban
from donorcrm.money import Locale, Money

DONOR_COLUMNS = (
    "reference", "kind", "salutation", "initials", "first_name", "name_infix", "last_name", "organisation_name",
    "street", "house_number", "postcode", "city", "country", "language", "email", "phone", "birth_date", "iban",
    "consent_email", "consent_post", "consent_phone", "consent_sms",
)
DONOR_REQUIRED = ("reference",)
GIFT_COLUMNS = ("reference", "donor_reference", "date", "amount", "currency", "channel", "category", "campaign",
                "fund", "source_code", "note")
GIFT_REQUIRED = ("reference", "donor_reference", "date", "amount", "channel", "category")

_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")


def parse_date(text: str) -> dt.date:
    """ISO dates, or day-first European dates; month-first dates are never guessed."""
    value = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r} (use YYYY-MM-DD or DD-MM-YYYY)")


def parse_flag(text: str) -> bool | None:
    value = text.strip().lower()
    if value in ("", "-"):
        return None
    if value in ("1", "y", "yes", "j", "ja", "true", "granted"):
        return True
    if value in ("0", "n", "no", "nee", "false", "withdrawn"):
        return False
    raise ValueError(f"consent must be yes or no, got {text!r}")


@dataclass
class DonorRow:
    line: int
    reference: str
    fields: dict[str, object]
    iban: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)


@dataclass
class GiftImportRow:
    line: int
    reference: str
    donor_reference: str
    received_on: dt.date
    amount: Money
    channel: PaymentChannel
    category: IncomeCategory
    campaign_code: str | None
    fund_code: str | None
    source_code: str | None
    note: str | None


def _clean(raw: dict[str, str | None]) -> dict[str, str]:
    return {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}


def validate_donor(line: int, raw: dict[str, str | None]) -> tuple[DonorRow | None, list[Problem]]:
    where = f"line {line}"
    data = _clean(raw)
    problems: list[Problem] = []
    for col in DONOR_REQUIRED:
        if not data.get(col):
            problems.append(Problem(where, f"{col} is empty"))
    kind = data.get("kind") or "person"
    if kind not in ("person", "organisation"):
        problems.append(Problem(where, f"kind must be person or organisation, got {kind!r}"))
    if kind == "person" and not data.get("last_name"):
        problems.append(Problem(where, "last_name is empty"))
    if kind == "organisation" and not data.get("organisation_name"):
        problems.append(Problem(where, "organisation_name is empty"))
    email = data.get("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        problems.append(Problem(where, f"not an e-mail address: {email!r}"))
    country = (data.get("country") or "NL").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        problems.append(Problem(where, f"country must be a two-letter code, got {country!r}"))
    birth: dt.date | None = None
    if data.get("birth_date"):
        try:
            birth = parse_date(data["birth_date"])
        except ValueError as exc:
            problems.append(Problem(where, f"birth_date: {exc}"))
    iban: str | None = None
    if data.get("iban"):
        try:
            iban = normalise_iban(data["iban"])
        except DonorCrmError as exc:
            problems.append(Problem(where, str(exc)))
    consents: dict[str, bool] = {}
    for channel in ("email", "post", "phone", "sms"):
        try:
            flag = parse_flag(data.get(f"consent_{channel}", ""))
        except ValueError as exc:
            problems.append(Problem(where, f"consent_{channel}: {exc}"))
            continue
        if flag is not None:
            consents[channel] = flag
    if problems:
        return None, problems
    fields: dict[str, object] = {
        k: (data.get(k) or None)
        for k in ("salutation", "initials", "first_name", "name_infix", "last_name", "organisation_name",
                  "street", "house_number", "postcode", "city", "email", "phone")
    }
    fields.update(kind=kind, country=country, language=(data.get("language") or "nl").lower(), birth_date=birth)
    return DonorRow(line, data["reference"], fields, iban, consents), []


def validate_gift(line: int, raw: dict[str, str | None], locale: Locale) -> tuple[GiftImportRow | None, list[Problem]]:
    where = f"line {line}"
    data = _clean(raw)
    problems: list[Problem] = []
    for col in GIFT_REQUIRED:
        if not data.get(col):
            problems.append(Problem(where, f"{col} is empty"))
    if problems:
        return None, problems
    currency = (data.get("currency") or "EUR").upper()
    amount: Money | None = None
    try:
        amount = Money.parse(data["amount"], currency, locale)
        if amount.minor <= 0:
            problems.append(Problem(where, f"amount must be positive, got {data['amount']!r}"))
    except DonorCrmError as exc:
        problems.append(Problem(where, f"amount: {exc}"))
    received: dt.date | None = None
    try:
        received = parse_date(data["date"])
    except ValueError as exc:
        problems.append(Problem(where, f"date: {exc}"))
    channel: PaymentChannel | None = None
    try:
        channel = PaymentChannel(data["channel"].lower())
    except ValueError:
        problems.append(Problem(where, f"unknown channel {data['channel']!r} (one of {', '.join(PaymentChannel)})"))
    category: IncomeCategory | None = None
    try:
        category = parse_category(data["category"])
    except ValueError:
        problems.append(Problem(where, f"unknown category {data['category']!r}"))
    if problems or amount is None or received is None or channel is None or category is None:
        return None, problems
    return GiftImportRow(
        line, data["reference"], data["donor_reference"], received, amount, channel, category,
        data.get("campaign") or None, data.get("fund") or None, data.get("source_code") or None,
        data.get("note") or None,
    ), []
