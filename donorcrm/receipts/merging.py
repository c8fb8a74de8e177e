"""What a donor merge means for receipts: one receipt per donor, year and jurisdiction stays the rule.

Issuance runs hold one item per (run, donor, jurisdiction). When both donors have an item in the same run,
the duplicate's pending item is dropped (the survivor's item now draws every gift, the duplicate's included);
a finished item of the duplicate stays on the duplicate as the record of what the run did. Receipts already
issued to either donor stay as issued, but a donor with two live receipts for one year, or a receipt that no
longer holds all of its donor's gifts, is put in the correction queue, where a person voids and replaces.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from donorcrm.receipts.models import ItemStatus, Receipt, ReceiptRun, ReceiptRunItem, ReceiptStatus

MERGE_REASON = "donors merged: gifts of both donors belong on one receipt"
ITEMS = ReceiptRunItem.__table__  # type: ignore[attr-defined]


def before_donor_merge(session: Session, survivor_id: int, duplicate_id: int) -> None:
    survivor_items = {(run_id, j): (item_id, status, receipt_id) for item_id, run_id, j, status, receipt_id in
                      session.execute(select(ITEMS.c.id, ITEMS.c.run_id, ITEMS.c.jurisdiction, ITEMS.c.status,
                                             ITEMS.c.receipt_id).where(ITEMS.c.donor_id == survivor_id))}
    move, drop, flag = [], [], set()
    dropped_per_run: dict[int, int] = {}
    for item_id, run_id, j, status, receipt_id in session.execute(
            select(ITEMS.c.id, ITEMS.c.run_id, ITEMS.c.jurisdiction, ITEMS.c.status, ITEMS.c.receipt_id)
            .where(ITEMS.c.donor_id == duplicate_id)):
        other = survivor_items.get((run_id, j))
        if other is None:
            move.append(item_id)
            continue
        if status == ItemStatus.PENDING:
            drop.append(item_id)
            dropped_per_run[run_id] = dropped_per_run.get(run_id, 0) + 1
        elif receipt_id is not None:
            flag.add(receipt_id)  # issued to the duplicate: misses the survivor's gifts
        if other[2] is not None:
            flag.add(other[2])  # issued to the survivor: misses the duplicate's gifts
    if move:
        session.execute(update(ITEMS).where(ITEMS.c.id.in_(move)).values(donor_id=survivor_id))
    if drop:
        session.execute(delete(ITEMS).where(ITEMS.c.id.in_(drop)))
        for run_id, n in dropped_per_run.items():
            session.execute(update(ReceiptRun).where(ReceiptRun.id == run_id)  # type: ignore[arg-type]
                            .values(total_items=ReceiptRun.total_items - n))
    _flag(session, flag)


def after_donor_merge(session: Session, survivor_id: int, duplicate_id: int) -> None:
    """Receipts moved with the duplicate's other links; two live ones for one year go to the correction queue."""
    twice = select(Receipt.year, Receipt.jurisdiction).where(
        Receipt.donor_id == survivor_id, Receipt.status == ReceiptStatus.ISSUED,
    ).group_by(Receipt.year, Receipt.jurisdiction).having(func.count() > 1)
    for year, jurisdiction in session.execute(twice).all():
        _flag(session, set(session.execute(select(Receipt.id).where(
            Receipt.donor_id == survivor_id, Receipt.status == ReceiptStatus.ISSUED, Receipt.year == year,
            Receipt.jurisdiction == jurisdiction)).scalars()))


def _flag(session: Session, receipt_ids: set[int]) -> None:
    if receipt_ids:
        session.execute(update(Receipt).where(
            Receipt.id.in_(sorted(receipt_ids)), Receipt.status == ReceiptStatus.ISSUED,  # type: ignore[union-attr]
        ).values(needs_correction=True, correction_reason=MERGE_REASON))


def register() -> None:
    """Hook receipts into the donor services (idempotent; called by donorcrm.plugins)."""
    from donorcrm.donors import service as donors

    donors.merge_moved_by_hooks.add(ITEMS.name)
    if before_donor_merge not in donors.before_merge_hooks:
        donors.before_merge_hooks.append(before_donor_merge)
    if after_donor_merge not in donors.merge_hooks:
        donors.merge_hooks.append(after_donor_merge)
