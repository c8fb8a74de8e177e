"""Collection runs: plan from the database, record collections, write and store pain.008 files, fill the
pre-notification outbox, and confirm the run into the ledger.

A run is keyed by its run date. ``run_collections`` commits in steps (recording in batches, then one
file at a time) so it can be killed anywhere and started again: the plan is computed against
everything *except* this run's own collections, inserts skip rows that exist (unique commitment, period
and attempt), and files are rendered from the stored collection rows with deterministic ids and the
run's own timestamp, so the rerun writes the same bytes. On PostgreSQL a session advisory lock makes a
second run for the same date wait for the first and then find it done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.commitments.models import Commitment, CommitmentAmount, CommitmentStatus, PaymentRoute
from donorcrm.commitments.rules import (
    CommitmentTerms,
    MandateTerms,
    PlannedCollection,
    PlanSettings,
    end_to_end_suffix,
    plan,
    target_month,
)
from donorcrm.config import Settings, get_settings
from donorcrm.db import get_engine, utcnow
from donorcrm.donors.models import Donor
from donorcrm.errors import FileFormatError, InvalidState, NotFound
from donorcrm.gcpause import cycle_collection_paused
from donorcrm.gifts.categories import IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, record_gifts_bulk
from donorcrm.iban import mask_iban
from donorcrm.sepa import pain008
from donorcrm.sepa.models import (
    Collection,
    CollectionStatus,
    Mandate,
    MandateStatus,
    Prenotification,
    RunStatus,
    SepaFile,
    SepaReturn,
    SepaRun,
)

Progress = Callable[[str, int, int], None]  # (step, done, total)
BATCH = 20_000  # collections per insert transaction


def plan_settings(settings: Settings) -> PlanSettings:
    return PlanSettings(prenotification_days=settings.prenotification_days, first_as_frst=settings.first_as_frst,
                        months_ahead=settings.sepa_months_ahead)


# -- loading the planner's inputs --------------------------------------------------------------------

@dataclass
class PlanInputs:
    commitments: list[CommitmentTerms]
    mandates: dict[int, MandateTerms]
    debtors: dict[int, tuple[Any, ...]]  # mandate id -> (reference, signed_on, holder, iban, bic, orig ref, orig iban, other bank)
    done: set[tuple[int, dt.date]]
    retries: dict[tuple[int, dt.date], int]


def load_inputs(conn: Connection, run_on: dt.date, settings: Settings, exclude_run_id: int | None) -> PlanInputs:
    """Everything the planner needs, read with Core (no ORM object per row), ignoring ``exclude_run_id``.

    The big reads come back as the driver's own tuples (``_raw_rows``): no per-value result processing.
    """
    day = _Dates()
    c = Commitment.__table__  # type: ignore[attr-defined]
    ca = CommitmentAmount.__table__  # type: ignore[attr-defined]
    m = Mandate.__table__  # type: ignore[attr-defined]
    col = Collection.__table__  # type: ignore[attr-defined]
    history: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for cid, eff, amount in _raw_rows(conn,
        select(ca.c.commitment_id, ca.c.effective_from, ca.c.amount_minor).join(c, c.c.id == ca.c.commitment_id)
        .where(c.c.status == CommitmentStatus.ACTIVE, c.c.route == PaymentRoute.SEPA)
    ):
        history[cid].append((day[eff], amount))
    new = tuple.__new__  # named tuples made without their Python-level constructor (a million of them)
    commitments = [
        new(CommitmentTerms, (cid, donor_id, status, frequency, coll_day, day[starts], day[ends], amount, currency,
                              tuple(history.get(cid, ()))))
        for cid, donor_id, status, frequency, coll_day, starts, ends, amount, currency in _raw_rows(conn, select(
            c.c.id, c.c.donor_id, c.c.status, c.c.frequency, c.c.collection_day, c.c.starts_on, c.c.ends_on,
            c.c.amount_minor, c.c.currency,
        ).where(c.c.status == CommitmentStatus.ACTIVE, c.c.route == PaymentRoute.SEPA).order_by(c.c.id))
    ]
    mandates: dict[int, MandateTerms] = {}
    debtors: dict[int, tuple[Any, ...]] = {}
    for mid, cid, status, kind, signed, last, ref, holder, iban, bic, oref, oiban, other in _raw_rows(conn, select(
        m.c.id, m.c.commitment_id, m.c.status, m.c.kind, m.c.signed_on, m.c.last_presented_on, m.c.reference,
        m.c.holder, m.c.iban, m.c.bic, m.c.original_reference, m.c.original_iban, m.c.amended_to_other_bank,
    ).where(m.c.status == MandateStatus.ACTIVE, m.c.commitment_id.is_not(None)).order_by(m.c.id)):
        signed, last = day[signed], day[last]
        mandates[cid] = new(MandateTerms, (mid, cid, status, kind, signed, last, bool(other)))
        debtors[mid] = (ref, signed, holder, iban, bic, oref, oiban, bool(other))
    month = target_month(run_on, plan_settings(settings))
    others = col.c.run_id != exclude_run_id if exclude_run_id is not None else True
    done = {(cid, month) for (cid,) in _raw_rows(conn, select(col.c.commitment_id).where(col.c.period == month, others))}
    nxt = col.alias("nxt")
    retries: dict[tuple[int, dt.date], int] = {}
    for cid, period, attempt in conn.execute(
        select(col.c.commitment_id, col.c.period, col.c.attempt).where(
            col.c.retry_wanted.is_(True), others,
            ~exists().where(and_(nxt.c.commitment_id == col.c.commitment_id, nxt.c.period == col.c.period,
                                 nxt.c.attempt == col.c.attempt + 1,
                                 nxt.c.run_id != exclude_run_id if exclude_run_id is not None else True)))
    ):
        retries[(cid, period)] = attempt + 1
    return PlanInputs(commitments, mandates, debtors, done, retries)


def plan_for(session: Session, run_on: dt.date, settings: Settings | None = None,
             exclude_run_id: int | None = None) -> tuple[list[PlannedCollection], PlanInputs]:
    settings = settings or get_settings()
    inputs = load_inputs(session.connection(), run_on, settings, exclude_run_id)
    planned = plan(run_on, inputs.commitments, inputs.mandates, plan_settings(settings), inputs.done, inputs.retries)
    return planned, inputs


# -- dry run -----------------------------------------------------------------------------------------

@dataclass
class RunPreview:
    run_on: dt.date
    n_collections: int
    total_minor: int
    groups: list[dict[str, Any]]  # per due date and sequence type: count and sum
    new: list[int] = field(default_factory=list)  # commitment ids not in the previous run
    stopped: list[int] = field(default_factory=list)  # in the previous run, not now
    changed: list[dict[str, int]] = field(default_factory=list)  # amount differs from the previous run
    suspicious: list[dict[str, Any]] = field(default_factory=list)
    collections: list[PlannedCollection] = field(default_factory=list)

    def as_dict(self, with_collections: bool = False) -> dict[str, Any]:
        out = {
            "run_on": self.run_on.isoformat(), "n_collections": self.n_collections,
            "total": _eur(self.total_minor), "groups": self.groups,
            "new": self.new, "stopped": self.stopped, "changed": self.changed, "suspicious": self.suspicious,
        }
        if with_collections:
            out["collections"] = [{
                "commitment_id": p.commitment_id, "mandate_id": p.mandate_id, "donor_id": p.donor_id,
                "period": p.period.isoformat(), "attempt": p.attempt, "amount": _eur(p.amount_minor),
                "sequence_type": str(p.sequence_type), "due_on": p.due_on.isoformat(),
            } for p in self.collections]
        return out


def _eur(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def preview(session: Session, run_on: dt.date, settings: Settings | None = None) -> RunPreview:
    """What a run on ``run_on`` would collect and what changed since the previous run; writes nothing."""
    settings = settings or get_settings()
    existing = session.execute(select(SepaRun.id).where(SepaRun.run_on == run_on)).scalar()
    planned, inputs = plan_for(session, run_on, settings, exclude_run_id=existing)
    groups: dict[tuple[dt.date, str], list[int]] = defaultdict(lambda: [0, 0])
    for p in planned:
        g = groups[(p.due_on, str(p.sequence_type))]
        g[0] += 1
        g[1] += p.amount_minor
    prev_run = session.execute(select(SepaRun.id).where(SepaRun.run_on < run_on)
                               .order_by(SepaRun.run_on.desc())).scalar()  # type: ignore[attr-defined]
    prev: dict[int, int] = {}
    if prev_run is not None:
        prev = dict(session.execute(select(Collection.commitment_id, Collection.amount_minor).where(
            Collection.run_id == prev_run, Collection.attempt == 1)).all())  # type: ignore[arg-type]
    now = {p.commitment_id: p.amount_minor for p in planned if p.attempt == 1}
    changed = [{"commitment_id": cid, "before": prev[cid], "after": amt}
               for cid, amt in sorted(now.items()) if cid in prev and prev[cid] != amt]
    suspicious: list[dict[str, Any]] = []
    by_iban: dict[str, set[int]] = defaultdict(set)
    for p in planned:
        by_iban[inputs.debtors[p.mandate_id][3]].add(p.donor_id)
    for iban, donors in sorted(by_iban.items()):
        if len(donors) >= settings.sepa_suspicious_iban_donors:
            suspicious.append({"kind": "one IBAN on many donors", "iban": mask_iban(iban), "donors": len(donors)})
    own_errors = session.execute(select(func.count()).select_from(SepaReturn).where(
        SepaReturn.action == "stop_run", SepaReturn.needs_review.is_(True))).scalar_one()  # type: ignore[attr-defined]
    if own_errors:
        suspicious.append({"kind": "returns caused by our own file (AG01, AG02, FF05, BE05, AM05) await review",
                           "count": own_errors})
    for p in planned:
        if p.amount_minor >= settings.sepa_suspicious_amount_minor:
            suspicious.append({"kind": "large amount", "commitment_id": p.commitment_id,
                               "amount": _eur(p.amount_minor)})
    return RunPreview(
        run_on=run_on, n_collections=len(planned), total_minor=sum(p.amount_minor for p in planned),
        groups=[{"due_on": d.isoformat(), "sequence_type": s, "count": v[0], "total": _eur(v[1])}
                for (d, s), v in sorted(groups.items())],
        new=sorted(set(now) - set(prev)) if prev_run is not None else [],
        stopped=sorted(set(prev) - set(now)), changed=changed, suspicious=suspicious, collections=planned,
    )


# -- the run -----------------------------------------------------------------------------------------

@dataclass
class StoredFile:
    id: int
    message_id: str
    filename: str
    n_transactions: int
    control_sum_minor: int
    sha256: str
    path: str | None = None


@dataclass
class RunResult:
    run_id: int
    run_on: dt.date
    status: str
    n_collections: int
    total_minor: int
    files: list[StoredFile]
    resumed: bool = False


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@contextmanager
def _run_lock(engine: Engine, run_on: dt.date) -> Iterator[None]:
    """One run per date at a time across processes (PostgreSQL); SQLite serialises writers itself."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = 0x5E9A0000 + run_on.toordinal()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
            conn.commit()


