"""Operational lists for the admin: SEPA runs, returns by reason code, and the scheduler's job log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import Session

from donorcrm.jobs import JobRun
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


def job_runs(session: Session, limit: int = 200) -> list[JobLine]:
    """The scheduler's log: failures first, then running, then the rest; newest first within each."""
    rank = case((JobRun.outcome == "failed", 0), (JobRun.outcome == "running", 1), else_=2)
    stmt = select(JobRun).order_by(rank, JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)  # type: ignore[attr-defined]
    return [JobLine(j.id or 0, j.job, j.slot, j.outcome, j.started_at, j.finished_at, j.error, j.counts)
            for j in session.execute(stmt).scalars()]
