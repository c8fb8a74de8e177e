"""Plain values shared by the receipt rules: the donor, the charity, ledger rows and a receipt draft.

The rules never see a Session: the service reads the ledger into these values, the rules decide,
and the service stores what they decided.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from donorcrm.config import Settings
from donorcrm.gifts.categories import PaymentChannel
from donorcrm.money import Money


class Jurisdiction(StrEnum):
    NL = "NL"
    UK = "UK"
    US = "US"
    CA = "CA"
    DE = "DE"


class ReceiptKind(StrEnum):
    NL_OVERVIEW = "nl_yearly_overview"  # jaaroverzicht giften
    UK_STATEMENT = "uk_giving_statement"  # yearly statement with Gift Aid status
    US_ACKNOWLEDGMENT = "us_acknowledgment"  # annual summary + written acknowledgment
    CA_OFFICIAL = "ca_official_receipt"
    DE_SINGLE = "de_zuwendungsbestaetigung"
    DE_COLLECTIVE = "de_sammelbestaetigung"


CURRENCY: dict[Jurisdiction, str] = {
    Jurisdiction.NL: "EUR", Jurisdiction.UK: "GBP", Jurisdiction.US: "USD",
    Jurisdiction.CA: "CAD", Jurisdiction.DE: "EUR",
}

COUNTRY: dict[str, Jurisdiction] = {
    "NL": Jurisdiction.NL, "GB": Jurisdiction.UK, "UK": Jurisdiction.UK, "US": Jurisdiction.US,
    "CA": Jurisdiction.CA, "DE": Jurisdiction.DE,
}


@dataclass(frozen=True)
class Charity:
    """Who issues the receipt, with the registration each jurisdiction asks for."""

    name: str
    street: str
    postcode: str
    city: str
    country: str
    rsin: str = ""
    hmrc_ref: str = ""
    ein: str = ""
    cra_number: str = ""
    de_finanzamt: str = ""
    de_steuernummer: str = ""
    de_notice_date: str = ""
    de_assessment_period: str = ""
    de_purpose: str = ""
    signatory: str = ""
    place: str = ""
    logo: str = ""

    @classmethod
    def from_settings(cls, s: Settings) -> Charity:
        return cls(
            name=s.org_name, street=s.org_street, postcode=s.org_postcode, city=s.org_city, country=s.org_country,
            rsin=s.org_rsin, hmrc_ref=s.org_hmrc_ref, ein=s.org_ein, cra_number=s.org_cra_number,
            de_finanzamt=s.org_de_finanzamt, de_steuernummer=s.org_de_steuernummer,
            de_notice_date=s.org_de_notice_date, de_assessment_period=s.org_de_assessment_period,
            de_purpose=s.org_de_purpose, signatory=s.receipt_signatory, place=s.receipt_place, logo=s.receipt_logo,
        )

    @property
    def address_line(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    def registered_in(self, jurisdiction: Jurisdiction) -> bool:
        """A receipt is only worth something where the charity holds the registration that goes on it."""
        return bool({
            Jurisdiction.NL: self.rsin,
            Jurisdiction.UK: self.hmrc_ref,
            Jurisdiction.US: self.ein,
            Jurisdiction.CA: self.cra_number,
            Jurisdiction.DE: self.de_finanzamt and self.de_steuernummer and self.de_notice_date,
        }[jurisdiction])


def jurisdiction_for(country: str | None, charity: Charity) -> Jurisdiction | None:
    """The tax system a donor's receipt follows: their country, if the charity is registered there."""
    j = COUNTRY.get((country or "").strip().upper())
    if j is None or not charity.registered_in(j):
        return None
    return j


@dataclass(frozen=True)
class DonorInfo:
    """What a receipt prints about the donor; stored as the receipt's snapshot."""

    id: int
    name: str
    first_name: str = ""
    initials: str = ""
    last_name: str = ""
    title: str = ""
    street: str = ""
    house_number: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "NL"
    language: str = "nl"
    email: str = ""
    birth_date: dt.date | None = None
    is_organisation: bool = False

    @property
    def address_lines(self) -> list[str]:
        number_first = self.country in ("GB", "UK", "US", "CA")  # "221B Baker Street" vs "Dorpsstraat 12"
        parts = (self.house_number, self.street) if number_first else (self.street, self.house_number)
        first = " ".join(p for p in parts if p)
        second = " ".join(p for p in (self.postcode, self.city) if p)
        return [line for line in (first, second) if line]

    def snapshot(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> DonorInfo:
        values = dict(data)
        if values.get("birth_date"):
            values["birth_date"] = dt.date.fromisoformat(values["birth_date"])
        return cls(**values)


@dataclass(frozen=True)
class LedgerGift:
    """One positive gift row as the receipt rules see it, with what they need to know around it."""

    id: int
    received_on: dt.date
    amount: Money
    channel: str = PaymentChannel.BANK_TRANSFER
    category: str = "individual_one_off"
    commitment_id: int | None = None
    reversed: bool = False
    advantage: Money | None = None  # goods or services received in return (fair market value)
    advantage_description: str = ""
    expense_waiver: bool = False  # DE: Verzicht auf Erstattung von Aufwendungen
    sponsored: bool = False  # UK: sponsored event

    @property
    def is_cash(self) -> bool:
        return self.channel == PaymentChannel.CASH

    @property
    def advantage_or_zero(self) -> Money:
        return self.advantage if self.advantage is not None else Money.zero(self.amount.currency)


@dataclass(frozen=True)
class Line:
    """One gift on a receipt, with the figures the jurisdiction prints for it."""

    gift_id: int
    on: dt.date
    amount: Money
    eligible: Money  # deductible / eligible amount
    advantage: Money
    description: str = ""
    group: str = ""  # e.g. "periodic:NL-2024-0001", "ordinary", "giftaid"
    note: str = ""


@dataclass(frozen=True)
class Draft:
    """Everything a receipt will say, decided by a jurisdiction's rules before it gets a number."""

    jurisdiction: Jurisdiction
    kind: ReceiptKind
    year: int
    donor: DonorInfo
    currency: str
    lines: tuple[Line, ...]
    language: str
    figures: dict[str, Any] = field(default_factory=dict)  # jurisdiction-specific totals and texts
    notes: tuple[str, ...] = ()

    @cached_property
    def total(self) -> Money:
        return Money(sum(line.amount.minor for line in self.lines), self.currency)

    @cached_property
    def eligible_total(self) -> Money:
        return Money(sum(line.eligible.minor for line in self.lines), self.currency)

    @cached_property
    def advantage_total(self) -> Money:
        return Money(sum(line.advantage.minor for line in self.lines), self.currency)

    @property
    def gift_ids(self) -> list[int]:
        return [line.gift_id for line in self.lines]


def year_gifts(gifts: list[LedgerGift] | tuple[LedgerGift, ...], year: int, currency: str) -> list[LedgerGift]:
    """The year's gifts in the receipt currency that still stand (a reversed gift is no gift)."""
    return sorted(
        (g for g in gifts if g.received_on.year == year and g.amount.currency == currency and not g.reversed),
        key=lambda g: (g.received_on, g.id),
    )


def language_for(donor: DonorInfo, supported: tuple[str, ...] = ("nl", "en")) -> str:
    lang = (donor.language or "").lower()[:2]
    if lang in supported:
        return lang
    return "en" if "en" in supported else supported[0]