def _get_or_create_run(engine: Engine, run_on: dt.date, version: str) -> tuple[int, str, bool]:
    runs = SepaRun.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        row = conn.execute(select(runs.c.id, runs.c.status).where(runs.c.run_on == run_on)).first()
        if row is not None:
            return row.id, row.status, True
        conn.execute(_insert(conn, runs).values(
            run_on=run_on, status=RunStatus.RECORDING, version=version, n_collections=0, total_minor=0,
            created_at=utcnow().replace(microsecond=0),
        ).on_conflict_do_nothing())
        row = conn.execute(select(runs.c.id, runs.c.status).where(runs.c.run_on == run_on)).one()
        return row.id, row.status, False


def run_collections(
    run_on: dt.date,
    *,
    settings: Settings | None = None,
    out_dir: str | Path | None = None,
    engine: Engine | None = None,
    version: str | None = None,
    progress: Progress | None = None,
    stop_after: str | None = None,
    timings: dict[str, float] | None = None,
) -> RunResult:
    """Record, write and store the run for ``run_on``; resumes a run that was interrupted.

    ``stop_after`` ("batch:N", "record" or "file:N") ends early on purpose, as a crash would: tests
    use it to check that a rerun completes the same run.
    """
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    version = version or settings.sepa_pain008_version
    clock = _Clock(timings)
    with _run_lock(engine, run_on), cycle_collection_paused():
        run_id, status, resumed = _get_or_create_run(engine, run_on, version)
        recorded: Recorded | None = None
        if status == RunStatus.RECORDING:
            recorded = _record(engine, run_id, run_on, settings, progress, stop_after, clock)
            if stop_after and stop_after.startswith(("record", "batch:")):
                return _result(engine, run_id, resumed)
        if status in (RunStatus.RECORDING, RunStatus.RECORDED):
            _write_files(engine, run_id, settings, progress, stop_after, clock, recorded)
            if stop_after and stop_after.startswith("file:"):
                return _result(engine, run_id, resumed)
            with clock.step("finish"):
                _finish(engine, run_id)
        result = _result(engine, run_id, resumed)
    if out_dir is not None:
        result.files = export_files(engine, run_id, Path(out_dir))
    return result


