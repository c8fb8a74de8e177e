"""What the admin's Receipts page shows: runs and their progress, receipt search, the correction queue
and a year's summary. Aggregation happens in SQL; pages only draw the rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from donorcrm.receipts.models import (
    ItemStatus,
    Receipt,
    ReceiptDelivery,
    ReceiptRun,
    ReceiptRunItem,
    ReceiptStatus,
)


def runs(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Issuance runs, newest first, with done/pending/failed counts for a progress bar."""
    item = ReceiptRunItem
    counts = (
        select(item.run_id,
               func.sum(case((item.status == ItemStatus.ISSUED, 1), else_=0)).label("issued"),
               func.sum(case((item.status == ItemStatus.SKIPPED, 1), else_=0)).label("skipped"),
               func.sum(case((item.status == ItemStatus.FAILED, 1), else_=0)).label("failed"),
               func.sum(case((item.status == ItemStatus.PENDING, 1), else_=0)).label("pending"))
        .group_by(item.run_id).subquery()
    )
    rows = session.execute(
        select(ReceiptRun, counts.c.issued, counts.c.skipped, counts.c.failed, counts.c.pending)
        .outerjoin(counts, counts.c.run_id == ReceiptRun.id)  # type: ignore[arg-type]
        .order_by(ReceiptRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    ).all()
    out = []
    for run, issued, skipped, failed, pending in rows:
        done = (issued or 0) + (skipped or 0) + (failed or 0)
        out.append({
            "run_id": run.id, "year": run.year, "jurisdiction": run.jurisdiction or "all", "status": run.status,
            "total": run.total_items, "issued": issued or 0, "skipped": skipped or 0, "failed": failed or 0,
            "pending": pending or 0, "progress": done / run.total_items if run.total_items else 1.0,
            "started": run.created_at, "finished": run.finished_at, "by": run.created_by,
        })
    return out


def search(session: Session, *, year: int | None = None, text: str | None = None, donor_id: int | None = None,
           status: str | None = None, needs_correction: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Receipts by number, donor id or (part of) the donor's name as printed on the receipt."""
    stmt = select(Receipt).order_by(Receipt.year.desc(), Receipt.series, Receipt.serial).limit(limit)  # type: ignore[attr-defined]
    if year is not None:
        stmt = stmt.where(Receipt.year == year)
    if donor_id is not None:
        stmt = stmt.where(Receipt.donor_id == donor_id)
    if status:
        stmt = stmt.where(Receipt.status == status)
    if needs_correction is not None:
        stmt = stmt.where(Receipt.needs_correction.is_(needs_correction))  # type: ignore[attr-defined]
    if text:
        like = f"%{text.strip()}%"
        name = func.lower(func.coalesce(Receipt.donor_snapshot["name"].as_string(), ""))
        stmt = stmt.where(or_(Receipt.number.ilike(like), name.like(like.lower())))  # type: ignore[attr-defined]
    return [_row(r) for r in session.execute(stmt).scalars()]


def _row(r: Receipt) -> dict[str, Any]:
    return {
        "id": r.id, "number": r.number, "year": r.year, "jurisdiction": r.jurisdiction, "kind": r.kind,
        "donor_id": r.donor_id, "name": (r.donor_snapshot or {}).get("name", ""), "currency": r.currency,
        "total": r.total_minor / 100, "eligible": r.eligible_minor / 100, "total_minor": r.total_minor,
        "eligible_minor": r.eligible_minor, "status": r.status,
        "needs_correction": r.needs_correction, "correction_reason": r.correction_reason or "",
        "issued_on": r.issued_on, "void_reason": r.void_reason or "",
    }


def correction_queue(session: Session, year: int | None = None) -> list[dict[str, Any]]:
    """Live receipts flagged for correction (a gift reversed or received after issue): void and replace them."""
    return search(session, year=year, status=ReceiptStatus.ISSUED, needs_correction=True, limit=10_000)


def year_summary(session: Session, year: int) -> dict[str, Any]:
    """Per jurisdiction: live and voided receipts, totals in minor units, and delivery states."""
    rows = session.execute(
        select(Receipt.jurisdiction, Receipt.currency, Receipt.status, func.count(), func.sum(Receipt.total_minor))
        .where(Receipt.year == year).group_by(Receipt.jurisdiction, Receipt.currency, Receipt.status)
    ).all()
    per: dict[str, dict[str, Any]] = {}
    for j, cur, status, n, amount in rows:
        entry = per.setdefault(j, {"currency": cur, "issued": 0, "voided": 0, "total_minor": 0})
        entry[status] = n
        if status == ReceiptStatus.ISSUED:
            entry["total_minor"] = int(amount or 0)
    deliveries = session.execute(
        select(ReceiptDelivery.channel, ReceiptDelivery.status, func.count())
        .join(Receipt, Receipt.id == ReceiptDelivery.receipt_id)  # type: ignore[arg-type]
        .where(Receipt.year == year).group_by(ReceiptDelivery.channel, ReceiptDelivery.status)
    ).all()
    flagged = session.execute(select(func.count()).select_from(Receipt).where(
        Receipt.year == year, Receipt.status == ReceiptStatus.ISSUED, Receipt.needs_correction.is_(True))  # type: ignore[attr-defined]
    ).scalar_one()
    return {"year": year, "jurisdictions": per, "deliveries": {f"{c}:{s}": n for c, s, n in deliveries},
            "needs_correction": flagged}
