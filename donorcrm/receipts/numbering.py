"""Gapless serial numbers per series and year.

The counter row is bumped with UPDATE ... RETURNING inside the caller's transaction: the row lock
makes concurrent issuers queue, and a rollback returns the numbers, so no serial is ever skipped.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from donorcrm.receipts.models import ReceiptCounter


def format_number(series: str, year: int, serial: int) -> str:
    return f"{series}-{year}-{serial:06d}"


def take_serials(session: Session, series: str, year: int, count: int = 1) -> range:
    """Reserve `count` consecutive serials; they are used if the transaction commits, returned if not."""
    if count <= 0:
        return range(0)
    bump = (update(ReceiptCounter)
            .where(ReceiptCounter.series == series, ReceiptCounter.year == year)  # type: ignore[arg-type]
            .values(last_serial=ReceiptCounter.last_serial + count)
            .returning(ReceiptCounter.last_serial))
    last = session.execute(bump).scalar_one_or_none()
    if last is None:  # first receipt of this series and year: create the counter (racing issuers: one wins)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(ReceiptCounter).values(series=series, year=year, last_serial=0)
            .on_conflict_do_nothing(index_elements=["series", "year"])
        )
        last = session.execute(bump).scalar_one()
    return range(last - count + 1, last + 1)