class _Clock:
    """Adds up the seconds spent in each step (for the benchmark and the run log)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.timings is None:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


# The file transactions per (due date, sequence type), in file order.
Recorded = dict[tuple[dt.date, str], list[pain008.DebitTx]]


def _record(engine: Engine, run_id: int, run_on: dt.date, settings: Settings, progress: Progress | None,
            stop_after: str | None = None, clock: _Clock | None = None) -> Recorded | None:
    """Plan and insert the run's collections. Returns their file transactions when this call inserted
    every planned row (the stored rows are then exactly these), else None: the writer reads them back."""
    clock = clock or _Clock(None)
    with clock.step("plan"):
        with engine.connect() as conn:
            inputs = load_inputs(conn, run_on, settings, exclude_run_id=run_id)
        planned = plan(run_on, inputs.commitments, inputs.mandates, plan_settings(settings), inputs.done,
                       inputs.retries)
    with clock.step("record"):
        return _insert_planned(engine, run_id, planned, inputs, settings, progress, stop_after)


def _insert_planned(engine: Engine, run_id: int, planned: list[PlannedCollection], inputs: PlanInputs,
                    settings: Settings, progress: Progress | None, stop_after: str | None) -> Recorded | None:
    col = Collection.__table__  # type: ignore[attr-defined]
    runs = SepaRun.__table__  # type: ignore[attr-defined]
    total = len(planned)
    names = ("run_id", "commitment_id", "mandate_id", "donor_id", "period", "attempt", "amount_minor", "currency",
             "sequence_type", "due_on", "end_to_end_id", "mandate_reference", "mandate_signed_on", "debtor_name",
             "debtor_iban", "debtor_bic", "original_reference", "original_iban", "amended_to_other_bank",
             "remittance", "status", "retry_wanted")
    postgres = engine.dialect.name == "postgresql"
    # Plain DB-API executemany with tuples: a million rows without building a dict per row.
    mark = "%s" if postgres else "?"
    sql = (f"INSERT INTO {col.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))}) "
           "ON CONFLICT DO NOTHING")  # only a duplicate (commitment, period, attempt) is skipped
    remittance = settings.sepa_remittance
    planned_status = str(CollectionStatus.PLANNED)
    debtors = inputs.debtors
    # Values shared by many rows are made once: per period the remittance, per date its parameter (ISO
    # text on SQLite, as SQLAlchemy's Date stores it, skipping sqlite3's per-row date adapter).
    day: dict[dt.date, Any] = _Days(iso=not postgres)
    remittances: dict[dt.date, str] = {}
    last: tuple[Any, ...] = (None, None, None, None)  # (period, attempt, sequence type, due date) of the row before
    # What the files will carry, made from the same values as the rows (the writer's read-back skipped).
    recorded: Recorded = {}
    new = tuple.__new__
    inserted = 0
    with engine.connect() as conn, _page_cache(conn):
        for start in range(0, total, BATCH):
            rows = []
            for cid, mid, donor_id, period, attempt, amount, currency, seq, due in planned[start:start + BATCH]:
                if period != last[0] or attempt != last[1] or seq != last[2] or due != last[3]:
                    # the plan is in file order: these change a few dozen times per run, not per row
                    last = (period, attempt, seq, due)
                    text = remittances.get(period)
                    if text is None:
                        text = remittances[period] = f"{remittance} {period:%m-%Y}"[:140]
                    seq_str = str(seq)
                    suffix = end_to_end_suffix(period, attempt)
                    period_value, due_value = day[period], day[due]
                    txs = recorded.get((due, seq_str))
                    if txs is None:
                        txs = recorded[(due, seq_str)] = []
                ref, signed, holder, iban, bic, oref, oiban, other = debtors[mid]
                e2e = f"DC{cid}{suffix}"
                rows.append((
                    run_id, cid, mid, donor_id, period_value, attempt, amount, currency, seq_str, due_value,
                    e2e, ref, day[signed], holder, iban, bic, oref, oiban, other, text, planned_status, False,
                ))
                txs.append(new(pain008.DebitTx, (e2e, amount, ref, signed, holder, iban, bic, text, oref, oiban,
                                                 other)))
            with conn.begin():
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.executemany(sql, rows)
                    inserted += cursor.rowcount  # summed over the statements; a skipped duplicate adds 0
                finally:
                    cursor.close()
            if progress:
                progress("record", min(start + BATCH, total), total)
            if stop_after == f"batch:{start // BATCH + 1}":
                return None
    with engine.begin() as conn:
        n, amount = conn.execute(select(func.count(), func.coalesce(func.sum(col.c.amount_minor), 0))
                                 .where(col.c.run_id == run_id)).one()
        conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status == RunStatus.RECORDING)
                     .values(status=RunStatus.RECORDED, n_collections=n, total_minor=amount))
    return recorded if inserted == total == n else None


@contextmanager
def _page_cache(conn: Connection, kib: int = 256 * 1024) -> Iterator[None]:
    """On SQLite, a bigger page cache for this connection while it inserts into the collection indexes
    (the default 2 MB rereads index pages from the OS for every row of a million-row run), and a WAL
    checkpoint every 64 MB rather than every 4 MB: each batch rewrites many of the same index pages,
    which a checkpoint then copies into the database once instead of after every batch. The step ends
    with a checkpoint of its own, so the run leaves no backlog behind."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    checkpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{kib}")
    conn.exec_driver_sql("PRAGMA wal_autocheckpoint=16384")
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(checkpoint or 1000)}")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.commit()


