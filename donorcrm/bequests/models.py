"""Tables of the legacy pipeline: pledges, cases with their stage history, contacts, documents,
estimates, follow-up tasks and "possible legacy?" checks.

Estate contacts (executor, notary, co-beneficiaries, life tenant) live in their own small table rather
than as donors: they are not our supporters, must not appear in donor counts, retention figures,
mailings or consent lists, and they belong to one estate. A contact that happens to be a donor can be
linked through `donor_id`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlmodel import Field, SQLModel

from donorcrm.bequests.rules import Stage
from donorcrm.db import UTCDateTime, utcnow


class PledgeStatus(StrEnum):
    INTENDED = "intended"  # told us they will (or are considering to) remember us
    CONFIRMED = "confirmed"  # confirmed the will names us
    WITHDRAWN = "withdrawn"
    DECEASED = "deceased"  # the pledger died: a case or a check follows


class ContactRole(StrEnum):
    EXECUTOR = "executor"
    NOTARY = "notary"
    CO_BENEFICIARY = "co_beneficiary"
    LIFE_TENANT = "life_tenant"
    OTHER = "other"


class DocumentKind(StrEnum):
    WILL = "will"
    DEATH_CERTIFICATE = "death_certificate"
    CERTIFICATE_OF_INHERITANCE = "certificate_of_inheritance"  # verklaring van erfrecht
    ESTATE_ACCOUNTS = "estate_accounts"  # rekening en verantwoording
    DEED_OF_DISTRIBUTION = "deed_of_distribution"  # akte van verdeling
    OTHER = "other"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SUPERSEDED = "superseded"  # the case moved on before anyone acted


class CheckStatus(StrEnum):
    OPEN = "open"
    CASE_OPENED = "case_opened"
    NO_LEGACY = "no_legacy"
    MERGED = "merged"  # the donor was a duplicate; the survivor's check goes on


class BequestPledge(SQLModel, table=True):
    """A living supporter who told us of a gift in their will, or is likely to have made one."""

    __tablename__ = "bequest_pledge"

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, index=True)
    status: str = Field(default=PledgeStatus.INTENDED, sa_type=String(12), nullable=False)
    learned_on: dt.date = Field(nullable=False)
    learned_how: str = Field(default="conversation", sa_type=String(40), nullable=False)  # form, letter, survey...
    kind: str | None = Field(default=None, sa_type=String(20))  # expected LegacyKind, if told
    estimated_minor: int | None = Field(default=None, sa_type=BigInteger)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    steward: str | None = Field(default=None, sa_type=String(120))  # who keeps in touch
    last_contact_on: dt.date | None = None
    next_contact_on: dt.date | None = None
    note: str | None = Field(default=None, sa_type=String(500))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BequestCase(SQLModel, table=True):
    """One estate that (may) leave us money, from the notice of death to the last payment."""

    __tablename__ = "bequest_case"
    __table_args__ = (Index("ix_bequest_case_stage", "stage", "stage_since"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_type=String(40), nullable=False, unique=True)
    donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")], index=True)
    pledge_id: int | None = Field(default=None, sa_column_args=[ForeignKey("bequest_pledge.id")])
    deceased_name: str = Field(sa_type=String(200), nullable=False)
    deceased_on: dt.date | None = None
    notified_on: dt.date = Field(nullable=False)
    kind: str = Field(sa_type=String(20), nullable=False)
    dutch_form: str | None = Field(default=None, sa_type=String(12))  # erfstelling or legaat
    share_bp: int | None = None  # residuary share in basis points (2500 = 25%)
    item: str | None = Field(default=None, sa_type=String(200))  # a specific legacy: what
    condition: str | None = Field(default=None, sa_type=String(300))  # a contingent legacy: on what
    stage: str = Field(default=Stage.NOTIFIED, sa_type=String(24), nullable=False)
    stage_since: dt.date = Field(nullable=False)
    resume_stage: str | None = Field(default=None, sa_type=String(24))  # while disputed
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    estimated_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)  # latest estimate, gross
    estimated_on: dt.date | None = None
    estimate_source: str | None = Field(default=None, sa_type=String(120))
    estimate_reliable: bool = Field(default=False, nullable=False)
    usufruct_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)  # value of a life interest
    usufruct_ends_on: dt.date | None = None  # the life tenant died
    deed_on: dt.date | None = None  # deed of distribution / estate accounts received
    closed_on: dt.date | None = None
    note: str | None = Field(default=None, sa_type=String(500))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BequestStageEvent(SQLModel, table=True):
    """Every stage change: who, when, from and to. The forecast learns stage durations from these."""

    __tablename__ = "bequest_stage_event"
    __table_args__ = (Index("ix_bequest_stage_event_case", "case_id", "entered_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column_args=[ForeignKey("bequest_case.id")], nullable=False)
    from_stage: str | None = Field(default=None, sa_type=String(24))
    to_stage: str = Field(sa_type=String(24), nullable=False)
    entered_on: dt.date = Field(nullable=False)
    actor: str = Field(sa_type=String(120), nullable=False)
    note: str | None = Field(default=None, sa_type=String(300))
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BequestEstimate(SQLModel, table=True):
    """The history of a case's estimated value: recognition needs what was known when."""

    __tablename__ = "bequest_estimate"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column_args=[ForeignKey("bequest_case.id")], nullable=False, index=True)
    estimated_on: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    reliable: bool = Field(default=False, nullable=False)
    source: str = Field(default="", sa_type=String(120), nullable=False)
    actor: str = Field(sa_type=String(120), nullable=False)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BequestContact(SQLModel, table=True):
    __tablename__ = "bequest_contact"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column_args=[ForeignKey("bequest_case.id")], nullable=False, index=True)
    role: str = Field(sa_type=String(20), nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    organisation: str | None = Field(default=None, sa_type=String(200))
    email: str | None = Field(default=None, sa_type=String(254))
    phone: str | None = Field(default=None, sa_type=String(40))
    address: str | None = Field(default=None, sa_type=String(300))
    share_bp: int | None = None  # a co-beneficiary's share
    birth_date: dt.date | None = None  # a life tenant's: the usufruct's value depends on age
    donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])


