"""Donor, Household, DonorAccount and ConsentEvent tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class DonorKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class DonorStatus(StrEnum):
    ACTIVE = "active"
    DECEASED = "deceased"
    ERASED = "erased"
    MERGED = "merged"


class Channel(StrEnum):
    POST = "post"
    EMAIL = "email"
    PHONE = "phone"
    SMS = "sms"


class Purpose(StrEnum):
    FUNDRAISING = "fundraising"
    NEWSLETTER = "newsletter"
    CAMPAIGNS = "campaigns"  # petitions and actions
    RECEIPTS = "receipts"  # tax statements by e-mail instead of post


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class Household(SQLModel, table=True):
    __tablename__ = "household"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200), nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DonorBase(SQLModel):
    kind: str = Field(default=DonorKind.PERSON, sa_type=String(20), nullable=False)
    salutation: str | None = Field(default=None, sa_type=String(40))
    initials: str | None = Field(default=None, sa_type=String(20))
    first_name: str | None = Field(default=None, sa_type=String(100))
    name_infix: str | None = Field(default=None, sa_type=String(30))  # Dutch tussenvoegsel: "van der"
    last_name: str | None = Field(default=None, sa_type=String(150))
    organisation_name: str | None = Field(default=None, sa_type=String(200))
    language: str = Field(default="nl", sa_type=String(5), nullable=False)
    street: str | None = Field(default=None, sa_type=String(200))
    house_number: str | None = Field(default=None, sa_type=String(20))
    postcode: str | None = Field(default=None, sa_type=String(20))
    city: str | None = Field(default=None, sa_type=String(100))
    country: str = Field(default="NL", sa_type=String(2), nullable=False)
    email: str | None = Field(default=None, sa_type=String(254))
    phone: str | None = Field(default=None, sa_type=String(40))
    birth_date: dt.date | None = None


class Donor(DonorBase, table=True):
    __tablename__ = "donor"
    __table_args__ = (
        Index("ix_donor_last_name", "last_name"),
        Index("ix_donor_postcode", "postcode"),
        Index("ix_donor_email", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str | None = Field(default=None, sa_type=String(64), unique=True)  # external/import key
    status: str = Field(default=DonorStatus.ACTIVE, sa_type=String(20), nullable=False, index=True)
    household_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("household.id", ondelete="SET NULL")]
    )
    organisation_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    acquisition_campaign_id: int | None = Field(default=None, sa_column_args=[ForeignKey("campaign.id")])
    merged_into_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    deceased_on: dt.date | None = None
    erased_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def display_name(self) -> str:
        if self.kind == DonorKind.ORGANISATION and self.organisation_name:
            return self.organisation_name
        parts = [self.first_name or self.initials, self.name_infix, self.last_name]
        return " ".join(p for p in parts if p) or f"Donor {self.id}"


class DonorCreate(DonorBase):
    reference: str | None = None
    household_id: int | None = None
    organisation_id: int | None = None
    acquisition_campaign_id: int | None = None


class DonorRead(DonorBase):
    id: int
    reference: str | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class DonorAccount(SQLModel, table=True):
    """A bank account seen for a donor: from a mandate, an import or a bank transfer."""

    __tablename__ = "donor_account"
    __table_args__ = (
        UniqueConstraint("donor_id", "iban", name="uq_donor_account"),
        Index("ix_donor_account_iban", "iban"),
        Index("ix_donor_account_last4", "iban_last4"),
    )

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    iban: str = Field(sa_type=String(34), nullable=False)
    iban_last4: str = Field(sa_type=String(4), nullable=False)
    bic: str | None = Field(default=None, sa_type=String(11))
    holder: str | None = Field(default=None, sa_type=String(140))
    source: str = Field(default="manual", sa_type=String(30))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ConsentEvent(SQLModel, table=True):
    """Consent is a history, never overwritten: the latest event per channel and purpose counts."""

    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_lookup", "donor_id", "channel", "purpose", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    channel: str = Field(sa_type=String(10), nullable=False)
    purpose: str = Field(sa_type=String(20), nullable=False)
    status: str = Field(sa_type=String(10), nullable=False)
    at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    source: str = Field(default="", sa_type=String(120))
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
