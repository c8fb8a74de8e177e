"""Tables of bank reconciliation: imported statements, their lines, and how each line was booked.

A line's open amount is its amount minus its active allocations; it is in the suspense queue while that
is not zero. Allocations are never deleted: undoing one stamps it undone and reverses its gift.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class LineStatus(StrEnum):
    OPEN = "open"  # something left in suspense
    BOOKED = "booked"  # fully accounted for


class AllocationKind(StrEnum):
    GIFT = "gift"  # a gift in the ledger
    EXPECTED = "expected"  # settles something expected elsewhere (a provider payout, a SEPA run already booked)
    RETURN = "return"  # a returned direct debit, handed to the return policy
    NOT_GIFT = "not_gift"  # bank charges, interest, internal transfers, refunds paid out


class NotGiftPurpose(StrEnum):
    FEE = "fee"
    INTEREST = "interest"
    INTERNAL_TRANSFER = "internal_transfer"
    REFUND = "refund"
    OTHER = "other"


class BankStatement(SQLModel, table=True):
    __tablename__ = "bank_statement"

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(sa_type=String(250), unique=True, nullable=False)
    message: str = Field(sa_type=String(10), nullable=False)  # camt.053 / camt.054 / camt.052
    version: str = Field(sa_type=String(10), nullable=False)
    message_id: str | None = Field(default=None, sa_type=String(70))
    statement_id: str = Field(sa_type=String(70), nullable=False)
    account: str = Field(sa_type=String(70), nullable=False, index=True)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    sequence: str | None = Field(default=None, sa_type=String(40))
    created_at_bank: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    opening_minor: int | None = Field(default=None, sa_type=BigInteger)
    closing_minor: int | None = Field(default=None, sa_type=BigInteger)
    entry_count: int = Field(default=0, nullable=False)
    line_count: int = Field(default=0, nullable=False)
    credit_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    debit_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    file_name: str | None = Field(default=None, sa_type=String(255))
    file_sha256: str = Field(sa_type=String(64), nullable=False)
    imported_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    imported_by: str = Field(default="system", sa_type=String(120), nullable=False)


class BankLine(SQLModel, table=True):
    __tablename__ = "bank_line"
    __table_args__ = (
        Index("ix_bank_line_status", "status", "booked_on"),
        Index("ix_bank_line_statement", "statement_id"),
        # No index on counterparty_iban or end_to_end_id: nothing looks lines up by them (IBANs are known
        # through donor_account; the queue's search is a substring match), and a large statement paid for both.
    )

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(sa_column_args=[ForeignKey("bank_statement.id")], nullable=False)
    ref: str = Field(sa_type=String(100), unique=True, nullable=False)  # statement + entry identity + detail
    entry_identity: str = Field(sa_type=String(60), nullable=False)
    tx_index: int = Field(default=0, nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)  # signed: credits positive
    open_minor: int = Field(sa_type=BigInteger, nullable=False)  # what is still in suspense
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    status: str = Field(default=LineStatus.OPEN, sa_type=String(10), nullable=False)
    booked_on: dt.date | None = None
    value_on: dt.date | None = None
    reversal: bool = Field(default=False, nullable=False)
    bank_tx_code: str | None = Field(default=None, sa_type=String(40))
    end_to_end_id: str | None = Field(default=None, sa_type=String(70))
    mandate_id: str | None = Field(default=None, sa_type=String(70))
    batch_ref: str | None = Field(default=None, sa_type=String(70))
    batch_count: int | None = None
    counterparty_name: str | None = Field(default=None, sa_type=String(140))
    counterparty_iban: str | None = Field(default=None, sa_type=String(34))
    remittance: str = Field(default="", sa_type=String(500), nullable=False)
    structured_ref: str | None = Field(default=None, sa_type=String(70))
    return_reason: str | None = Field(default=None, sa_type=String(10))
    acct_svcr_ref: str | None = Field(default=None, sa_type=String(70))
    description: str = Field(default="", sa_type=String(500), nullable=False)
    candidates: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)  # best few, with reasons
    matched_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class BankAllocation(SQLModel, table=True):
    """One booked part of a line. Active while undone_at is empty."""

    __tablename__ = "bank_allocation"
    __table_args__ = (
        UniqueConstraint("line_id", "seq", name="uq_bank_allocation_seq"),
        Index("ix_bank_allocation_line", "line_id"),
        Index("ix_bank_allocation_gift", "gift_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(sa_column_args=[ForeignKey("bank_line.id")], nullable=False)
    seq: int = Field(nullable=False)  # 1, 2, ... per line, never reused (part of the gift's external_ref)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)  # same sign as the line
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    kind: str = Field(sa_type=String(12), nullable=False)
    purpose: str | None = Field(default=None, sa_type=String(30))  # not-gift purpose or expectation kind
    donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    target_ref: str | None = Field(default=None, sa_type=String(64))  # expectation, e.g. "collection:991"
    rule: str = Field(default="manual", sa_type=String(30), nullable=False)
    score: int | None = None
    reason: str | None = Field(default=None, sa_type=String(300))
    note: str | None = Field(default=None, sa_type=String(300))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)
    undone_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by: str | None = Field(default=None, sa_type=String(120))
    undo_reason: str | None = Field(default=None, sa_type=String(200))
    reversal_gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
