"""Scheduler jobs of the bequests package: plain functions taking dates, safe to run twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from donorcrm import audit
from donorcrm.db import session_scope, utcnow


def bequest_follow_up(on: dt.date | None = None, *, engine: Engine | None = None) -> int:
    """Daily: create follow-up tasks for cases that sat too long in their stage. Returns how many."""
    from donorcrm.bequests.service import create_follow_up_tasks

    with audit.acting_as("scheduler:bequest_follow_up"), session_scope(engine) as session:
        return len(create_follow_up_tasks(session, on or utcnow().date()))