def _raw_rows(conn: Connection, stmt: Any) -> list[Any]:
    """All rows of ``stmt`` as the driver's tuples: a million rows skip SQLAlchemy's per-value
    processing (SQLite then gives dates as ISO text and booleans as 0/1; see ``_Dates``)."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()  # type: ignore[attr-defined, no-any-return]
    finally:
        result.close()


class _Dates(dict):  # type: ignore[type-arg]
    """Driver value -> date, converted once per distinct value (SQLite's ISO text, PostgreSQL's date, None)."""

    def __missing__(self, value: Any) -> dt.date | None:
        out = self[value] = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return out


class _Days(dict):  # type: ignore[type-arg]
    """Date -> query parameter, made on first use."""

    def __init__(self, iso: bool) -> None:
        super().__init__()
        self.iso = iso

    def __missing__(self, day: dt.date) -> Any:
        value = self[day] = day.isoformat() if self.iso else day
        return value


_FILE_ORDER = tuple(Collection.__table__.c[name] for name in (  # type: ignore[attr-defined]
    "due_on", "sequence_type", "commitment_id", "period", "attempt"))


def creditor(settings: Settings) -> pain008.Creditor:
    return pain008.Creditor(settings.org_name, settings.creditor_iban, settings.creditor_bic or None,
                            settings.creditor_id)


def _write_files(engine: Engine, run_id: int, settings: Settings, progress: Progress | None,
                 stop_after: str | None, clock: _Clock | None = None, recorded: Recorded | None = None) -> None:
    """Render, validate and store the run's files that are not stored yet. The transactions come from
    ``recorded`` when the recording step just inserted exactly them, else from the stored rows."""
    clock = clock or _Clock(None)
    col = Collection.__table__  # type: ignore[attr-defined]
    files = SepaFile.__table__  # type: ignore[attr-defined]
    runs = SepaRun.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        stored = set(conn.execute(select(files.c.message_id).where(files.c.run_id == run_id)).scalars())
        groups = recorded if recorded is not None else _stored_transactions(conn, run_id)
    n_rows = sum(map(len, groups.values()))
    cred = creditor(settings)
    written = 0
    done_tx = 0
    for (due_on, seq), members in sorted(groups.items()):
        size = settings.max_transactions_per_file or len(members)
        ids: list[int] | None = None
        for chunk_no, start in enumerate(range(0, len(members), size), start=1):
            txs = members[start:start + size]
            msg_id = pain008.message_id(run_id, due_on, seq, chunk_no)
            done_tx += len(txs)
            if msg_id in stored:
                continue
            block = pain008.PaymentBlock(f"{msg_id}-P", due_on, seq, txs)
            with clock.step("write"):
                rendered = pain008.render(msg_id, run.created_at, cred, [block], run.version)
            with clock.step("validate"):
                problems = pain008.validate(rendered.content, run.version)
            if problems:
                raise FileFormatError(f"{msg_id} does not validate against {run.version}: "
                                      + "; ".join(str(p) for p in problems[:5]))
            with clock.step("store"), engine.begin() as conn:
                file_id = conn.execute(files.insert().values(
                    run_id=run_id, message_id=msg_id, version=run.version, due_on=due_on, sequence_type=seq,
                    chunk=chunk_no, n_transactions=rendered.n_transactions,
                    control_sum_minor=rendered.control_sum_minor, sha256=rendered.sha256, size=len(rendered.content),
                    filename=f"{msg_id}.xml", content=rendered.content, created_at=utcnow(),
                ).returning(files.c.id)).scalar_one()
                if len(txs) == len(members):  # the file holds the whole group: one statement on the run index
                    conn.execute(update(col).where(col.c.run_id == run_id, col.c.due_on == due_on,
                                                   col.c.sequence_type == seq)
                                 .values(file_id=file_id, status=CollectionStatus.PRESENTED))
                else:
                    if ids is None:
                        ids = _group_ids(conn, run_id, due_on, seq)
                    _mark_presented(conn, ids[start:start + size], file_id)
            written += 1
            if progress:
                progress("write", done_tx, n_rows)
            if stop_after == f"file:{written}":
                return


def _stored_transactions(conn: Connection, run_id: int) -> Recorded:
    """The run's collections as file transactions, per (due date, sequence type), in file order."""
    col = Collection.__table__  # type: ignore[attr-defined]
    rows = _raw_rows(conn, select(
        col.c.due_on, col.c.sequence_type, col.c.end_to_end_id, col.c.amount_minor, col.c.mandate_reference,
        col.c.mandate_signed_on, col.c.debtor_name, col.c.debtor_iban, col.c.debtor_bic, col.c.remittance,
        col.c.original_reference, col.c.original_iban, col.c.amended_to_other_bank,
    ).where(col.c.run_id == run_id).order_by(*_FILE_ORDER))
    day = _Dates()
    new = tuple.__new__
    groups: Recorded = defaultdict(list)
    for due, seq, e2e, amount, ref, signed, name, iban, bic, remittance, oref, oiban, other in rows:
        groups[(day[due], seq)].append(new(pain008.DebitTx, (e2e, amount, ref, day[signed], name, iban, bic,
                                                             remittance, oref, oiban, bool(other))))
    return groups


