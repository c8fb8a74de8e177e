"""Scheduled jobs: plain module-level functions, and the JobRun table that guards and records them.

Every firing is keyed by (job, slot), the slot being the scheduled time it stands for. The key is a
unique row in job_run, claimed in its own committed transaction before the work starts, so a job
fired twice, or by two scheduler processes sharing one job store, runs once per slot.
Other domains add their jobs to ``JOBS``.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from donorcrm.db import UTCDateTime, get_engine, session_scope, utcnow


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_job_run_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(sa_type=String(60), nullable=False)
    slot: str = Field(sa_type=String(40), nullable=False)  # the scheduled time this firing stands for
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="running", sa_type=String(10), nullable=False)  # running, ok, failed
    counts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=String(4000))
    host: str | None = Field(default=None, sa_type=String(120))


@dataclass(frozen=True)
class JobOutcome:
    job: str
    slot: str
    ran: bool  # False: another firing already owns this slot
    outcome: str
    counts: dict[str, Any]


def claim(engine: Engine, job: str, slot: str) -> int | None:
    """Insert the (job, slot) row; None when another process already has it."""
    import socket

    try:
        with engine.begin() as conn:
            return conn.execute(
                insert(JobRun.__table__).values(  # type: ignore[attr-defined]
                    job=job, slot=slot, started_at=utcnow(), outcome="running", host=socket.gethostname()[:120],
                ).returning(JobRun.__table__.c.id)  # type: ignore[attr-defined]
            ).scalar_one()
    except IntegrityError:
        return None


def run_guarded(job: str, slot: str, fn: Callable[[], dict[str, Any] | int | None],
                engine: Engine | None = None) -> JobOutcome:
    """Run ``fn`` once for (job, slot) and record its outcome, counts or error."""
    engine = engine or get_engine()
    run_id = claim(engine, job, slot)
    if run_id is None:
        return JobOutcome(job, slot, False, "skipped", {})
    table = JobRun.__table__  # type: ignore[attr-defined]
    try:
        result = fn()
        counts = result if isinstance(result, dict) else {"count": result or 0}
    except Exception as exc:  # recorded for the admin, then re-raised for the scheduler's log
        with engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == run_id).values(
                finished_at=utcnow(), outcome="failed",
                error=(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")[:4000]))
        raise
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == run_id).values(
            finished_at=utcnow(), outcome="ok", counts=_jsonable(counts)))
    return JobOutcome(job, slot, True, "ok", counts)


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in counts.items()}


def recent_runs(engine: Engine | None = None, limit: int = 50) -> list[dict[str, Any]]:
    with (engine or get_engine()).connect() as conn:
        rows = conn.execute(select(JobRun.__table__).order_by(JobRun.__table__.c.id.desc()).limit(limit))  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in rows]


# -- SEPA jobs ---------------------------------------------------------------------------------------

def sepa_collection_run(on: dt.date | None = None, out_dir: str | None = None) -> dict[str, Any]:
    """The monthly collection run: record, write and store the files, fill the pre-notification outbox."""
    from donorcrm.config import get_settings
    from donorcrm.sepa import service

    on = on or dt.date.today()
    settings = get_settings()
    result = service.run_collections(on, settings=settings, out_dir=out_dir or str(settings.data_dir / "sepa-out"))
    with session_scope() as s:
        notes = service.build_prenotifications(s, result.run_id, settings=settings)
    return {"run_id": result.run_id, "collections": result.n_collections, "files": len(result.files),
            "prenotifications": notes}


def sepa_prenotifications(on: dt.date | None = None) -> dict[str, Any]:
    """Fill the pre-notification outbox of every run that does not have one yet."""
    from donorcrm.config import get_settings
    from donorcrm.sepa import service

    settings = get_settings()
    total = 0
    with session_scope() as s:
        for run_id in service.runs_without_prenotifications(s):
            total += service.build_prenotifications(s, run_id, settings=settings)
    return {"prenotifications": total}


def sepa_mandate_expiry(on: dt.date | None = None) -> dict[str, Any]:
    """Expire mandates unused for 36 months; count those that expire within a month (the warning list)."""
    from donorcrm.sepa import mandates

    on = on or dt.date.today()
    with session_scope() as s:
        expired = mandates.expire_unused(s, on)
        warning = len(mandates.expiring(s, on))
    return {"expired": expired, "expiring_within_month": warning}


def sepa_return_inbox(on: dt.date | None = None, inbox: str | None = None) -> dict[str, Any]:
    """Import every pain.002/camt.054 file waiting in the inbox folder, then move it to ``done/``."""
    from donorcrm.config import get_settings
    from donorcrm.sepa import returns

    settings = get_settings()
    folder = inbox or str(settings.data_dir / "sepa-inbox")
    return returns.import_inbox(folder, on=on or dt.date.today())


def bequest_follow_up(on: dt.date | None = None) -> dict[str, Any]:
    """Follow-up tasks of legacy cases (donorcrm.bequests.jobs)."""
    from donorcrm.bequests.jobs import bequest_follow_up as run

    return {"tasks": run(on)}


def grant_reminders(on: dt.date | None = None) -> dict[str, Any]:
    """Reminders and escalations of grant deadlines (donorcrm.grants.jobs)."""
    from donorcrm.grants.jobs import grant_reminders as run

    return {"reminders": run(on)}


def annual_receipts(on: dt.date | None = None) -> dict[str, Any]:
    """January: last year's tax receipts issued and delivered (donorcrm.receipts.jobs); safe to fire twice."""
    from donorcrm.receipts.jobs import issue_annual_receipts as run

    return run(on)


JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "sepa_collection_run": sepa_collection_run,
    "sepa_prenotifications": sepa_prenotifications,
    "sepa_mandate_expiry": sepa_mandate_expiry,
    "sepa_return_inbox": sepa_return_inbox,
    "bequest_follow_up": bequest_follow_up,
    "grant_reminders": grant_reminders,
    "annual_receipts": annual_receipts,
}


def fire(job: str, slot: dt.datetime | str, engine: Engine | None = None, **kwargs: Any) -> JobOutcome:
    """What the scheduler calls: run ``job`` once for its slot."""
    if job not in JOBS:
        raise KeyError(f"unknown job {job!r}; known: {', '.join(sorted(JOBS))}")
    slot_key = slot if isinstance(slot, str) else slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    return run_guarded(job, slot_key, lambda: JOBS[job](**kwargs), engine=engine)


# APScheduler 3's job store table, declared here so migrations create it (two scheduler processes
# starting together on an empty PostgreSQL would otherwise race on CREATE TABLE) and autogenerate keeps it.
from sqlalchemy import Column, Float, LargeBinary, Table, Unicode  # noqa: E402

apscheduler_jobs = Table(
    "apscheduler_jobs", SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
