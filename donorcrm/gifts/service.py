"""Recording and reversing gifts. Idempotent by (source, external_ref); append-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.db import utcnow
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts import summary
from donorcrm.gifts.categories import REVERSAL_TYPES, EntryType, IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.rowcopy import next_ids, write_rows

# Other packages react to new ledger rows (match pools, page credits, summaries). A hook runs inside the
# same transaction, so what it writes stands or falls with the gift.
GiftHook = Callable[[Session, Gift], None]
after_record_hooks: list[GiftHook] = []
after_reverse_hooks: list[GiftHook] = []
# Bulk bookings skip the per-gift hooks; these catch up once per batch instead.
after_bulk_hooks: list[Callable[[Session], None]] = []
_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        from donorcrm import plugins

        plugins.install()
        _plugins_loaded = True


def _run_hooks(hooks: list[GiftHook], session: Session, gift: Gift) -> None:
    _load_plugins()
    for hook in hooks:
        hook(session, gift)


def _existing(session: Session, source: str, external_ref: str | None) -> Gift | None:
    if external_ref is None:
        return None
    return session.execute(
        select(Gift).where(Gift.source == source, Gift.external_ref == external_ref)
    ).scalars().first()


def record_gift(
    session: Session,
    *,
    donor_id: int | None,
    amount: Money,
    received_on: dt.date,
    channel: PaymentChannel | str,
    category: IncomeCategory | str,
    source: str = "manual",
    external_ref: str | None = None,
    fund_id: int | None = None,
    campaign_id: int | None = None,
    source_code: str | None = None,
    commitment_id: int | None = None,
    bequest_id: int | None = None,
    grant_id: int | None = None,
    note: str | None = None,
) -> Gift:
    """Book a gift. Returns the existing row when (source, external_ref) was booked already."""
    if not amount.is_positive:
        raise ValidationError(f"a gift must be positive, got {amount}")
    try:
        channel = PaymentChannel(channel)
        category = IncomeCategory(category)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    found = _existing(session, source, external_ref)
    if found is not None:
        if found.amount_minor != amount.minor or found.currency != amount.currency:
            raise InvalidState(
                f"{source} reference {external_ref} was booked as {Money(found.amount_minor, found.currency)},"
                f" not {amount}"
            )
        return found
    gift = Gift(
        donor_id=donor_id, entry_type=EntryType.GIFT, amount_minor=amount.minor, currency=amount.currency,
        received_on=received_on, channel=channel, category=category, fund_id=fund_id, campaign_id=campaign_id,
        source_code=source_code, commitment_id=commitment_id, bequest_id=bequest_id, grant_id=grant_id,
        source=source, external_ref=external_ref, note=note, created_by=audit.current_actor(),
    )
    session.add(gift)
    session.flush()
    summary.apply(session, [summary.change_of(gift)])
    audit.record(session, "gift.record", "gift", gift.id, after={
        "donor_id": donor_id, "amount": str(amount), "received_on": received_on, "category": str(category),
        "channel": str(channel), "source": source, "external_ref": external_ref,
    })
    _run_hooks(after_record_hooks, session, gift)
    return gift


def reverse_gift(
    session: Session,
    gift_id: int,
    *,
    entry_type: EntryType | str = EntryType.REFUND,
    on: dt.date,
    reason: str | None = None,
    source: str | None = None,
    external_ref: str | None = None,
) -> Gift:
    """Undo a gift with a negative row. A gift reverses once; asking again returns the same reversal."""
    entry_type = EntryType(entry_type)
    if entry_type not in REVERSAL_TYPES:
        raise ValidationError(f"{entry_type} is not a reversal type")
    original = session.get(Gift, gift_id)
    if original is None:
        raise NotFound(f"no gift {gift_id}")
    if original.entry_type != EntryType.GIFT:
        raise InvalidState(f"gift {gift_id} is itself a reversal")
    already = session.execute(
        select(Gift).where(Gift.reverses_gift_id == gift_id)
    ).scalars().first()
    if already is not None:
        return already
    reversal = Gift(
        donor_id=original.donor_id, entry_type=entry_type, amount_minor=-original.amount_minor,
        currency=original.currency, received_on=on, channel=original.channel, category=original.category,
        fund_id=original.fund_id, campaign_id=original.campaign_id, source_code=original.source_code,
        commitment_id=original.commitment_id, bequest_id=original.bequest_id, grant_id=original.grant_id,
        reverses_gift_id=gift_id, reason=reason, source=source or original.source, external_ref=external_ref,
        created_by=audit.current_actor(),
    )
    session.add(reversal)
    session.flush()
    summary.apply(session, [summary.change_of(reversal, reverses_on=original.received_on)])
    audit.record(session, "gift.reverse", "gift", gift_id, after={
        "reversal_id": reversal.id, "type": str(entry_type), "reason": reason, "on": on,
        "amount": str(Money(reversal.amount_minor, reversal.currency)),
    })
    _run_hooks(after_reverse_hooks, session, reversal)
    return reversal


def find_by_ref(session: Session, source: str, external_ref: str) -> Gift | None:
    return _existing(session, source, external_ref)


def has_reversal(gift: Any = Gift) -> Any:
    """EXISTS clause, true when ``gift`` (the Gift entity or an alias of it) has a reversal.

    Correlated, so each row is one probe of the unique index on reverses_gift_id. ``gift.id IN (SELECT
    reverses_gift_id ...)`` reads the same, but PostgreSQL runs it as an unhashed subplan, rescanning
    every reversal for every row, once the reversals outgrow work_mem: hours on a large ledger.
    """
    reversal = aliased(Gift)
    return exists().where(reversal.reverses_gift_id == gift.id)


def is_reversed(session: Session, gift_id: int) -> bool:
    return session.execute(
        select(func.count()).select_from(Gift).where(Gift.reverses_gift_id == gift_id)
    ).scalar_one() > 0


def net_total(session: Session, *, donor_id: int | None = None, year: int | None = None,
              currency: str = "EUR") -> Money:
    """Net ledger total (gifts minus reversals), optionally for one donor and/or calendar year."""
    stmt = select(func.coalesce(func.sum(Gift.amount_minor), 0)).where(Gift.currency == currency)
    if donor_id is not None:
        stmt = stmt.where(Gift.donor_id == donor_id)
    if year is not None:
        stmt = stmt.where(Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1))
    return Money(int(session.execute(stmt).scalar_one()), currency)


@dataclass(frozen=True, slots=True)
class GiftRow:
    """A plain gift for bulk recording, validated before it reaches the database."""

    donor_id: int | None
    amount_minor: int
    received_on: dt.date
    channel: str
    category: str
    currency: str = "EUR"
    source: str = "bulk"
    external_ref: str | None = None
    fund_id: int | None = None
    campaign_id: int | None = None
    source_code: str | None = None
    commitment_id: int | None = None
    bequest_id: int | None = None
    grant_id: int | None = None
    note: str | None = None


_CHANNELS = frozenset(PaymentChannel)
_CATEGORIES = frozenset(IncomeCategory)


def _chunks(rows: Iterable[GiftRow], size: int) -> Iterator[list[GiftRow]]:
    chunk: list[GiftRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def record_gifts_bulk(session: Session, rows: Iterable[GiftRow], *, chunk_size: int = 20_000,
                      skip_existing: bool = True, progress: object = None) -> int:
    """Book many gifts at close to the driver's raw speed (no ORM object per row); one audit row per batch.

    With skip_existing, rows whose (source, external_ref) is already in the ledger are left out, so a
    re-run of the same batch books nothing twice. Returns the number of rows written.
    """
    return _record_bulk(session, rows, chunk_size=chunk_size, skip_existing=skip_existing, progress=progress,
                        want_ids=False)[0]


def book_gifts_bulk(session: Session, rows: Sequence[GiftRow]) -> list[int]:
    """Book gifts none of which is in the ledger yet (their callers derive each external_ref from a row of
    their own, as bank lines do) and return the new ids in row order, so nothing is read back.

    One batch: the ledger summaries are brought up to date once for all rows. A row already booked
    (same source and external_ref) fails the whole batch on the unique constraint.
    """
    return _record_bulk(session, rows, chunk_size=max(len(rows), 1), skip_existing=False, progress=None,
                        want_ids=True)[1]


def _record_bulk(session: Session, rows: Iterable[GiftRow], *, chunk_size: int, skip_existing: bool,
                 progress: object, want_ids: bool) -> tuple[int, list[int]]:
    now = utcnow()
    actor = audit.current_actor()
    ids: list[int] = []
    written = 0
    session.flush()
    conn = session.connection()
    writer = _BulkInsert(conn, now, actor)
    for chunk in _chunks(rows, chunk_size):
        for r in chunk:
            if r.amount_minor <= 0 or r.channel not in _CHANNELS or r.category not in _CATEGORIES:
                raise ValidationError(f"invalid gift row {r}")
        if skip_existing:
            chunk = _without_existing(session, chunk)
        if chunk:
            new_ids = writer.insert(chunk, want_ids)
            if want_ids:
                ids.extend(new_ids)
            summary.apply(session, [
                summary.LedgerChange(r.donor_id, r.amount_minor, r.received_on, r.category, r.currency,
                                     r.fund_id, r.campaign_id, source=r.source) for r in chunk
            ])
            written += len(chunk)
        if progress is not None:
            progress(len(chunk))  # type: ignore[operator]
    if written:
        audit.record(session, "gift.record_bulk", "gift", None, after={"rows": written})
        _load_plugins()
        for hook in after_bulk_hooks:
            hook(session)
    return written, ids


_BULK_COLUMNS = ("donor_id", "entry_type", "amount_minor", "currency", "received_on", "channel", "category",
                 "fund_id", "campaign_id", "source_code", "commitment_id", "bequest_id", "grant_id", "source",
                 "external_ref", "note", "created_at", "created_by")


class _BulkInsert:
    """Inserts GiftRows through the DBAPI cursor of the session's own connection (same transaction).

    Values go through the columns' SQLAlchemy bind processors, so they are stored exactly as an ORM insert
    would store them; constant columns are processed once, dates once per distinct day. SQLite gets
    executemany, PostgreSQL COPY; any other engine Core executemany.
    """

    def __init__(self, conn: Connection, now: dt.datetime, actor: str):
        self.conn = conn
        self.dialect = conn.dialect.name
        table = Gift.__table__  # type: ignore[attr-defined]
        self.table = table
        created = table.c.created_at.type.bind_processor(conn.dialect)
        self.created_at = created(now) if created else now
        self.actor = actor
        self.date_processor = table.c.received_on.type.bind_processor(conn.dialect)
        self.dates: dict[dt.date, object] = {}

    def _day(self, day: dt.date) -> object:
        value = self.dates.get(day)
        if value is None:
            value = self.dates[day] = self.date_processor(day) if self.date_processor else day
        return value

    def _tuples(self, chunk: Sequence[GiftRow]) -> list[tuple[object, ...]]:
        day, created, actor = self._day, self.created_at, self.actor
        return [(r.donor_id, "gift", r.amount_minor, r.currency, day(r.received_on), r.channel, r.category,
                 r.fund_id, r.campaign_id, r.source_code, r.commitment_id, r.bequest_id, r.grant_id, r.source,
                 r.external_ref, r.note, created, actor) for r in chunk]

    def insert(self, chunk: Sequence[GiftRow], want_ids: bool = False) -> Sequence[int]:
        """Write the rows; with want_ids, with ids given here, which are returned in row order."""
        if want_ids and self.dialect not in ("sqlite", "postgresql"):
            result = self.conn.execute(insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True),
                                       [dict(zip(_BULK_COLUMNS, t, strict=True)) for t in self._tuples(chunk)])
            return [int(i) for i in result.scalars()]
        columns = _BULK_COLUMNS
        rows = self._tuples(chunk)
        ids: Sequence[int] = ()
        if want_ids:
            ids = next_ids(self.conn, "gift", len(rows))
            columns = ("id", *columns)
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        if self.dialect in ("sqlite", "postgresql"):
            write_rows(self.conn, "gift", columns, rows)
        else:
            self.conn.execute(insert(self.table), [dict(zip(columns, t, strict=True)) for t in rows])
        return ids


def _without_existing(session: Session, chunk: Sequence[GiftRow]) -> list[GiftRow]:
    refs_by_source: dict[str, list[str]] = {}
    for r in chunk:
        if r.external_ref is not None:
            refs_by_source.setdefault(r.source, []).append(r.external_ref)
    if not refs_by_source:
        return list(chunk)
    seen: set[tuple[str, str]] = set()
    for source, refs in refs_by_source.items():
        for i in range(0, len(refs), 5000):
            part = refs[i : i + 5000]
            found = session.execute(
                select(Gift.external_ref).where(Gift.source == source, Gift.external_ref.in_(part))  # type: ignore[union-attr]
            ).scalars()
            seen.update((source, ref) for ref in found)
    out: list[GiftRow] = []
    for r in chunk:
        key = (r.source, r.external_ref) if r.external_ref is not None else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)  # duplicates inside the same batch count once
        out.append(r)
    return out
