"""Receipt tables: receipts and their lines, serial counters, issuance runs, deliveries, PDFs,
per-gift receipt details, and the Gift Aid declarations and claims.

A receipt's content columns never change after insert (guarded in hooks.py); only its status moves
(issued -> voided) and its correction flag is raised. A gift is on at most one live receipt: the
line's ``live_gift_id`` is unique and set to NULL when the receipt is voided.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class ReceiptStatus(StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"


class RunStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class ItemStatus(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    SKIPPED = "skipped"  # nothing due after all, or already on a live receipt
    FAILED = "failed"


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    PRINT = "print"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # e-mailed, or written to a print file
    FAILED = "failed"  # retried until the attempt limit


class ReceiptCounter(SQLModel, table=True):
    """Last serial used per series and year; locked while numbering so serials stay gapless."""

    __tablename__ = "receipt_counter"

    series: str = Field(sa_type=String(20), primary_key=True)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_serial: int = Field(default=0, nullable=False)


class Receipt(SQLModel, table=True):
    __tablename__ = "receipt"
    __table_args__ = (
        UniqueConstraint("series", "year", "serial", name="uq_receipt_serial"),
        Index("ix_receipt_donor_year", "donor_id", "year"),
        Index("ix_receipt_year_status", "year", "status"),
        # Workers look for their run's receipts still without a PDF: a handful among millions.
        Index("ix_receipt_run_undrawn", "run_id", sqlite_where=text("pdf_sha256 IS NULL"),
              postgresql_where=text("pdf_sha256 IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(40), nullable=False, unique=True)  # e.g. NL-2025-000123
    series: str = Field(sa_type=String(20), nullable=False)
    year: int = Field(nullable=False)
    serial: int = Field(nullable=False)
    jurisdiction: str = Field(sa_type=String(2), nullable=False)
    kind: str = Field(sa_type=String(40), nullable=False)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    donor_snapshot: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    language: str = Field(sa_type=String(5), nullable=False)
    currency: str = Field(sa_type=String(3), nullable=False)
    total_minor: int = Field(sa_type=BigInteger, nullable=False)
    eligible_minor: int = Field(sa_type=BigInteger, nullable=False)
    advantage_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    issued_on: dt.date = Field(nullable=False)
    issued_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    issued_by: str = Field(default="system", sa_type=String(120), nullable=False)
    replaces_id: int | None = Field(default=None, sa_column_args=[ForeignKey("receipt.id")], unique=True)
    run_id: int | None = Field(default=None, sa_column_args=[ForeignKey("receipt_run.id")])
    pdf_sha256: str | None = Field(default=None, sa_type=String(64))
    # The only columns that change after issue:
    status: str = Field(default=ReceiptStatus.ISSUED, sa_type=String(10), nullable=False)
    voided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_by: str | None = Field(default=None, sa_type=String(120))
    void_reason: str | None = Field(default=None, sa_type=String(300))
    needs_correction: bool = Field(default=False, nullable=False)
    correction_reason: str | None = Field(default=None, sa_type=String(300))


IMMUTABLE_RECEIPT_COLUMNS = frozenset({
    "number", "series", "year", "serial", "jurisdiction", "kind", "donor_snapshot", "language", "currency",
    "total_minor", "eligible_minor", "advantage_minor", "figures", "issued_on", "issued_at", "issued_by",
    "replaces_id", "run_id",
})


class ReceiptLine(SQLModel, table=True):
    __tablename__ = "receipt_line"
    __table_args__ = (
        UniqueConstraint("live_gift_id", name="uq_receipt_line_live_gift"),
        Index("ix_receipt_line_receipt", "receipt_id"),
        Index("ix_receipt_line_gift", "gift_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(sa_column_args=[ForeignKey("receipt.id")], nullable=False)
    gift_id: int = Field(sa_column_args=[ForeignKey("gift.id")], nullable=False)
    live_gift_id: int | None = Field(default=None)  # = gift_id while the receipt is live, else NULL
    received_on: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    eligible_minor: int = Field(sa_type=BigInteger, nullable=False)
    advantage_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    description: str = Field(default="", sa_type=String(300))
    group_key: str = Field(default="", sa_type=String(60))
    note: str = Field(default="", sa_type=String(500))


class ReceiptPdf(SQLModel, table=True):
    """The rendered document, written once; its hash is on the receipt."""

    __tablename__ = "receipt_pdf"

    receipt_id: int = Field(sa_column_args=[ForeignKey("receipt.id")], primary_key=True,
                            sa_column_kwargs={"autoincrement": False})
    sha256: str = Field(sa_type=String(64), nullable=False)
    data: bytes = Field(sa_type=LargeBinary, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ReceiptRun(SQLModel, table=True):
    """One batch issuance for a year (and optionally one jurisdiction); resumable until done."""

    __tablename__ = "receipt_run"
    __table_args__ = (Index("ix_receipt_run_year", "year", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(nullable=False)
    jurisdiction: str | None = Field(default=None, sa_type=String(2))
    status: str = Field(default=RunStatus.OPEN, sa_type=String(10), nullable=False)
    dry_run: bool = Field(default=False, nullable=False)
    total_items: int = Field(default=0, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReceiptRunItem(SQLModel, table=True):
    __tablename__ = "receipt_run_item"
    __table_args__ = (
        UniqueConstraint("run_id", "donor_id", "jurisdiction", name="uq_receipt_run_item"),
        Index("ix_receipt_run_item_status", "run_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column_args=[ForeignKey("receipt_run.id")], nullable=False)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    jurisdiction: str = Field(sa_type=String(2), nullable=False)
    status: str = Field(default=ItemStatus.PENDING, sa_type=String(10), nullable=False)
    receipt_id: int | None = Field(default=None, sa_column_args=[ForeignKey("receipt.id")])
    error: str | None = Field(default=None, sa_type=String(500))
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReceiptDelivery(SQLModel, table=True):
    __tablename__ = "receipt_delivery"
    __table_args__ = (Index("ix_receipt_delivery_status", "status", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(sa_column_args=[ForeignKey("receipt.id")], nullable=False, unique=True)
    channel: str = Field(sa_type=String(10), nullable=False)
    address: str = Field(default="", sa_type=String(254))
    status: str = Field(default=DeliveryStatus.PENDING, sa_type=String(10), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_type=String(500))
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    print_file: str | None = Field(default=None, sa_type=String(300))


class GiftReceiptDetail(SQLModel, table=True):
    """What a receipt must know about a gift beyond the ledger: goods or services received in return
    (US quid pro quo, CA advantage, UK donor benefit), the German expense waiver, UK sponsored events."""

    __tablename__ = "gift_receipt_detail"

    gift_id: int = Field(sa_column_args=[ForeignKey("gift.id")], primary_key=True,
                         sa_column_kwargs={"autoincrement": False})
    advantage_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    advantage_description: str = Field(default="", sa_type=String(300))
    expense_waiver: bool = Field(default=False, nullable=False)
    sponsored: bool = Field(default=False, nullable=False)


class GiftAidDeclaration(SQLModel, table=True):
    __tablename__ = "giftaid_declaration"
    __table_args__ = (Index("ix_giftaid_declaration_donor", "donor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    made_on: dt.date = Field(nullable=False)
    scope: str = Field(default="all", sa_type=String(10), nullable=False)
    method: str = Field(default="written", sa_type=String(10), nullable=False)
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    record_sent_on: dt.date | None = None
    cancelled_on: dt.date | None = None
    cancel_note: str | None = Field(default=None, sa_type=String(300))
    # The declaration as made: name and address at that time.
    donor_name: str = Field(default="", sa_type=String(200), nullable=False)
    house: str = Field(default="", sa_type=String(100), nullable=False)
    postcode: str = Field(default="", sa_type=String(10), nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class GiftAidClaim(SQLModel, table=True):
    __tablename__ = "giftaid_claim"

    id: int | None = Field(default=None, primary_key=True)
    from_date: dt.date = Field(nullable=False)
    to_date: dt.date = Field(nullable=False)
    gifts_minor: int = Field(sa_type=BigInteger, nullable=False)
    tax_minor: int = Field(sa_type=BigInteger, nullable=False)
    rows: int = Field(nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)


class GiftAidClaimLine(SQLModel, table=True):
    """A gift claimed once: the unique gift key stops a second claim."""

    __tablename__ = "giftaid_claim_line"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(sa_column_args=[ForeignKey("giftaid_claim.id")], nullable=False, index=True)
    gift_id: int = Field(sa_column_args=[ForeignKey("gift.id")], nullable=False, unique=True)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)


# The guards live with the tables so every process that loads the schema enforces them.
from donorcrm.receipts import hooks as _hooks  # noqa: E402,F401
