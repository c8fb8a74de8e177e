"""Commitment, CommitmentAmount and PeriodicAgreement tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


MONTHS_PER_PERIOD: dict[str, int] = {
    Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.YEARLY: 12,
}


class CommitmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    ENDED = "ended"


class PaymentRoute(StrEnum):
    SEPA = "sepa"  # our own creditor id, pain.008 files to our bank
    MOLLIE = "mollie"
    STRIPE = "stripe"
    STANDING_ORDER = "standing_order"  # the donor's own bank pushes a transfer


class Commitment(SQLModel, table=True):
    __tablename__ = "commitment"
    __table_args__ = (Index("ix_commitment_status_route", "status", "route"),)

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, index=True)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)  # current amount per period
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    frequency: str = Field(default=Frequency.MONTHLY, sa_type=String(12), nullable=False)
    collection_day: int = Field(default=1, nullable=False)  # 1..28 preferred day of the month
    starts_on: dt.date = Field(nullable=False)
    ends_on: dt.date | None = None
    route: str = Field(default=PaymentRoute.SEPA, sa_type=String(20), nullable=False)
    status: str = Field(default=CommitmentStatus.ACTIVE, sa_type=String(12), nullable=False)
    status_reason: str | None = Field(default=None, sa_type=String(200))
    fund_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fund.id")])
    campaign_id: int | None = Field(default=None, sa_column_args=[ForeignKey("campaign.id")])
    consecutive_failures: int = Field(default=0, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CommitmentAmount(SQLModel, table=True):
    """Amount history: the amount per period from an effective date on; the latest effective row applies."""

    __tablename__ = "commitment_amount"
    __table_args__ = (UniqueConstraint("commitment_id", "effective_from", name="uq_commitment_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(sa_column_args=[ForeignKey("commitment.id")], nullable=False)
    effective_from: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PeriodicAgreement(SQLModel, table=True):
    """A Dutch periodic-gift agreement (overeenkomst periodieke gift) attached to a commitment."""

    __tablename__ = "periodic_agreement"

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(sa_column_args=[ForeignKey("commitment.id")], nullable=False, unique=True)
    transaction_number: str = Field(sa_type=String(40), nullable=False, unique=True)
    yearly_amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    first_year: int = Field(nullable=False)
    term_years: int | None = None  # None = indefinite (until an end condition)
    signed_on: dt.date = Field(nullable=False)
    ends_on_death: bool = Field(default=True)
    end_conditions: str = Field(default="death,job_loss,disability,anbi_loss", sa_type=String(200))
    partner_name: str | None = Field(default=None, sa_type=String(200))
    stopped_on: dt.date | None = None
    stop_reason: str | None = Field(default=None, sa_type=String(40))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