class BequestDocument(SQLModel, table=True):
    __tablename__ = "bequest_document"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column_args=[ForeignKey("bequest_case.id")], nullable=False, index=True)
    kind: str = Field(sa_type=String(30), nullable=False)
    received_on: dt.date = Field(nullable=False)
    note: str | None = Field(default=None, sa_type=String(300))


class BequestTask(SQLModel, table=True):
    """A follow-up for a person: chase documents, ask the executor for accounts..."""

    __tablename__ = "bequest_task"
    __table_args__ = (Index("ix_bequest_task_open", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column_args=[ForeignKey("bequest_case.id")], nullable=False, index=True)
    kind: str = Field(sa_type=String(40), nullable=False)
    text: str = Field(sa_type=String(300), nullable=False)
    stage: str = Field(sa_type=String(24), nullable=False)
    created_on: dt.date = Field(nullable=False)
    due_on: dt.date = Field(nullable=False)
    status: str = Field(default=TaskStatus.OPEN, sa_type=String(12), nullable=False)
    done_on: dt.date | None = None
    assigned_to: str | None = Field(default=None, sa_type=String(120))


class BequestCheck(SQLModel, table=True):
    """"Possible legacy?": opened when we learn a donor died (SEPA return MD07, a letter, a relative)."""

    __tablename__ = "bequest_check"
    __table_args__ = (
        # At most one open check per donor, enforced by the database on both engines.
        Index("uq_bequest_check_open", "donor_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, index=True)
    source: str = Field(sa_type=String(60), nullable=False)
    opened_on: dt.date = Field(nullable=False)
    status: str = Field(default=CheckStatus.OPEN, sa_type=String(12), nullable=False)
    priority: str = Field(default="normal", sa_type=String(8), nullable=False)  # high for known pledgers
    closed_on: dt.date | None = None
    case_id: int | None = Field(default=None, sa_column_args=[ForeignKey("bequest_case.id")])
    note: str | None = Field(default=None, sa_type=String(300))
