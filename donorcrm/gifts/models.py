"""The Gift table: the ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow
from donorcrm.gifts.categories import EntryType


class Gift(SQLModel, table=True):
    """One ledger row. Gifts are positive; reversals are negative and point at the gift they undo."""

    __tablename__ = "gift"
    __table_args__ = (
        UniqueConstraint("source", "external_ref", name="uq_gift_source_ref"),
        UniqueConstraint("reverses_gift_id", name="uq_gift_reversal"),
        CheckConstraint(
            "(entry_type = 'gift' AND amount_minor > 0 AND reverses_gift_id IS NULL)"
            " OR (entry_type <> 'gift' AND amount_minor < 0 AND reverses_gift_id IS NOT NULL)",
            name="ck_gift_sign",
        ),
        Index("ix_gift_donor_date", "donor_id", "received_on"),
        Index("ix_gift_date_category", "received_on", "category"),
        Index("ix_gift_campaign", "campaign_id"),
        Index("ix_gift_fund", "fund_id"),
        Index("ix_gift_commitment", "commitment_id"),
        Index("ix_gift_grant", "grant_id"),  # created by the grants migration 0701
        # Legacy reports sum the few bequest gifts of a ledger of millions (bequests migration 0601).
        Index("ix_gift_bequest", "bequest_id", sqlite_where=text("bequest_id IS NOT NULL"),
              postgresql_where=text("bequest_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    entry_type: str = Field(default=EntryType.GIFT, sa_type=String(12), nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    received_on: dt.date = Field(nullable=False)
    channel: str = Field(sa_type=String(20), nullable=False)
    category: str = Field(sa_type=String(30), nullable=False)
    fund_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fund.id")])
    campaign_id: int | None = Field(default=None, sa_column_args=[ForeignKey("campaign.id")])
    source_code: str | None = Field(default=None, sa_type=String(40))
    # Links filled by recurring giving, bequests and grants (their tables come with those packages).
    commitment_id: int | None = None
    bequest_id: int | None = None
    grant_id: int | None = None
    reverses_gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    reason: str | None = Field(default=None, sa_type=String(200))  # reversal reason code / note
    source: str = Field(default="manual", sa_type=String(30), nullable=False)  # csv, sepa, stripe, mollie, bank
    external_ref: str | None = Field(default=None, sa_type=String(120))
    note: str | None = Field(default=None, sa_type=String(500))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)