def _group_ids(conn: Connection, run_id: int, due_on: dt.date, seq: str) -> list[int]:
    """The collection ids of one (due date, sequence type) group, in file order."""
    col = Collection.__table__  # type: ignore[attr-defined]
    return list(conn.execute(select(col.c.id).where(col.c.run_id == run_id, col.c.due_on == due_on,
                                                    col.c.sequence_type == seq).order_by(*_FILE_ORDER)).scalars())


def _mark_presented(conn: Connection, ids: list[int], file_id: int) -> None:
    """Point the collections at their file, by id in plain DB-API statements (no SQL compiled per id)."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    presented = str(CollectionStatus.PRESENTED)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(ids), 900):  # within SQLite's limit on bound parameters
            part = ids[i:i + 900]
            cursor.execute(f"UPDATE {Collection.__tablename__} SET file_id = {mark}, status = {mark} "
                           f"WHERE id IN ({', '.join([mark] * len(part))})", (file_id, presented, *part))
    finally:
        cursor.close()


def _finish(engine: Engine, run_id: int) -> None:
    """Mark the mandates presented (36-month clock, FRST) and clear amendments the files carried."""
    col = Collection.__table__  # type: ignore[attr-defined]
    m = Mandate.__table__  # type: ignore[attr-defined]
    runs = SepaRun.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        latest = (select(col.c.mandate_id, func.max(col.c.due_on).label("due_on"))
                  .where(col.c.run_id == run_id).group_by(col.c.mandate_id).subquery())
        conn.execute(update(m).where(m.c.id == latest.c.mandate_id,
                                     m.c.last_presented_on.is_(None) | (m.c.last_presented_on < latest.c.due_on))
                     .values(last_presented_on=latest.c.due_on))
        amended = conn.execute(select(col.c.mandate_id, col.c.debtor_iban).where(
            col.c.run_id == run_id,
            col.c.original_reference.is_not(None) | col.c.original_iban.is_not(None)
            | col.c.amended_to_other_bank.is_(True))).all()
        for mandate_id, iban in amended:  # only if nothing changed again since the collection was recorded
            conn.execute(update(m).where(m.c.id == mandate_id, m.c.iban == iban).values(
                original_reference=None, original_iban=None, amended_to_other_bank=False))
        conn.execute(update(runs).where(runs.c.id == run_id).values(status=RunStatus.WRITTEN, written_at=utcnow()))


def _result(engine: Engine, run_id: int, resumed: bool) -> RunResult:
    runs = SepaRun.__table__  # type: ignore[attr-defined]
    files = SepaFile.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        stored = [StoredFile(r.id, r.message_id, r.filename, r.n_transactions, r.control_sum_minor, r.sha256)
                  for r in conn.execute(select(
                      files.c.id, files.c.message_id, files.c.filename, files.c.n_transactions,
                      files.c.control_sum_minor, files.c.sha256).where(files.c.run_id == run_id)
                      .order_by(files.c.due_on, files.c.sequence_type, files.c.chunk))]
    return RunResult(run_id, run.run_on, run.status, run.n_collections, run.total_minor, stored, resumed)


def export_files(engine: Engine, run_id: int, out_dir: Path) -> list[StoredFile]:
    """Write the run's stored files to ``out_dir`` (after checking each against its stored hash)."""
    files = SepaFile.__table__  # type: ignore[attr-defined]
    out_dir.mkdir(parents=True, exist_ok=True)
    out: list[StoredFile] = []
    with engine.connect() as conn:
        for r in conn.execute(select(files).where(files.c.run_id == run_id)
                              .order_by(files.c.due_on, files.c.sequence_type, files.c.chunk)):
            if hashlib.sha256(r.content).hexdigest() != r.sha256:
                raise FileFormatError(f"stored file {r.filename} does not match its hash")
            path = out_dir / r.filename
            path.write_bytes(r.content)
            out.append(StoredFile(r.id, r.message_id, r.filename, r.n_transactions, r.control_sum_minor, r.sha256,
                                  str(path)))
    return out


