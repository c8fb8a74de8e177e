"""SEPA tables: mandates, runs, collections, files, pre-notifications and returns."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class MandateStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class MandateKind(StrEnum):
    RECURRENT = "recurrent"
    ONE_OFF = "one_off"


class RunStatus(StrEnum):
    RECORDING = "recording"  # collections being inserted; a rerun resumes here
    RECORDED = "recorded"  # every collection in; files not yet all written
    WRITTEN = "written"  # files written, validated and stored: ready to upload
    CONFIRMED = "confirmed"  # collections booked as gifts


class CollectionStatus(StrEnum):
    PLANNED = "planned"
    PRESENTED = "presented"  # in a written file
    CONFIRMED = "confirmed"  # booked as a gift
    RETURNED = "returned"


class Mandate(SQLModel, table=True):
    __tablename__ = "sepa_mandate"
    __table_args__ = (
        UniqueConstraint("creditor_id", "reference", name="uq_sepa_mandate_ref"),
        Index("ix_sepa_mandate_commitment", "commitment_id", "status"),
        Index("ix_sepa_mandate_iban", "iban"),
        # The expiry sweep and the warning list read a date range of the expiry anchor.
        Index("ix_sepa_mandate_anchor", "status", text("coalesce(last_presented_on, signed_on)")),
    )

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, index=True)
    commitment_id: int | None = Field(default=None, sa_column_args=[ForeignKey("commitment.id")])
    reference: str = Field(sa_type=String(35), nullable=False)
    creditor_id: str = Field(sa_type=String(35), nullable=False)
    creditor_name: str = Field(sa_type=String(140), nullable=False)
    scheme: str = Field(default="CORE", sa_type=String(4), nullable=False)
    kind: str = Field(default=MandateKind.RECURRENT, sa_type=String(10), nullable=False)
    iban: str = Field(sa_type=String(34), nullable=False)
    bic: str | None = Field(default=None, sa_type=String(11))
    holder: str = Field(sa_type=String(140), nullable=False)
    signed_on: dt.date = Field(nullable=False)
    status: str = Field(default=MandateStatus.ACTIVE, sa_type=String(10), nullable=False)
    status_reason: str | None = Field(default=None, sa_type=String(200))
    ended_on: dt.date | None = None
    last_presented_on: dt.date | None = None  # due date of the last collection presented to the bank
    # Amendment pending for the next collection (AmdmntInfDtls): what the bank knew before.
    original_reference: str | None = Field(default=None, sa_type=String(35))
    original_iban: str | None = Field(default=None, sa_type=String(34))
    amended_to_other_bank: bool = Field(default=False, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SepaRun(SQLModel, table=True):
    __tablename__ = "sepa_run"

    id: int | None = Field(default=None, primary_key=True)
    run_on: dt.date = Field(nullable=False, unique=True)
    status: str = Field(default=RunStatus.RECORDING, sa_type=String(12), nullable=False)
    version: str = Field(default="pain.008.001.02", sa_type=String(20), nullable=False)
    n_collections: int = Field(default=0, nullable=False)
    total_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    written_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Collection(SQLModel, table=True):
    """One debit of one commitment for one period and attempt; debtor data are a snapshot so a file
    can be rewritten byte for byte."""

    __tablename__ = "sepa_collection"
    __table_args__ = (
        UniqueConstraint("commitment_id", "period", "attempt", name="uq_sepa_collection_period"),
        UniqueConstraint("end_to_end_id", name="uq_sepa_collection_e2e"),
        Index("ix_sepa_collection_run", "run_id", "due_on", "sequence_type"),
        Index("ix_sepa_collection_mandate", "mandate_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column_args=[ForeignKey("sepa_run.id")], nullable=False)
    commitment_id: int = Field(sa_column_args=[ForeignKey("commitment.id")], nullable=False)
    mandate_id: int = Field(sa_column_args=[ForeignKey("sepa_mandate.id")], nullable=False)
    donor_id: int = Field(nullable=False, index=True)
    period: dt.date = Field(nullable=False)
    attempt: int = Field(default=1, nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    sequence_type: str = Field(sa_type=String(4), nullable=False)
    due_on: dt.date = Field(nullable=False)
    end_to_end_id: str = Field(sa_type=String(35), nullable=False)
    mandate_reference: str = Field(sa_type=String(35), nullable=False)
    mandate_signed_on: dt.date = Field(nullable=False)
    debtor_name: str = Field(sa_type=String(140), nullable=False)  # as in the CRM; transliterated on writing
    debtor_iban: str = Field(sa_type=String(34), nullable=False)
    debtor_bic: str | None = Field(default=None, sa_type=String(11))
    original_reference: str | None = Field(default=None, sa_type=String(35))
    original_iban: str | None = Field(default=None, sa_type=String(34))
    amended_to_other_bank: bool = Field(default=False, nullable=False)
    remittance: str = Field(default="", sa_type=String(140), nullable=False)
    status: str = Field(default=CollectionStatus.PLANNED, sa_type=String(10), nullable=False)
    file_id: int | None = Field(default=None, sa_column_args=[ForeignKey("sepa_file.id")])
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    return_code: str | None = Field(default=None, sa_type=String(4))
    returned_on: dt.date | None = None
    retry_wanted: bool = Field(default=False, nullable=False)


class SepaFile(SQLModel, table=True):
    __tablename__ = "sepa_file"
    __table_args__ = (UniqueConstraint("run_id", "message_id", name="uq_sepa_file_msg"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column_args=[ForeignKey("sepa_run.id")], nullable=False)
    message_id: str = Field(sa_type=String(35), nullable=False, unique=True)
    version: str = Field(sa_type=String(20), nullable=False)
    due_on: dt.date = Field(nullable=False)
    sequence_type: str = Field(sa_type=String(4), nullable=False)
    chunk: int = Field(default=1, nullable=False)
    n_transactions: int = Field(nullable=False)
    control_sum_minor: int = Field(sa_type=BigInteger, nullable=False)
    sha256: str = Field(sa_type=String(64), nullable=False)
    size: int = Field(sa_type=BigInteger, nullable=False)
    filename: str = Field(sa_type=String(200), nullable=False)
    content: bytes = Field(sa_type=LargeBinary, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Prenotification(SQLModel, table=True):
    """Outbox of pre-notices (§1.2): sent by mail or letter by whoever drains the outbox."""

    __tablename__ = "sepa_prenotification"
    __table_args__ = (UniqueConstraint("collection_id", name="uq_sepa_prenotification"),
                      Index("ix_sepa_prenotification_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column_args=[ForeignKey("sepa_run.id")], nullable=False)
    collection_id: int = Field(sa_column_args=[ForeignKey("sepa_collection.id")], nullable=False)
    donor_id: int = Field(nullable=False, index=True)
    channel: str = Field(sa_type=String(10), nullable=False)  # email, post
    address: str = Field(default="", sa_type=String(300), nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    due_on: dt.date = Field(nullable=False)
    mandate_reference: str = Field(sa_type=String(35), nullable=False)
    creditor_id: str = Field(sa_type=String(35), nullable=False)
    status: str = Field(default="pending", sa_type=String(10), nullable=False)  # pending, sent, skipped
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class SepaReturn(SQLModel, table=True):
    """A returned or rejected collection, as read from a pain.002 or camt.054 file (or a bank statement)."""

    __tablename__ = "sepa_return"
    __table_args__ = (UniqueConstraint("collection_id", name="uq_sepa_return_collection"),)

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(sa_column_args=[ForeignKey("sepa_collection.id")], nullable=False)
    reason_code: str = Field(sa_type=String(4), nullable=False)
    action: str = Field(sa_type=String(20), nullable=False)
    returned_on: dt.date = Field(nullable=False)
    source: str = Field(sa_type=String(20), nullable=False)  # pain.002, camt.054, camt.053, manual
    source_ref: str | None = Field(default=None, sa_type=String(120))
    reversal_gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    needs_review: bool = Field(default=False, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
