"""Campaign and Fund tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
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
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