def get_run(session: Session, run: int | str | dt.date) -> SepaRun:
    """A run by id or by its date (YYYY-MM-DD)."""
    found: SepaRun | None
    if isinstance(run, dt.date):
        found = session.execute(select(SepaRun).where(SepaRun.run_on == run)).scalars().first()
    elif isinstance(run, str) and "-" in run:
        found = session.execute(select(SepaRun).where(SepaRun.run_on == dt.date.fromisoformat(run))).scalars().first()
    else:
        found = session.get(SepaRun, int(run))
    if found is None:
        raise NotFound(f"no SEPA run {run}")
    return found


# -- pre-notifications -------------------------------------------------------------------------------

def runs_without_prenotifications(session: Session) -> list[int]:
    pn = aliased(Prenotification)
    return list(session.execute(select(SepaRun.id).where(
        SepaRun.status.in_([RunStatus.WRITTEN, RunStatus.CONFIRMED]),  # type: ignore[attr-defined]
        ~exists().where(pn.run_id == SepaRun.id)).order_by(SepaRun.id)).scalars())


def build_prenotifications(session: Session, run_id: int, settings: Settings | None = None) -> int:
    """The outbox for a run: one notice per collection (donor, amount, due date, mandate reference,
    creditor id), by e-mail when the donor has one, else by post. With ``sepa_prenotify_changes_only``,
    a donor whose amount and collection day did not change since the last notice is marked skipped."""
    settings = settings or get_settings()
    conn = session.connection()
    col = Collection.__table__  # type: ignore[attr-defined]
    pn = Prenotification.__table__  # type: ignore[attr-defined]
    d = Donor.__table__  # type: ignore[attr-defined]
    rows = conn.execute(select(
        col.c.id, col.c.commitment_id, col.c.donor_id, col.c.amount_minor, col.c.currency, col.c.due_on,
        col.c.mandate_reference, d.c.email, d.c.street, d.c.house_number, d.c.postcode, d.c.city,
    ).join(d, d.c.id == col.c.donor_id).where(
        col.c.run_id == run_id, ~exists().where(pn.c.collection_id == col.c.id)).order_by(col.c.id)).all()
    last: dict[int, tuple[int, int]] = {}
    if settings.sepa_prenotify_changes_only and rows:
        latest = (select(col.c.commitment_id, func.max(pn.c.id).label("pid"))
                  .join(pn, pn.c.collection_id == col.c.id).where(pn.c.run_id != run_id)
                  .group_by(col.c.commitment_id).subquery())
        for cid, amount, due in conn.execute(select(latest.c.commitment_id, pn.c.amount_minor, pn.c.due_on)
                                             .join(pn, pn.c.id == latest.c.pid)):
            last[cid] = (amount, due.day)
    now = utcnow()
    values = []
    for r in rows:
        channel, address = ("email", r.email) if r.email else (
            "post", " ".join(x for x in (r.street, r.house_number, r.postcode, r.city) if x))
        unchanged = last.get(r.commitment_id) == (r.amount_minor, r.due_on.day)
        values.append({
            "run_id": run_id, "collection_id": r.id, "donor_id": r.donor_id, "channel": channel,
            "address": (address or "")[:300], "amount_minor": r.amount_minor, "currency": r.currency,
            "due_on": r.due_on, "mandate_reference": r.mandate_reference, "creditor_id": settings.creditor_id,
            "status": "skipped" if unchanged else "pending", "created_at": now,
        })
    for i in range(0, len(values), BATCH):
        conn.execute(_insert(conn, pn).on_conflict_do_nothing(), values[i:i + BATCH])
    return len(values)


