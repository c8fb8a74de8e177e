"""Campaign and Fund tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, utcnow


class CampaignKind(StrEnum):
    APPEAL = "appeal"
    CROWDFUNDING = "crowdfunding"
    PEER_TO_PEER = "peer_to_peer"
    PETITION = "petition"
    EMAIL_ACTION = "email_action"
    EVENT = "event"
    BROADCAST = "broadcast"
    ACQUISITION = "acquisition"  # face-to-face, door-to-door, telemarketing recruitment
    OTHER = "other"


class Fund(SQLModel, table=True):
    """Where money may go: unrestricted general funds or a restricted purpose."""

    __tablename__ = "fund"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(40), unique=True, nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    restricted: bool = Field(default=False)
    purpose: str = Field(default="", sa_type=String(500))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(40), unique=True, nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    kind: str = Field(default=CampaignKind.APPEAL, sa_type=String(30), nullable=False)
    parent_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("campaign.id", ondelete="SET NULL")]
    )
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    goal_minor: int | None = Field(default=None, sa_type=BigInteger)
    cost_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    budget_minor: int | None = Field(default=None, sa_type=BigInteger)
    description: str = Field(default="", sa_type=String(2000))
    public_slug: str | None = Field(default=None, sa_type=String(80), unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PageKind(StrEnum):
    CAMPAIGN = "campaign"  # the campaign's own crowdfunding page
    PERSONAL = "personal"  # a supporter's peer-to-peer page
    TEAM = "team"


class PageStatus(StrEnum):
    PENDING = "pending"  # waiting for staff approval
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"


class PoolStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"


class SourceCode(SQLModel, table=True):
    """A code printed on an appeal letter, mailing segment or link, that gifts carry back."""

    __tablename__ = "campaign_source_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(40), unique=True, nullable=False)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id")], nullable=False, index=True)
    description: str = Field(default="", sa_type=String(200))
    cost_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)


class CampaignCost(SQLModel, table=True):
    __tablename__ = "campaign_cost"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id")], nullable=False, index=True)
    incurred_on: dt.date = Field(nullable=False)
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    description: str = Field(default="", sa_type=String(200))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class FundraisingPage(SQLModel, table=True):
    """A crowdfunding or peer-to-peer page under a campaign, with its own goal."""

    __tablename__ = "fundraising_page"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id")], nullable=False, index=True)
    slug: str = Field(sa_type=String(80), unique=True, nullable=False)
    title: str = Field(sa_type=String(200), nullable=False)
    story: str = Field(default="", sa_type=String(4000))
    kind: str = Field(default=PageKind.PERSONAL, sa_type=String(12), nullable=False)
    owner_donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    team_page_id: int | None = Field(default=None, sa_column_args=[ForeignKey("fundraising_page.id")])
    goal_minor: int | None = Field(default=None, sa_type=BigInteger)
    status: str = Field(default=PageStatus.PENDING, sa_type=String(12), nullable=False)
    reviewed_by: str | None = Field(default=None, sa_type=String(120))
    reviewed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PageCredit(SQLModel, table=True):
    """A gift credited to a page: the money is the giver's, the soft credit the page owner's."""

    __tablename__ = "page_credit"

    id: int | None = Field(default=None, primary_key=True)
    gift_id: int = Field(sa_column_args=[ForeignKey("gift.id")], nullable=False, unique=True)
    page_id: int = Field(sa_column_args=[ForeignKey("fundraising_page.id")], nullable=False, index=True)
    soft_credit_donor_id: int | None = Field(default=None, sa_column_args=[ForeignKey("donor.id")])
    anonymous: bool = Field(default=False)
    display_name: str | None = Field(default=None, sa_type=String(120))
    message: str | None = Field(default=None, sa_type=String(500))


class MatchPool(SQLModel, table=True):
    """A funder's pledge to match gifts to a campaign: ratio, caps, period and eligible channels."""

    __tablename__ = "match_pool"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id")], nullable=False, index=True)
    funder_donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    ratio_numerator: int = Field(default=1, nullable=False)  # 1:1 -> 1/1; 2:1 -> 2/1; 1:2 -> 1/2
    ratio_denominator: int = Field(default=1, nullable=False)
    cap_per_gift_minor: int | None = Field(default=None, sa_type=BigInteger)
    cap_total_minor: int = Field(sa_type=BigInteger, nullable=False)
    currency: str = Field(default="EUR", sa_type=String(3), nullable=False)
    starts_on: dt.date = Field(nullable=False)
    ends_on: dt.date = Field(nullable=False)
    eligible_channels: str = Field(default="", sa_type=String(200))  # comma list; empty = all
    category: str = Field(default="company", sa_type=String(30), nullable=False)  # of the funder's gift
    status: str = Field(default=PoolStatus.OPEN, sa_type=String(10), nullable=False)
    settled_gift_id: int | None = Field(default=None, sa_column_args=[ForeignKey("gift.id")])
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MatchAllocation(SQLModel, table=True):
    """How much of a pool one gift drew (kind match), or gave back when it was reversed (kind release)."""

    __tablename__ = "match_allocation"
    __table_args__ = (UniqueConstraint("pool_id", "gift_id", "kind", name="uq_match_once"),)

    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(sa_column_args=[ForeignKey("match_pool.id")], nullable=False, index=True)
    gift_id: int = Field(sa_column_args=[ForeignKey("gift.id")], nullable=False, index=True)
    kind: str = Field(sa_type=String(8), nullable=False)  # match | release
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)  # positive for match, negative release
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ActionParticipation(SQLModel, table=True):
    """A signer of a petition or participant in an e-mail action."""

    __tablename__ = "action_participation"
    __table_args__ = (UniqueConstraint("campaign_id", "donor_id", name="uq_action_once"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id")], nullable=False, index=True)
    donor_id: int = Field(sa_column_args=[ForeignKey("donor.id")], nullable=False, index=True)
    at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    source: str = Field(default="", sa_type=String(120))
    new_contact: bool = Field(default=False)
