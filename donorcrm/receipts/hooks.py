"""Session hooks that keep receipts honest whoever writes through the ORM.

- A receipt's content, its lines (except releasing the live-gift key on void) and its PDF never change
  and are never deleted.
- A gift reversed after it went on a live receipt raises that receipt's correction flag, in the same
  transaction as the reversal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from donorcrm.errors import InvalidState
from donorcrm.gifts.models import Gift
from donorcrm.receipts.models import (
    IMMUTABLE_RECEIPT_COLUMNS,
    Receipt,
    ReceiptLine,
    ReceiptPdf,
    ReceiptStatus,
)

_PENDING_KEY = "donorcrm_receipts_reversed"


def _changed(obj: object, attrs: set[str] | frozenset[str]) -> list[str]:
    state = inspect(obj)
    return [a for a in attrs if state.attrs[a].history.has_changes()]


@event.listens_for(Session, "before_flush")
def _guard(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Receipt | ReceiptLine | ReceiptPdf):
            raise InvalidState("receipts are never deleted; void them instead")
    for obj in session.dirty:
        if isinstance(obj, Receipt):
            changed = _changed(obj, IMMUTABLE_RECEIPT_COLUMNS)
            if changed:
                raise InvalidState(f"receipt {obj.number} is issued and cannot be edited ({', '.join(changed)})")
            hist = inspect(obj).attrs["pdf_sha256"].history
            if hist.has_changes() and hist.deleted and hist.deleted[0] is not None:
                raise InvalidState(f"receipt {obj.number} already has its document")
        elif isinstance(obj, ReceiptLine):
            changed = _changed(obj, set(ReceiptLine.model_fields) - {"live_gift_id"})
            if changed or (obj.live_gift_id is not None and inspect(obj).attrs["live_gift_id"].history.has_changes()):
                raise InvalidState("receipt lines cannot be edited")
        elif isinstance(obj, ReceiptPdf) and _changed(obj, {"data", "sha256"}):
            raise InvalidState("a receipt document is written once")
    reversed_ids = [g.reverses_gift_id for g in session.new if isinstance(g, Gift) and g.reverses_gift_id]
    if reversed_ids:
        session.info.setdefault(_PENDING_KEY, []).extend(reversed_ids)


@event.listens_for(Session, "after_flush")
def _flag_reversals(session: Session, _ctx: Any) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        flag_receipts_of_gifts(session, ids, "a gift on this receipt was reversed after issue")


def flag_receipts_of_gifts(session: Session, gift_ids: list[int], reason: str) -> int:
    """Raise the correction flag on the live receipts holding these gifts; returns how many were flagged."""
    receipt_ids = select(ReceiptLine.receipt_id).where(ReceiptLine.live_gift_id.in_(gift_ids))  # type: ignore[union-attr]
    result = session.connection().execute(
        update(Receipt)
        .where(Receipt.id.in_(receipt_ids), Receipt.status == ReceiptStatus.ISSUED,  # type: ignore[union-attr]
               Receipt.needs_correction.is_(False))  # type: ignore[attr-defined]
        .values(needs_correction=True, correction_reason=reason)
    )
    return result.rowcount or 0