def outbox(session: Session, run_id: int | None = None, status: str = "pending") -> list[Prenotification]:
    q = select(Prenotification).where(Prenotification.status == status).order_by(Prenotification.id)
    if run_id is not None:
        q = q.where(Prenotification.run_id == run_id)
    return list(session.execute(q).scalars())


# -- confirmation ------------------------------------------------------------------------------------

def confirm_run(session: Session, run_id: int) -> int:
    """Book the run's presented collections as gifts (idempotent on the end-to-end id)."""
    run = session.get(SepaRun, run_id)
    if run is None:
        raise NotFound(f"no SEPA run {run_id}")
    if run.status not in (RunStatus.WRITTEN, RunStatus.CONFIRMED):
        raise InvalidState(f"run {run_id} is {run.status}; finish it (sepa run) before confirming")
    conn = session.connection()
    col = Collection.__table__  # type: ignore[attr-defined]
    c = Commitment.__table__  # type: ignore[attr-defined]
    g = Gift.__table__  # type: ignore[attr-defined]
    rows = conn.execute(select(
        col.c.donor_id, col.c.amount_minor, col.c.currency, col.c.due_on, col.c.end_to_end_id, col.c.commitment_id,
        c.c.fund_id, c.c.campaign_id,
    ).join(c, c.c.id == col.c.commitment_id).where(
        col.c.run_id == run_id, col.c.status == CollectionStatus.PRESENTED)).all()
    gifts = (GiftRow(r.donor_id, r.amount_minor, r.due_on, PaymentChannel.SEPA_DD, IncomeCategory.INDIVIDUAL_RECURRING,
                     currency=r.currency, source="sepa", external_ref=r.end_to_end_id, fund_id=r.fund_id,
                     campaign_id=r.campaign_id, commitment_id=r.commitment_id) for r in rows)
    written = record_gifts_bulk(session, gifts)
    gift_id = (select(g.c.id).where(g.c.source == "sepa", g.c.external_ref == col.c.end_to_end_id,
                                    g.c.entry_type == "gift").scalar_subquery())
    conn.execute(update(col).where(col.c.run_id == run_id, col.c.status == CollectionStatus.PRESENTED)
                 .values(gift_id=gift_id, status=CollectionStatus.CONFIRMED))
    run.status = RunStatus.CONFIRMED
    run.confirmed_at = utcnow()
    session.add(run)
    session.flush()
    audit.record(session, "sepa.confirm", "sepa_run", run_id, after={"gifts": written, "collections": len(rows)})
    return written


def run_summary(session: Session, run_id: int) -> dict[str, Any]:
    run = session.get(SepaRun, run_id)
    if run is None:
        raise NotFound(f"no SEPA run {run_id}")
    statuses = Counter(dict(session.execute(select(Collection.status, func.count()).where(
        Collection.run_id == run_id).group_by(Collection.status)).all()))  # type: ignore[arg-type]
    return {"run_id": run.id, "run_on": run.run_on.isoformat(), "status": run.status,
            "collections": run.n_collections, "total": _eur(run.total_minor), "by_status": dict(statuses)}
