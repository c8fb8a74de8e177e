"""Tables that mirror provider objects: events received, payments, subscriptions, payouts, fees.

Provider ids are strings; amounts are integer minor units plus currency, as in the ledger.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class PaymentEvent(SQLModel, table=True):
    """One webhook call or sync observation; processed exactly once per (provider, event_id).

    Stripe event ids are the provider's (evt_...). Mollie calls carry only a payment id, so their event id
    is that id plus a digest of the state fetched from the API: the same state seen twice is one event.
    """

    __tablename__ = "payment_event"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_payment_event"),
        Index("ix_payment_event_outcome", "outcome"),
        Index("ix_payment_event_object", "provider", "object_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    event_id: str = Field(sa_type=String(120), nullable=False)
    event_type: str = Field(sa_type=String(60), nullable=False)
    object_id: str = Field(sa_type=String(80), nullable=False)
    payload_hash: str = Field(sa_type=String(64), nullable=False)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    processed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="received", sa_type=String(12), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_type=String(500))


class ProviderPayment(SQLModel, table=True):
    """Our copy of a provider payment: who it is for, where it stands, which gift and payout it belongs to."""

    __tablename__ = "provider_payment"
    __table_args__ = (
        UniqueConstraint("provider", "payment_id", name="uq_provider_payment"),
        Index("ix_provider_payment_charge", "provider", "charge_ref"),
        Index("ix_provider_payment_payout", "provider", "payout_id"),
        Index("ix_provider_payment_subscription", "provider", "subscription_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    payment_id: str = Field(sa_type=String(80), nullable=False)
    status: str = Field(sa_type=String(12), nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    method: str | None = Field(default=None, sa_type=String(30))
    category: str | None = Field(default=None, sa_type=String(30))
    donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    commitment_id: int | None = Field(default=None, sa_column_args=[ForeignKey("commitment.id")])
    campaign_id: int | None = Field(default=None, sa_column_args=[ForeignKey("campaign.id")])
    fund_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fund.id")])
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])  # the live gift, if any
    customer_id: str | None = Field(default=None, sa_type=String(80))
    subscription_id: str | None = Field(default=None, sa_type=String(80))
    charge_ref: str | None = Field(default=None, sa_type=String(80))
    paid_on: dt.date | None = None
    payout_id: str | None = Field(default=None, sa_type=String(80))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ProviderSubscription(SQLModel, table=True):
    """The provider side of a commitment: customer, mandate and subscription ids."""

    __tablename__ = "provider_subscription"
    __table_args__ = (
        UniqueConstraint("provider", "subscription_id", name="uq_provider_subscription"),
        UniqueConstraint("commitment_id", name="uq_provider_subscription_commitment"),
        Index("ix_provider_subscription_first", "provider", "first_payment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    commitment_id: int = Field(sa_column_args=[ForeignKey("commitment.id")], nullable=False)
    customer_id: str = Field(sa_type=String(80), nullable=False)
    mandate_id: str | None = Field(default=None, sa_type=String(80))
    subscription_id: str | None = Field(default=None, sa_type=String(80))
    first_payment_id: str | None = Field(default=None, sa_type=String(80))
    interval_months: int = Field(default=1, nullable=False)
    description: str = Field(default="", sa_type=String(200), nullable=False)
    status: str = Field(default="pending", sa_type=String(12), nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ProviderPayout(SQLModel, table=True):
    """A Stripe payout or Mollie settlement: net money transferred to the charity's bank account."""

    __tablename__ = "provider_payout"
    __table_args__ = (UniqueConstraint("provider", "payout_id", name="uq_provider_payout"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    payout_id: str = Field(sa_type=String(80), nullable=False)
    reference: str | None = Field(default=None, sa_type=String(80))
    status: str = Field(sa_type=String(20), nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    paid_on: dt.date | None = None
    imported_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ProviderPayoutLine(SQLModel, table=True):
    """One transaction inside a payout; ``matched`` says whether we know the payment it belongs to."""

    __tablename__ = "provider_payout_line"
    __table_args__ = (
        UniqueConstraint("provider", "payout_id", "object_id", name="uq_provider_payout_line"),
        Index("ix_provider_payout_line_payment", "provider", "payment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    payout_id: str = Field(sa_type=String(80), nullable=False)
    kind: str = Field(sa_type=String(12), nullable=False)
    object_id: str = Field(sa_type=String(80), nullable=False)
    payment_id: str | None = Field(default=None, sa_type=String(80))
    gross_minor: int = Field(sa_type=BigInteger, nullable=False)
    fee_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    matched: bool = Field(default=False, nullable=False)


class ProviderFee(SQLModel, table=True):
    """A provider's cost, booked as a fundraising cost: per transaction (Stripe) or per period (Mollie)."""

    __tablename__ = "provider_fee"
    __table_args__ = (UniqueConstraint("provider", "external_ref", name="uq_provider_fee"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_type=String(10), nullable=False)
    external_ref: str = Field(sa_type=String(160), nullable=False)
    payout_id: str | None = Field(default=None, sa_type=String(80), index=True)
    payment_id: str | None = Field(default=None, sa_type=String(80))
    description: str = Field(default="", sa_type=String(200), nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)  # positive: money the charity paid
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    incurred_on: dt.date | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
