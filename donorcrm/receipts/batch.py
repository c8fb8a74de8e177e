"""Batch issuance: a run lists every donor due a receipt; workers claim pending items in chunks.

Each chunk is numbered and stored in one short transaction (the serial counter is locked only that
long), then drawn in a second one, so several processes render in parallel. A crash loses nothing:
a chunk either committed with its numbers or rolled back with them; receipts stored without a
document are drawn by the next worker that passes. On PostgreSQL items are claimed with
SELECT ... FOR UPDATE SKIP LOCKED, so workers on several machines can share one run.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm import audit
from donorcrm.config import Settings, get_settings
from donorcrm.db import is_postgres, make_engine, session_scope, utcnow
from donorcrm.donors.models import Donor, DonorStatus
from donorcrm.errors import InvalidState, NotFound
from donorcrm.gcpause import cycle_collection_paused
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.receipts import bulk, service
from donorcrm.receipts.common import Charity, Jurisdiction, jurisdiction_for
from donorcrm.receipts.models import (
    ItemStatus,
    Receipt,
    ReceiptLine,
    ReceiptRun,
    ReceiptRunItem,
    ReceiptStatus,
    RunStatus,
)

Progress = Callable[[int], None]
ITEMS = ReceiptRunItem.__table__  # type: ignore[attr-defined]
RECEIPT = Receipt.__table__  # type: ignore[attr-defined]


def due_donors(session: Session, year: int, settings: Settings,
               jurisdiction: Jurisdiction | None = None) -> list[tuple[int, Jurisdiction]]:
    """Donors with at least one gift of the year not yet on a live receipt, with their jurisdiction.

    Deceased donors still get theirs (the estate needs it); erased and merged donors have no one to send to.
    """
    charity = Charity.from_settings(settings)
    stmt = (
        select(Donor.id, Donor.country).where(exists().where(
            Gift.donor_id == Donor.id, Gift.entry_type == EntryType.GIFT,
            Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1),  # type: ignore[operator]
            ~exists().where(ReceiptLine.live_gift_id == Gift.id)))
        .where(Donor.status.in_([DonorStatus.ACTIVE, DonorStatus.DECEASED]))  # type: ignore[attr-defined]
        .order_by(Donor.id)
    )
    out = []
    for donor_id, country in session.execute(stmt):
        j = jurisdiction_for(country, charity)
        if j is not None and (jurisdiction is None or j == jurisdiction):
            out.append((donor_id, j))
    return out


def open_run(session: Session, year: int, jurisdiction: Jurisdiction | None = None,
             settings: Settings | None = None) -> ReceiptRun:
    """The open run for this year and jurisdiction (resume), or a new one listing every due donor."""
    settings = settings or get_settings()
    j = jurisdiction.value if jurisdiction else None
    found = session.execute(
        select(ReceiptRun).where(ReceiptRun.year == year, ReceiptRun.jurisdiction == j if j else
                                 ReceiptRun.jurisdiction.is_(None),  # type: ignore[union-attr]
                                 ReceiptRun.status == RunStatus.OPEN).order_by(ReceiptRun.id)
    ).scalars().first()
    if found is not None:
        return found
    due = due_donors(session, year, settings, jurisdiction)
    run = ReceiptRun(year=year, jurisdiction=j, total_items=len(due), created_by=audit.current_actor())
    session.add(run)
    session.flush()
    for start in range(0, len(due), 10_000):
        session.execute(insert(ReceiptRunItem), [
            {"run_id": run.id, "donor_id": d, "jurisdiction": jj.value, "status": ItemStatus.PENDING}
            for d, jj in due[start:start + 10_000]
        ])
    audit.record(session, "receipt.run.start", "receipt_run", run.id,
                 after={"year": year, "jurisdiction": j, "items": len(due)})
    return run


def _claim(session: Session, run_id: int, size: int) -> list[Any]:
    """Pending items as plain rows (id, donor_id, jurisdiction), locked against other workers on PostgreSQL."""
    stmt = (select(ITEMS.c.id, ITEMS.c.donor_id, ITEMS.c.jurisdiction)
            .where(ITEMS.c.run_id == run_id, ITEMS.c.status == ItemStatus.PENDING)
            .order_by(ITEMS.c.id).limit(size))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.execute(stmt))


def _issue_items(session: Session, run: ReceiptRun, items: list[Any], settings: Settings,
                 issued_on: dt.date) -> list[service.Stored]:
    """Number and store the receipts of claimed items."""
    requests = [service.Request(i.donor_id, Jurisdiction(i.jurisdiction)) for i in items]
    drafts = service.drafts_for(session, requests, run.year, settings)
    # By donor and year only (the donor/year index), status checked here: with the status in the query
    # SQLite takes the year/status index and reads every receipt issued so far, once per chunk.
    live = {(donor_id, j) for donor_id, j, status in session.connection().execute(
        select(RECEIPT.c.donor_id, RECEIPT.c.jurisdiction, RECEIPT.c.status).where(
            RECEIPT.c.donor_id.in_([i.donor_id for i in items]), RECEIPT.c.year == run.year))
        if status == ReceiptStatus.ISSUED}
    to_store, owners = [], []
    now = utcnow()
    skipped: list[int] = []
    late_gifts: list[int] = []
    for item, req in zip(items, requests, strict=True):
        draft = drafts[req]
        if draft is None:
            skipped.append(item.id or 0)
        elif (item.donor_id, item.jurisdiction) in live:
            skipped.append(item.id or 0)
            late_gifts.extend(draft.gift_ids)
        else:
            to_store.append(draft)
            owners.append(item)
    if late_gifts:  # gifts booked after the donor's receipt: flag that receipt, never a second one
        session.execute(update(Receipt).where(
            Receipt.year == run.year, Receipt.status == ReceiptStatus.ISSUED,
            Receipt.donor_id.in_({d.donor.id for d in drafts.values() if d and set(d.gift_ids) & set(late_gifts)}))  # type: ignore[attr-defined]
            .values(needs_correction=True, correction_reason="gifts received after this receipt was issued"))
    stored = service.store_drafts(session, to_store, settings, issued_on=issued_on, run_id=run.id)
    if skipped:
        session.execute(update(ReceiptRunItem).where(ReceiptRunItem.id.in_(skipped))  # type: ignore[union-attr]
                        .values(status=ItemStatus.SKIPPED, done_at=now))
    if stored:
        bulk.update_rows(session.connection(), ITEMS, ("status", "receipt_id", "done_at"), ("id",),
                         [(ItemStatus.ISSUED.value, r.id, now, item.id) for item, r in zip(owners, stored, strict=True)])
    return stored


def render_missing(engine: Engine, run_id: int, settings: Settings, *, chunk: int = 100) -> int:
    """Draw the documents of this run's receipts that have none yet (after a crash between the two phases)."""
    done = 0
    while True:
        with session_scope(engine) as s:
            stmt = (select(Receipt).where(Receipt.run_id == run_id, Receipt.pdf_sha256.is_(None))  # type: ignore[union-attr]
                    .order_by(Receipt.id).limit(chunk))  # type: ignore[arg-type]
            if is_postgres(s):
                stmt = stmt.with_for_update(skip_locked=True)
            receipts = list(s.execute(stmt).scalars())
            if not receipts:
                return done
            service.render_and_store(s, receipts, settings)
            done += len(receipts)


