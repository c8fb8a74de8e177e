"""Scheduled jobs: plain module-level functions, and the JobRun table that guards and records them.

Every firing is keyed by (job, slot), the slot being the scheduled time it stands for. The key is a
unique row in job_run, claimed in its own committed transaction before the work starts, so a job
fired twice, or by two scheduler processes sharing one job store, runs once per slot.
A running firing beats a heartbeat into its row; when the heartbeat stops for longer than the lease (the
process died or the machine went down), the next firing of that slot takes the row over and runs the job
again. Jobs are written to resume, so the second attempt finishes what the first began without doubling it.
Other domains add their jobs to ``JOBS``.
"""

from __future__ import annotations

import datetime as dt
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, func, insert, literal, select, update
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
    heartbeat_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # last sign of life while running
    attempt: int = Field(default=1, nullable=False, sa_column_kwargs={"server_default": "1"})


LEASE = dt.timedelta(minutes=5)  # a running firing silent for this long is taken to be dead
HEARTBEAT_EVERY = 30.0  # seconds; well inside the lease


@dataclass(frozen=True)
class JobOutcome:
    job: str
    slot: str
    ran: bool  # False: another firing already owns this slot
    outcome: str
    counts: dict[str, Any]


def claim(engine: Engine, job: str, slot: str, *, lease: dt.timedelta = LEASE) -> int | None:
    """Insert the (job, slot) row, or take over one whose run stopped beating; None when the slot is
    finished or another process is working on it."""
    import socket

    host = socket.gethostname()[:120]
    table = JobRun.__table__  # type: ignore[attr-defined]
    now = utcnow()
    try:
        with engine.begin() as conn:
            return conn.execute(
                insert(table).values(job=job, slot=slot, started_at=now, heartbeat_at=now, outcome="running",
                                     host=host, attempt=1).returning(table.c.id)
            ).scalar_one()
    except IntegrityError:
        pass
    # One conditional UPDATE: of two processes finding the same dead run, only one sees it still stale.
    with engine.begin() as conn:
        return conn.execute(
            update(table)
            .where(table.c.job == job, table.c.slot == slot, table.c.outcome == "running",
                   func.coalesce(table.c.heartbeat_at, table.c.started_at) < now - lease)
            .values(started_at=now, heartbeat_at=now, host=host, attempt=table.c.attempt + 1,
                    error=func.substr(literal("previous attempt stopped without finishing (no heartbeat since ")
                                      + func.coalesce(table.c.heartbeat_at, table.c.started_at).cast(String)
                                      + literal(")"), 1, 4000))
            .returning(table.c.id)
        ).scalar_one_or_none()


class _Heartbeat:
    """Refreshes the run's heartbeat_at from a daemon thread while the job runs in this one."""

    def __init__(self, engine: Engine, run_id: int, every: float) -> None:
        self.engine, self.run_id, self.every = engine, run_id, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        table = JobRun.__table__  # type: ignore[attr-defined]
        while not self.stop.wait(self.every):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(table).where(table.c.id == self.run_id, table.c.outcome == "running")
                                 .values(heartbeat_at=utcnow()))
            except Exception:  # a missed beat is harmless; the next one retries
                continue

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_guarded(job: str, slot: str, fn: Callable[[], dict[str, Any] | int | None],
                engine: Engine | None = None, *, lease: dt.timedelta = LEASE,
                heartbeat_every: float = HEARTBEAT_EVERY) -> JobOutcome:
    """Run ``fn`` once for (job, slot) and record its outcome, counts or error."""
    engine = engine or get_engine()
    run_id = claim(engine, job, slot, lease=lease)
    if run_id is None:
        return JobOutcome(job, slot, False, "skipped", {})
    table = JobRun.__table__  # type: ignore[attr-defined]
    try:
        with _Heartbeat(engine, run_id, heartbeat_every):
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
