"""Audit trail: who changed which donor data or moved which money, when, and from what to what.

The actor is a context variable set once by the front end (CLI user, admin login, scheduler job),
so services need not pass it around.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlmodel import Field, Session, SQLModel

from donorcrm.db import UTCDateTime, utcnow

_actor: contextvars.ContextVar[str] = contextvars.ContextVar("donorcrm_actor", default="system")


def current_actor() -> str:
    return _actor.get()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(actor: str) -> None:
    _actor.set(actor)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(sa_type=String(120), nullable=False)
    action: str = Field(sa_type=String(60), nullable=False, index=True)
    entity: str = Field(sa_type=String(60), nullable=False)
    entity_id: str | None = Field(default=None, sa_type=String(64))
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return json.loads(json.dumps(data, default=str))


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: object = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditLog:
    row = AuditLog(
        actor=actor or current_actor(),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(row)
    return row


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, so an audit row says what changed rather than everything."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
