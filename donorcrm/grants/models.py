"""Funder, Grant, GrantInstalment, GrantReport, GrantReminder, RepaymentClaim, CofundingAllocation
and FundSpending tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class FunderKind(StrEnum):
    LOTTERY = "lottery"
    PRIVATE_FUND = "private_fund"  # foundations such as Oranjefonds, VSBfonds
    MINISTRY = "ministry"  # and other national government bodies
    MUNICIPALITY = "municipality"
    EU = "eu"
    COMPANY = "company"
    AFFILIATED = "affiliated"  # affiliated non-profits (verbonden organisaties)


class GrantStage(StrEnum):
    DRAFT = "draft"  # application being written
    APPLIED = "applied"  # submitted, awaiting decision
    AWARDED = "awarded"  # decision (verlening): amount, conditions, instalments, reports
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SETTLEMENT_REQUESTED = "settlement_requested"  # final account sent (aanvraag vaststelling)
    SETTLED = "settled"  # settled amount fixed (vaststelling), at most the awarded amount
    CLOSED = "closed"  # nothing left to receive or repay


class InstalmentStatus(StrEnum):
    PLANNED = "planned"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class ReportKind(StrEnum):
    INTERIM = "interim"
    ANNUAL = "annual"
    FINAL = "final"
    FINANCIAL = "financial"  # account of costs and income for settlement
    AUDIT_STATEMENT = "audit_statement"  # auditor's statement (controleverklaring)


class ReportStatus(StrEnum):
    DUE = "due"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    WAIVED = "waived"


class ReminderSubject(StrEnum):
    REPORT = "report"
    INSTALMENT = "instalment"
    REPAYMENT = "repayment"


class ReminderLevel(StrEnum):
    UPCOMING = "upcoming"  # due within the horizon
    OVERDUE = "overdue"  # past due
    ESCALATED = "escalated"  # overdue for longer than the escalation period


class Funder(SQLModel, table=True):
    """An institutional funder. Its name, address and IBANs live on its donor row (kind organisation),
    so its gifts show in the ledger with a donor like every other gift."""

    __tablename__ = "funder"

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, unique=True)
    kind: str = Field(sa_type=String(20), nullable=False, index=True)
    code: str = Field(sa_type=String(40), nullable=False, unique=True)  # short handle: "NPL", "JENV"
    contact_name: str | None = Field(default=None, sa_type=String(200))
    contact_email: str | None = Field(default=None, sa_type=String(254))
    note: str | None = Field(default=None, sa_type=String(500))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Grant(SQLModel, table=True):
    """One application and, if awarded, the grant that follows from it."""

    __tablename__ = "institutional_grant"  # "grant" is an SQL keyword
    __table_args__ = (
        CheckConstraint("awarded_minor IS NULL OR awarded_minor > 0", name="ck_grant_awarded_positive"),
        CheckConstraint(
            "settled_minor IS NULL OR (settled_minor >= 0 AND settled_minor <= awarded_minor)",
            name="ck_grant_settled_le_awarded",
        ),
        Index("ix_grant_stage", "stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    funder_id: int = Field(sa_column_args=[ForeignKey("funder.id")], nullable=False, index=True)
    reference: str = Field(sa_type=String(60), nullable=False, unique=True)  # ours
    funder_reference: str | None = Field(default=None, sa_type=String(80))  # their case / decision number
    title: str = Field(sa_type=String(200), nullable=False)
    purpose: str = Field(default="", sa_type=String(1000))
    stage: str = Field(default=GrantStage.DRAFT, sa_type=String(24), nullable=False)
    category: str = Field(sa_type=String(30), nullable=False)  # income category, from the funder kind
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    requested_minor: int | None = Field(default=None, sa_type=BigInteger)
    budget_minor: int | None = Field(default=None, sa_type=BigInteger)  # total project costs
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    applied_on: dt.date | None = None
    decided_on: dt.date | None = None
    awarded_minor: int | None = Field(default=None, sa_type=BigInteger)
    conditions: str | None = Field(default=None, sa_type=String(2000))
    fund_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fund.id")])  # restricted purpose
    # Co-funding: a percentage of the budget (basis points: 2500 = 25%) or a fixed amount, or neither.
    cofunding_basis_points: int | None = None
    cofunding_minor: int | None = Field(default=None, sa_type=BigInteger)
    settlement_requested_on: dt.date | None = None
    settlement_claimed_minor: int | None = Field(default=None, sa_type=BigInteger)  # realised costs claimed
    settled_on: dt.date | None = None
    settled_minor: int | None = Field(default=None, sa_type=BigInteger)
    closed_on: dt.date | None = None
    note: str | None = Field(default=None, sa_type=String(1000))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class GrantInstalment(SQLModel, table=True):
    """A planned payment by the funder. Multi-year grants carry one schedule per year (schedule_year)."""

    __tablename__ = "grant_instalment"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_instalment_positive"),
        UniqueConstraint("grant_id", "seq", name="uq_instalment_seq"),
        Index("ix_instalment_due", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column_args=[ForeignKey("institutional_grant.id")], nullable=False, index=True)
    seq: int = Field(nullable=False)  # 1, 2, ... within the grant
    schedule_year: int | None = None
    due_on: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    condition: str = Field(default="", sa_type=String(200))  # "on signature", "after final report"
    status: str = Field(default=InstalmentStatus.PLANNED, sa_type=String(12), nullable=False)
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    received_on: dt.date | None = None


class GrantReport(SQLModel, table=True):
    __tablename__ = "grant_report"
    __table_args__ = (Index("ix_grant_report_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column_args=[ForeignKey("institutional_grant.id")], nullable=False, index=True)
    kind: str = Field(sa_type=String(20), nullable=False)
    period_year: int | None = None  # for annual reports of multi-year grants
    due_on: dt.date = Field(nullable=False)
    status: str = Field(default=ReportStatus.DUE, sa_type=String(12), nullable=False)
    submitted_on: dt.date | None = None
    accepted_on: dt.date | None = None
    note: str | None = Field(default=None, sa_type=String(500))


class RepaymentClaim(SQLModel, table=True):
    """Advances received above the settled amount, to be paid back to the funder."""

    __tablename__ = "grant_repayment"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="ck_repayment_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column_args=[ForeignKey("institutional_grant.id")], nullable=False, index=True)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    claimed_on: dt.date = Field(nullable=False)
    due_on: dt.date = Field(nullable=False)
    paid_on: dt.date | None = None
    payment_ref: str | None = Field(default=None, sa_type=String(120))


class GrantReminder(SQLModel, table=True):
    """A reminder about a report, instalment or repayment; one per subject and level, so the job is idempotent."""

    __tablename__ = "grant_reminder"
    __table_args__ = (
        UniqueConstraint("subject", "subject_id", "level", name="uq_grant_reminder"),
        Index("ix_grant_reminder_open", "acknowledged_at", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column_args=[ForeignKey("institutional_grant.id")], nullable=False, index=True)
    subject: str = Field(sa_type=String(12), nullable=False)
    subject_id: int = Field(nullable=False)
    level: str = Field(sa_type=String(12), nullable=False)
    due_on: dt.date = Field(nullable=False)
    message: str = Field(sa_type=String(300), nullable=False)
    created_on: dt.date = Field(nullable=False)
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, sa_type=String(120))


class CofundingAllocation(SQLModel, table=True):
    """Own (donor) income set against a grant's co-funding obligation: a specific gift or a fund."""

    __tablename__ = "grant_cofunding"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_cofunding_positive"),
        CheckConstraint("(gift_id IS NULL) <> (fund_id IS NULL)", name="ck_cofunding_one_source"),
        Index("ix_cofunding_gift", "gift_id"),
        Index("ix_cofunding_fund", "fund_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column_args=[ForeignKey("institutional_grant.id")], nullable=False, index=True)
    gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    fund_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fund.id")])
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    allocated_on: dt.date = Field(nullable=False)
    note: str | None = Field(default=None, sa_type=String(300))
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)


class FundSpending(SQLModel, table=True):
    """Money spent from a restricted fund, as booked in the finance system (credit notes are negative)."""

    __tablename__ = "fund_spending"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="ck_spending_nonzero"),
        UniqueConstraint("source", "external_ref", name="uq_spending_source_ref"),
        Index("ix_spending_fund_date", "fund_id", "spent_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fund_id: int = Field(sa_column_args=[ForeignKey("fund.id")], nullable=False)
    grant_id: int | None = Field(default=None, sa_column_args=[ForeignKey("institutional_grant.id")])
    spent_on: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    description: str = Field(sa_type=String(300), nullable=False)
    source: str = Field(default="manual", sa_type=String(30), nullable=False)
    external_ref: str | None = Field(default=None, sa_type=String(120))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="system", sa_type=String(120), nullable=False)
