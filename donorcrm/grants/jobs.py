"""Scheduled work for grants: plain module-level functions taking dates, so a job store can serialise them."""

from __future__ import annotations

import datetime as dt

from donorcrm.audit import acting_as
from donorcrm.db import get_engine, session_scope
from donorcrm.grants import service


def grant_reminders(today: dt.date | None = None, database_url: str | None = None) -> int:
    """Create reminders for reports, instalments and repayments due within the horizon (default 30 days)
    and escalate overdue ones. Safe to run more than once a day. Returns the number created."""
    today = today or dt.date.today()
    with acting_as("scheduler:grant_reminders"), session_scope(get_engine(database_url)) as session:
        return len(service.create_reminders(session, today=today))


# What scheduler.py registers: (function, cron fields). Daily, before the working day starts.
JOBS = ((grant_reminders, {"hour": 6, "minute": 10}),)