def _keep_documents(engine: Engine, documents: list[tuple[int, bytes]]) -> None:
    """Store freshly drawn documents, except those another worker is drawing or has drawn meanwhile.

    A worker that starts while this one draws finds these receipts without a document and draws them
    too (render_missing); whoever locks a receipt first keeps its document, the other leaves it.
    """
    if not documents:
        return
    with session_scope(engine) as s:
        stmt = select(RECEIPT.c.id).where(RECEIPT.c.id.in_([rid for rid, _ in documents]),
                                          RECEIPT.c.pdf_sha256.is_(None))
        if is_postgres(s):
            stmt = stmt.with_for_update(skip_locked=True)
        mine = set(s.execute(stmt).scalars())
        service.store_documents(s, [d for d in documents if d[0] in mine])


@dataclass
class WorkResult:
    issued: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@cycle_collection_paused()
def work(engine: Engine, run_id: int, *, settings: Settings | None = None, chunk: int = 100,
         issued_on: dt.date | None = None, progress: Progress | None = None) -> WorkResult:
    """Issue the run's pending items until none is left; safe to run in several processes at once."""
    settings = settings or get_settings()
    issued_on = issued_on or dt.date.today()
    result = WorkResult()
    render_missing(engine, run_id, settings)
    while True:
        with session_scope(engine) as s:
            run = s.get(ReceiptRun, run_id)
            if run is None:
                raise NotFound(f"no receipt run {run_id}")
            items = _claim(s, run_id, chunk)
            if not items:
                break
            try:
                with s.begin_nested():
                    stored = _issue_items(s, run, items, settings, issued_on)
            except Exception:  # one bad donor must not stop the run: redo this chunk item by item
                stored = []
                for item in items:
                    try:
                        with s.begin_nested():
                            stored += _issue_items(s, run, [item], settings, issued_on)
                    except Exception as exc:  # noqa: BLE001 - recorded on the item, the run goes on
                        s.execute(update(ReceiptRunItem).where(ReceiptRunItem.id == item.id).values(  # type: ignore[arg-type]
                            status=ItemStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500], done_at=utcnow()))
                        result.failed += 1
                        result.errors.append(f"donor {item.donor_id}: {exc}")
            result.issued += len(stored)
            result.skipped += len(items) - len(stored)
        # Phase two, outside the numbering transaction: draw from memory, then keep the documents.
        _keep_documents(engine, service.draw(stored))
        if progress:
            progress(len(items))
    result.skipped -= result.failed
    _finish_if_done(engine, run_id)
    return result


