"""Operational lists for the admin: SEPA runs, returns by reason code, and the scheduler's job log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import Session

from donorcrm.db import utcnow
from donorcrm.jobs import LEASE, JobRun
from donorcrm.sepa.models import SepaReturn, SepaRun


@dataclass(frozen=True)
class RunLine:
    id: int
    run_on: dt.date
    status: str
    collections: int
    total_minor: int
    written_at: dt.datetime | None
    confirmed_at: dt.datetime | None


def recent_runs(session: Session, limit: int = 12) -> list[RunLine]:
    rows = session.execute(select(SepaRun).order_by(SepaRun.run_on.desc()).limit(limit)).scalars()  # type: ignore[attr-defined]
    return [RunLine(r.id or 0, r.run_on, r.status, r.n_collections, r.total_minor, r.written_at, r.confirmed_at)
            for r in rows]


def returns_by_reason(session: Session, since: dt.date) -> list[tuple[str, int, int]]:
    """(reason code, returns, of which need review) since a date, most frequent first."""
    review = func.sum(case((SepaReturn.needs_review, 1), else_=0))
    stmt = (select(SepaReturn.reason_code, func.count(), review).where(SepaReturn.returned_on >= since)
            .group_by(SepaReturn.reason_code).order_by(func.count().desc(), SepaReturn.reason_code))
    return [(code, int(n), int(r or 0)) for code, n, r in session.execute(stmt)]


@dataclass(frozen=True)
class JobLine:
    id: int
    job: str
    slot: str
    outcome: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    counts: dict | None
    attempt: int = 1
    heartbeat_at: dt.datetime | None = None
    stalled: bool = False  # "running" without a heartbeat for longer than the lease: its process is gone


def job_runs(session: Session, limit: int = 200, *, now: dt.datetime | None = None) -> list[JobLine]:
    """The scheduler's log: failures first, then running, then the rest; newest first within each."""
    rank = case((JobRun.outcome == "failed", 0), (JobRun.outcome == "running", 1), else_=2)
    stmt = select(JobRun).order_by(rank, JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)  # type: ignore[attr-defined]
    cutoff = (now or utcnow()) - LEASE
    return [JobLine(j.id or 0, j.job, j.slot, j.outcome, j.started_at, j.finished_at, j.error, j.counts,
                    j.attempt, j.heartbeat_at,
                    j.outcome == "running" and (j.heartbeat_at or j.started_at) < cutoff)
            for j in session.execute(stmt).scalars()]