def _finish_if_done(engine: Engine, run_id: int) -> None:
    with session_scope(engine) as s:
        pending = s.execute(select(func.count()).select_from(ReceiptRunItem).where(
            ReceiptRunItem.run_id == run_id, ReceiptRunItem.status == ItemStatus.PENDING)).scalar_one()  # type: ignore[arg-type]
        undrawn = s.execute(select(func.count()).select_from(Receipt).where(
            Receipt.run_id == run_id, Receipt.pdf_sha256.is_(None))).scalar_one()  # type: ignore[arg-type, union-attr]
        if pending == 0 and undrawn == 0:
            s.execute(update(ReceiptRun).where(ReceiptRun.id == run_id, ReceiptRun.status == RunStatus.OPEN)  # type: ignore[arg-type]
                      .values(status=RunStatus.DONE, finished_at=utcnow()))


def retry_failed(session: Session, run_id: int) -> int:
    """Put failed items back to pending (after fixing their data) and reopen the run."""
    n = session.execute(update(ReceiptRunItem).where(ReceiptRunItem.run_id == run_id,  # type: ignore[arg-type]
                                                     ReceiptRunItem.status == ItemStatus.FAILED)
                        .values(status=ItemStatus.PENDING, error=None)).rowcount or 0
    if n:
        session.execute(update(ReceiptRun).where(ReceiptRun.id == run_id).values(status=RunStatus.OPEN,  # type: ignore[arg-type]
                                                                                finished_at=None))
    return n


def run_counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(select(ReceiptRunItem.status, func.count()).where(ReceiptRunItem.run_id == run_id)  # type: ignore[arg-type]
                           .group_by(ReceiptRunItem.status)).all()
    counts = {s.value: 0 for s in ItemStatus}
    counts.update({status: n for status, n in rows})
    return counts


def _worker(url: str, run_id: int, settings: Settings, chunk: int, issued_on: dt.date) -> None:
    engine = make_engine(url)
    try:
        work(engine, run_id, settings=settings, chunk=chunk, issued_on=issued_on)
    finally:
        engine.dispose()


def work_in_processes(engine: Engine, run_id: int, workers: int, *, settings: Settings | None = None,
                      chunk: int = 100, issued_on: dt.date | None = None, progress: Progress | None = None,
                      poll_seconds: float = 0.5) -> dict[str, int]:
    """Share a run between worker processes (PostgreSQL only); the parent reports progress from the database."""
    if workers > 1 and not is_postgres(engine):
        raise InvalidState("several workers need PostgreSQL; SQLite has a single writer")
    settings = settings or get_settings()
    issued_on = issued_on or dt.date.today()
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, run_id, settings, chunk, issued_on)) for _ in range(workers)]
    for p in procs:
        p.start()
    seen = 0
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(poll_seconds)
            seen = _report(engine, run_id, seen, progress)
    finally:
        for p in procs:
            p.join()
    _report(engine, run_id, seen, progress)
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise InvalidState(f"{len(failed)} receipt worker(s) stopped with an error; run again to resume")
    _finish_if_done(engine, run_id)
    with Session(engine) as s:
        return run_counts(s, run_id)


def _report(engine: Engine, run_id: int, seen: int, progress: Progress | None) -> int:
    with Session(engine) as s:
        counts = run_counts(s, run_id)
    done = sum(n for k, n in counts.items() if k != ItemStatus.PENDING)
    if progress and done > seen:
        progress(done - seen)
    return done


@dataclass(frozen=True)
class Preview:
    """What a run would issue (dry run): counts and totals per jurisdiction and currency."""

    receipts: Counter[str]
    totals: dict[str, int]


def preview(session: Session, year: int, jurisdiction: Jurisdiction | None = None,
            settings: Settings | None = None, chunk: int = 2000) -> Preview:
    settings = settings or get_settings()
    due = due_donors(session, year, settings, jurisdiction)
    receipts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for start in range(0, len(due), chunk):
        reqs = [service.Request(d, j) for d, j in due[start:start + chunk]]
        for draft in service.drafts_for(session, reqs, year, settings).values():
            if draft is not None:
                receipts[draft.jurisdiction.value] += 1
                totals[f"{draft.jurisdiction.value} {draft.currency}"] += draft.total.minor
    return Preview(receipts, dict(totals))
