"""Use cases of bank reconciliation on a Session: import a file, match its lines, book, split and undo.

Services never commit. Every operation keeps the invariant that, per line, the active allocations plus the
open (suspense) amount equal the line's amount, so booked + suspense equals the statement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.config import Settings, get_settings
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorAccount, DonorCreate, DonorKind, DonorStatus
from donorcrm.errors import InvalidState, NotFound, Problem, ValidationError
from donorcrm.gcpause import cycle_collection_paused
from donorcrm.gifts import service as gifts
from donorcrm.gifts.categories import EntryType, IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.rowcopy import next_ids, write_rows

from . import rules
from .camt import read_for_import
from .models import AllocationKind, BankAllocation, BankLine, BankStatement, LineStatus, NotGiftPurpose
from .records import EntryValues, Line, Statement, line_values
from .rules import Candidate, DonorFacts, Expectation, MatchContext, Target
from .sources import ExpectationSource, booking_handlers, registered_sources, return_handlers

SOURCE = "bank"
_WITHOUT_NAMES = [r for r in rules.RULES if r is not rules.rule_name]  # first pass: names load only where needed
_OPEN, _BOOKED = str(LineStatus.OPEN), str(LineStatus.BOOKED)  # plain strings for bulk rows
_CHUNK = 2000

# --------------------------------------------------------------------------------------------------
# Import


@dataclass
class ImportResult:
    statements_new: int = 0
    statements_known: int = 0
    entries: int = 0
    lines: int = 0
    statement_ids: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # warnings: the file was imported
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase: "parse", "store" (+ "match", "book")
    matched: list[MatchResult] = field(default_factory=list)  # with match=True: one per new statement


def _read_bytes(source: str | Path | bytes | IO[bytes]) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, None
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes(), Path(source).name
    return source.read(), getattr(source, "name", None)


def _balance_problems(stmt: Statement, entries: Sequence[EntryValues]) -> list[Problem]:
    opening = stmt.balance("OPBD", "PRCD")
    closing = stmt.balance("CLBD")
    if opening is None or closing is None or opening.amount.currency != closing.amount.currency:
        return []
    ccy = closing.amount.currency
    moved = sum(e.signed.minor for e in entries if e.status == "BOOK" and e.amount.currency == ccy)
    if opening.amount.minor + moved != closing.amount.minor:
        return [Problem(f"statement {stmt.statement_id}", f"opening {opening.amount} plus entries"
                        f" {Money(moved, closing.amount.currency)} is not the closing balance {closing.amount}")]
    return []


@cycle_collection_paused()
def import_file(session: Session, source: str | Path | bytes | IO[bytes], *, file_name: str | None = None,
                match: bool = False, sources: Sequence[ExpectationSource] | None = None,
                settings: Settings | None = None) -> ImportResult:
    """Read a camt.053/054 file and store its statements and lines; with ``match``, match each new statement too.

    The whole file is read and checked before anything is written; statements already imported (same
    account, statement id and sequence) are skipped, so importing a file twice changes nothing. Matching
    here gives what ``match(statement_id=...)`` right after the import would, but decides on the lines
    before they are written, so each line is written once with its outcome instead of written, read back
    and updated.
    """
    started = time.perf_counter()
    data, name = _read_bytes(source)
    statements = read_for_import(data)  # raises CamtError with element and line
    digest = hashlib.sha256(data).hexdigest()
    result = ImportResult()
    parsed = time.perf_counter()
    result.seconds["parse"] = parsed - started
    known = set(session.execute(
        select(BankStatement.identity).where(BankStatement.identity.in_([s.identity for s, _ in statements]))  # type: ignore[attr-defined]
    ).scalars())
    seen_here: set[str] = set()
    actor = audit.current_actor()
    for stmt, entries in statements:
        if stmt.identity in known or stmt.identity in seen_here:
            result.statements_known += 1
            continue
        seen_here.add(stmt.identity)
        result.problems.extend(_balance_problems(stmt, entries))
        row, lines = _statement_row(session, stmt, entries, digest, file_name or name, actor)
        result.statements_new += 1
        result.entries += row.entry_count
        result.lines += row.line_count
        assert row.id is not None
        result.statement_ids.append(row.id)
        audit.record(session, "bank.import", "bank_statement", row.id, after={
            "statement": stmt.statement_id, "account": stmt.account, "entries": row.entry_count,
            "lines": row.line_count, "file": file_name or name, "sha256": digest,
        }, actor=actor)
        rows = _line_rows(session, row.id, stmt.identity_hash, lines)
        if match:
            matched = _store_matched(session, rows, sources=sources, settings=settings)
            result.matched.append(matched)
            for phase, secs in matched.seconds.items():
                result.seconds[phase] = result.seconds.get(phase, 0.0) + secs
        else:
            _bulk_insert(session, "bank_line", _LINE_INSERT, rows)
    result.seconds["store"] = time.perf_counter() - parsed - result.seconds.get("match", 0.0) - result.seconds.get(
        "book", 0.0)
    return result


def _statement_row(session: Session, stmt: Statement, entries: Sequence[EntryValues], digest: str,
                   file_name: str | None, actor: str) -> tuple[BankStatement, list[tuple[Any, ...]]]:
    """The statement row (written) and its lines as line_values tuples (not yet written); ``stmt`` is the
    header, ``entries`` its entries (read_for_import)."""
    currency = stmt.currency or (entries[0].amount.currency if entries else "EUR")
    opening = stmt.balance("OPBD", "PRCD")
    closing = stmt.balance("CLBD")
    booked = [e for e in entries if e.status == "BOOK"]
    lines = [line for e in booked for line in line_values(e, stmt.account_iban)]
    row = BankStatement(
        identity=stmt.identity, message=stmt.message, version=stmt.version, message_id=stmt.message_id,
        statement_id=stmt.statement_id, account=stmt.account, currency=currency,
        sequence=stmt.electronic_seq or stmt.legal_seq, created_at_bank=stmt.created_at,
        from_date=stmt.from_date, to_date=stmt.to_date,
        opening_minor=opening.amount.minor if opening else None, closing_minor=closing.amount.minor if closing else None,
        entry_count=len(booked), line_count=len(lines),
        credit_minor=sum(e.amount.minor for e in booked if e.credit),
        debit_minor=sum(e.amount.minor for e in booked if not e.credit),
        file_name=(file_name or "")[:255] or None, file_sha256=digest, imported_by=actor,
    )
    session.add(row)
    session.flush()
    return row, lines


def _line_rows(session: Session, statement_id: int, prefix: str, lines: Sequence[tuple[Any, ...]]
               ) -> list[tuple[Any, ...]]:
    """bank_line rows in _LINE_INSERT order, cut to the column sizes, each line open in full."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    days: dict[dt.date | None, object] = {None: None}  # a statement spans a few days: convert each once
    for line in lines:
        for day in (line[3], line[4]):
            if day not in days:
                days[day] = _day_param(day, sqlite)
    rows: list[tuple[Any, ...]] = []
    add = rows.append
    for (identity, tx_index, amount, booked_on, value_on, reversal, code, e2e, mandate, batch_ref, batch_count,
         name, iban, remittance, structured, reason, acct_ref, description) in lines:  # Line's field order
        minor = amount.minor
        add((  # cut to the column sizes; "x and x[:n]" is _cut(x, n) inlined
            statement_id, f"{prefix}:{identity}:{tx_index}"[:100], identity[:60], tx_index,
            minor, minor, amount.currency, _OPEN if minor else _BOOKED, days[booked_on], days[value_on], reversal,
            code and code[:40], e2e and e2e[:70], mandate and mandate[:70], batch_ref and batch_ref[:70], batch_count,
            name and name[:140], iban and iban[:34], remittance[:500], structured and structured[:70],
            reason and reason[:10], acct_ref and acct_ref[:70], description[:500],
        ))
    return rows


def _store_matched(session: Session, rows: Sequence[tuple[Any, ...]], *, sources: Sequence[ExpectationSource] | None,
                   settings: Settings | None) -> MatchResult:
    """Match a new statement's lines (rows in _LINE_INSERT order) before writing them, then write each line
    once with its outcome, then the bookings (whose allocations point at the lines)."""
    with _page_cache(session, _CACHE_KIB):
        started = time.perf_counter()
        ids = next_ids(session.connection(), "bank_line", len(rows))
        # As _open_lines would read them back: every line with an amount.
        open_rows = [(i, *_AS_READ_BACK(r)) for i, r in zip(ids, rows, strict=True) if r[_AMOUNT_AT]]
        result = MatchResult(lines=len(open_rows))
        outcome: dict[int, tuple[Any, ...]] = {}
        plan = None
        if open_rows:
            plan, params = _decide(session, open_rows, result, auto=True, sources=sources, settings=settings,
                                   started=started)
            outcome = {p[4]: p for p in params}
        decided = time.perf_counter()
        written = []
        for i, r in zip(ids, rows, strict=True):
            o = outcome.get(i)
            if o is None:  # no amount: booked as it stands, never matched
                written.append((i, *r, None, None))
                continue
            row = list(r)
            row[_OPEN_AT], row[_STATUS_AT] = o[0], o[1]
            written.append((i, *row, o[2], o[3]))
        _bulk_insert(session, "bank_line", ("id", *_LINE_INSERT, "candidates", "matched_at"), written)
        if plan is not None:
            plan.execute()
            _matched(session, result)
        result.seconds["book"] = time.perf_counter() - decided
        return result


_LINE_INSERT = (
    "statement_id", "ref", "entry_identity", "tx_index", "amount_minor", "open_minor", "currency", "status",
    "booked_on", "value_on", "reversal", "bank_tx_code", "end_to_end_id", "mandate_id", "batch_ref", "batch_count",
    "counterparty_name", "counterparty_iban", "remittance", "structured_ref", "return_reason", "acct_svcr_ref",
    "description",
)


def _day_param(day: dt.date | None, sqlite: bool) -> object:
    return day.isoformat() if (sqlite and day is not None) else day


def _placeholder(session: Session) -> str:
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def _bulk_insert(session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Straight to the driver (COPY on PostgreSQL): a statement's hundred thousand lines without per-row overhead.

    SQLite's default 2 MB page cache spills while the indexes of a big insert grow: a larger one for the insert.
    """
    if rows:
        with _page_cache(session, _CACHE_KIB):
            write_rows(session.connection(), table, columns, rows)


# --------------------------------------------------------------------------------------------------
# Matching


@dataclass
class MatchResult:
    lines: int = 0
    auto_booked: int = 0
    auto_minor: int = 0
    suspense: int = 0
    suspense_minor: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    currency: str = "EUR"
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase: "match", "book"

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines, "auto_booked": self.auto_booked,
            "auto_amount": Money(self.auto_minor, self.currency).to_string(),
            "suspense": self.suspense, "suspense_amount": Money(self.suspense_minor, self.currency).to_string(),
            "match_rate": round(self.auto_booked / self.lines, 4) if self.lines else None,
            "by_rule": dict(self.by_rule),
        }


_LINE_COLUMNS = (
    "id", "ref", "amount_minor", "currency", "booked_on", "value_on", "reversal", "bank_tx_code", "end_to_end_id",
    "mandate_id", "batch_ref", "batch_count", "counterparty_name", "counterparty_iban", "remittance",
    "structured_ref", "return_reason", "acct_svcr_ref", "description", "entry_identity", "tx_index",
)
_AS_READ_BACK = itemgetter(*(_LINE_INSERT.index(c) for c in _LINE_COLUMNS[1:]))  # an insert row as _open_lines reads it
_AMOUNT_AT, _OPEN_AT, _STATUS_AT = (_LINE_INSERT.index(c) for c in ("amount_minor", "open_minor", "status"))


def line_from_row(row: Any) -> Line:
    """The plain Line the rules read, from a bank_line row (ORM object or Core row)."""
    return Line(  # positional, in Line's field order
        row.entry_identity, row.tx_index, Money(row.amount_minor, row.currency), row.booked_on, row.value_on,
        bool(row.reversal), row.bank_tx_code, row.end_to_end_id, row.mandate_id, row.batch_ref, row.batch_count,
        row.counterparty_name, row.counterparty_iban, row.remittance or "", row.structured_ref, row.return_reason,
        row.acct_svcr_ref, row.description or "",
    )


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _donor_name(d: Any) -> str:
    """Display name from a row of (id, kind, first_name, initials, name_infix, last_name, organisation_name)."""
    donor_id, kind, first, initials, infix, last, organisation = tuple(d)[:7]
    if kind == DonorKind.ORGANISATION and organisation:
        return str(organisation)
    return " ".join(p for p in (first or initials, infix, last) if p) or f"Donor {donor_id}"


def _rows(session: Session, stmt: Any) -> list[Any]:
    """All rows of a column query, fetched at once on the session's connection (no ORM row loading);
    pending changes are flushed first, as session.execute would."""
    session.flush()
    return list(session.connection().execute(stmt).all())


def _rows_in(session: Session, sql: str, values: Sequence[Any], size: int = _CHUNK) -> list[Any]:
    """Rows of plain SQL whose ``{}`` is an IN list, for each chunk of values.

    Straight to the driver: a SQLAlchemy IN list is rendered anew per value on every execution, which
    costs more than the query for the tens of thousands of IBANs and donor ids of a large statement.
    Only for columns the driver returns as they are stored (ids, codes, names).
    """
    if not values:
        return []
    session.flush()
    conn, mark = session.connection(), _placeholder(session)
    if conn.dialect.name == "postgresql":
        # One array parameter: psycopg rewrites a query's placeholders on every call, and for lists of
        # thousands that rewriting cost more than the queries.
        return list(conn.exec_driver_sql(sql.replace("IN ({})", "= ANY(%s)"), (list(values),)).all())
    out: list[Any] = []
    for part in _chunks(values, size):
        out.extend(conn.exec_driver_sql(sql.format(", ".join([mark] * len(part))), tuple(part)).all())
    return out


def build_context(session: Session, lines: Sequence[Line], *, sources: Sequence[ExpectationSource] | None = None,
                  with_names: bool = True) -> MatchContext:
    """Everything the rules need about these lines, loaded in a few bulk queries."""
    from donorcrm import plugins

    plugins.install()
    ctx = MatchContext()
    for source in registered_sources() if sources is None else sources:
        ctx.add_expectations(source.expectations(session, lines))
    credit = [line for line in lines if line.amount.minor > 0]
    donor_ids: set[int] = set()
    ibans = sorted({line.counterparty_iban for line in credit if line.counterparty_iban})
    for iban, donor_id in _rows_in(session, "SELECT iban, donor_id FROM donor_account WHERE iban IN ({})", ibans):
        ctx.accounts[iban] = (*ctx.accounts.get(iban, ()), donor_id)
        donor_ids.add(donor_id)
    numbers: set[int] = set()
    gift_numbers: set[int] = set()
    ref_words: set[str] = set()
    for text in {rules._text_of(line) for line in credit}:  # each distinct description once
        if not text:
            continue
        quoted_donors, quoted_gifts, quoted_words = rules._quoted(text)
        numbers.update(quoted_donors)
        gift_numbers.update(quoted_gifts)
        ref_words.update(w for w in quoted_words if any(ch.isdigit() for ch in w))
    for gift_id, donor_id in _rows_in(
            session, "SELECT id, donor_id FROM gift WHERE id IN ({}) AND donor_id IS NOT NULL", sorted(gift_numbers)):
        ctx.gifts[gift_id] = donor_id
        donor_ids.add(donor_id)
    for reference, donor_id in _rows_in(session, "SELECT reference, id FROM donor WHERE reference IN ({})",
                                        sorted(ref_words)):
        ctx.donor_refs[reference.upper()] = donor_id
        donor_ids.add(donor_id)
    from donorcrm.campaigns.models import Campaign

    ctx.campaigns = {code.upper(): cid for cid, code in _rows(session, select(Campaign.id, Campaign.code))}
    donor_ids.update(numbers)
    if with_names:
        donor_ids.update(_name_index(session, credit, ctx))
    _load_donors(session, donor_ids, ctx)
    return ctx


def _name_index(session: Session, lines: Sequence[Line], ctx: MatchContext) -> set[int]:
    tokens: set[str] = set()
    org_names: set[str] = set()
    for line in lines:
        if line.counterparty_name:
            tokens.update(rules.name_tokens(line.counterparty_name))
            org_names.add(line.counterparty_name.strip())
    variants = sorted({v for t in tokens for v in (t, t.capitalize(), t.upper())})
    found: set[int] = set()
    columns = "SELECT id, kind, first_name, initials, name_infix, last_name, organisation_name FROM donor"
    rows = _rows_in(session, columns + " WHERE last_name IN ({})", variants, 3000)
    rows += _rows_in(session, columns + " WHERE organisation_name IN ({})", sorted(org_names), 3000)
    for row in rows:
        donor_id = row[0]
        if donor_id in found:
            continue
        ctx.index_name(donor_id, _donor_name(row), row[2] or row[3])
        found.add(donor_id)
    return found


def _load_donors(session: Session, donor_ids: Iterable[int], ctx: MatchContext) -> None:
    wanted = sorted(set(donor_ids) - set(ctx.donors))
    amounts: dict[int, set[int]] = {}
    for part in _chunks(wanted):
        for donor_id, minor in _rows_in(
                session, "SELECT donor_id, amount_minor FROM gift WHERE donor_id IN ({}) AND entry_type = '"
                + str(EntryType.GIFT) + "' GROUP BY donor_id, amount_minor", part):
            amounts.setdefault(donor_id, set()).add(minor)
        for d in _rows_in(session, "SELECT id, kind, first_name, initials, name_infix, last_name, organisation_name,"
                          " status FROM donor WHERE id IN ({})", part):
            ctx.donors[d[0]] = DonorFacts(id=d[0], name=_donor_name(d), kind=d[1],
                                          active=d[7] == DonorStatus.ACTIVE,
                                          usual_amounts=frozenset(amounts.get(d[0], ())))


def _category_for(ctx: MatchContext, donor_id: int | None) -> str:
    facts = ctx.donors.get(donor_id) if donor_id is not None else None
    if facts is not None and facts.kind == DonorKind.ORGANISATION:
        return IncomeCategory.COMPANY
    return IncomeCategory.INDIVIDUAL_ONE_OFF


def _open_lines(session: Session, *, statement_id: int | None, line_ids: Sequence[int] | None) -> list[Any]:
    """Lines untouched by any active booking (still fully in suspense): plain rows in _LINE_COLUMNS order,
    by id. Straight to the driver: a statement's hundred thousand lines without per-value processing."""
    sql = f"SELECT {', '.join(_LINE_COLUMNS)} FROM bank_line WHERE status = '{_OPEN}' AND open_minor = amount_minor"
    if statement_id is not None:
        sql += f" AND statement_id = {int(statement_id)}"
    if line_ids is not None:  # a person matching a few lines again
        return sorted(_rows_in(session, sql + " AND id IN ({})", sorted(set(line_ids))), key=lambda r: r[0])
    session.flush()
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql + " ORDER BY id")
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _lines_of(rows: Sequence[Any]) -> list[Line]:
    """line_from_row for the plain rows of _open_lines: dates as stored (ISO text on SQLite) and amounts are
    converted once per distinct value, as lines of one statement share a few days and many amounts."""
    days: dict[Any, dt.date | None] = {None: None}
    moneys: dict[tuple[int, str], Money] = {}
    out = []
    for (_, _, minor, currency, booked, value, reversal, code, e2e, mandate, batch_ref, batch_count, name, iban,
         remittance, structured, reason, acct_ref, description, identity, tx_index) in rows:
        money = moneys.get((minor, currency))
        if money is None:
            money = moneys[(minor, currency)] = Money(minor, currency)
        booked_on = days[booked] if booked in days else days.setdefault(booked, _as_day(booked))
        value_on = days[value] if value in days else days.setdefault(value, _as_day(value))
        out.append(Line(identity, tx_index, money, booked_on, value_on, bool(reversal), code, e2e, mandate, batch_ref,
                        batch_count, name, iban, remittance or "", structured, reason, acct_ref, description or ""))
    return out


def _as_day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _candidates_json(ranked: Sequence[Candidate]) -> str:
    """The stored candidates of a line: ``json.dumps([c.as_dict() for c in ranked])``, byte for byte."""
    return "[" + ", ".join([c.as_json() for c in ranked]) + "]"


_CACHE_KIB = 64 * 1024  # SQLite page cache while a statement is stored or matched


@contextmanager
def _page_cache(session: Session, kib: int) -> Iterator[None]:
    """SQLite: a larger page cache for the connection while a statement is stored, matched and booked.

    The bookings touch the line, gift, allocation and summary tables and their indexes at random; with
    SQLite's default 2 MB cache the same pages are read again and again. PostgreSQL has its own buffers.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    if before is None or before >= 0 or -before >= kib:  # set in pages by someone, or large already: leave it
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


@cycle_collection_paused()
def match(session: Session, *, statement_id: int | None = None, line_ids: Sequence[int] | None = None,
          auto: bool = True, sources: Sequence[ExpectationSource] | None = None,
          settings: Settings | None = None) -> MatchResult:
    """Match every untouched open line: book the sure ones, keep the candidates of the rest for a person."""
    with _page_cache(session, _CACHE_KIB):
        return _match(session, statement_id=statement_id, line_ids=line_ids, auto=auto, sources=sources,
                      settings=settings)


def _match(session: Session, *, statement_id: int | None, line_ids: Sequence[int] | None, auto: bool,
           sources: Sequence[ExpectationSource] | None, settings: Settings | None) -> MatchResult:
    started = time.perf_counter()
    rows = _open_lines(session, statement_id=statement_id, line_ids=line_ids)
    result = MatchResult(lines=len(rows))
    if not rows:
        return result
    plan, params = _decide(session, rows, result, auto=auto, sources=sources, settings=settings, started=started)
    decided = time.perf_counter()
    plan.execute()
    _update_lines(session, params)
    _matched(session, result)
    result.seconds["book"] = time.perf_counter() - decided
    return result


def _decide(session: Session, rows: Sequence[Any], result: MatchResult, *, auto: bool,
            sources: Sequence[ExpectationSource] | None, settings: Settings | None, started: float) -> tuple[_AutoPlan, list[tuple[Any, ...]]]:
    """Judge open lines (rows in _LINE_COLUMNS order, by id): the bookings to write and each line's outcome,
    (open_minor, status, candidates JSON, matched_at, id); tallies them in ``result``."""
    settings = settings or get_settings()
    lines = _lines_of(rows)
    result.currency = lines[0].amount.currency
    ctx = build_context(session, lines, sources=sources, with_names=False)
    threshold, margin = settings.bank_auto_score, settings.bank_auto_margin
    candidates, judge = rules.candidates, rules.judge
    found = [candidates(line, ctx, _WITHOUT_NAMES) for line in lines]
    decisions = [judge(line, ctx, f, threshold=threshold, margin=margin) for line, f in zip(lines, found, strict=True)]
    unsure = [i for i, d in enumerate(decisions) if d.auto is None and lines[i].amount.minor > 0]
    if unsure:  # names are the weakest signal and the costliest to load: only where still needed
        donor_ids = _name_index(session, [lines[i] for i in unsure], ctx)
        _load_donors(session, donor_ids, ctx)
        # Donors found by name add nothing the other rules read (their donors were loaded up front), so
        # the first pass stands and the name rule, last in order, only adds its own candidates.
        rule_name = rules.rule_name
        for i in unsure:
            line, first = lines[i], decisions[i]
            named = rule_name(line, ctx)
            if named:  # without a name candidate the first decision stands as it was
                decisions[i] = judge(line, ctx, found[i] + named, threshold=threshold, margin=margin,
                                     campaign=(first.campaign_id, first.campaign_code))
    result.seconds["match"] = time.perf_counter() - started
    now = utcnow()
    stamp: object = now.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else now
    plan = _AutoPlan(session, now, _used_seq(session, [r[0] for r, d in zip(rows, decisions, strict=True) if d.auto]))
    params: list[tuple[Any, ...]] = []
    by_rule = result.by_rule
    for row, line, decision in zip(rows, lines, decisions, strict=True):
        cands = _candidates_json(decision.ranked)
        if auto and decision.auto is not None:
            plan.add(row[0], row[1], line, decision, ctx)
            result.auto_booked += 1
            result.auto_minor += line.amount.minor
            by_rule[decision.auto.rule] += 1
            params.append((0, _BOOKED, cands, stamp, row[0]))
        else:
            result.suspense += 1
            result.suspense_minor += line.amount.minor
            params.append((line.amount.minor, _OPEN, cands, stamp, row[0]))
    return plan, params


def _matched(session: Session, result: MatchResult) -> None:
    session.expire_all()
    audit.record(session, "bank.match", "bank_line", None, after=result.as_dict())


def _update_lines(session: Session, params: Sequence[tuple[Any, ...]]) -> None:
    """Each line's outcome: (open_minor, status, candidates JSON, matched_at, id).

    PostgreSQL gets the rows by COPY into a temporary table and one UPDATE ... FROM: a statement's hundred
    thousand single-row UPDATEs were a third of its matching time there. SQLite updates row by row in
    process, which is as quick as it gets there.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE TEMP TABLE bank_line_outcome (open_minor bigint, status varchar(10),"
                             " candidates json, matched_at timestamptz, id integer) ON COMMIT DROP")
        write_rows(conn, "bank_line_outcome", ("open_minor", "status", "candidates", "matched_at", "id"), params)
        conn.exec_driver_sql("UPDATE bank_line SET open_minor = o.open_minor, status = o.status,"
                             " candidates = o.candidates, matched_at = o.matched_at"
                             " FROM bank_line_outcome o WHERE bank_line.id = o.id")
        conn.exec_driver_sql("DROP TABLE bank_line_outcome")
        return
    mark = _placeholder(session)
    sql = (f"UPDATE bank_line SET open_minor = {mark}, status = {mark}, candidates = {mark}, matched_at = {mark}"
           f" WHERE id = {mark}")
    for part in _chunks(params, 20_000):
        conn.exec_driver_sql(sql, list(part))


def _used_seq(session: Session, line_ids: Sequence[int]) -> dict[int, int]:
    """The highest allocation seq per line (lines booked and undone before keep counting)."""
    return {line_id: int(top) for line_id, top in _rows_in(
        session, "SELECT line_id, max(seq) FROM bank_allocation WHERE line_id IN ({}) GROUP BY line_id",
        sorted(line_ids))}


_ALLOCATION_INSERT = (
    "line_id", "seq", "amount_minor", "currency", "kind", "purpose", "donor_id", "gift_id", "target_ref", "rule",
    "score", "reason", "note", "created_at", "created_by", "undone_at", "undone_by", "undo_reason",
    "reversal_gift_id",
)
_GIFT_ID = _ALLOCATION_INSERT.index("gift_id")
_GIFT = str(AllocationKind.GIFT)


class _AutoPlan:
    """Bookings decided by the rules, written in bulk: gifts first, then allocations pointing at them."""

    def __init__(self, session: Session, now: dt.datetime, used_seq: dict[int, int]) -> None:
        self.session, self.now = session, now
        self.stamp = now.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else now
        self.actor = audit.current_actor()
        self.gift_rows: list[gifts.GiftRow] = []
        self.allocations: list[list[Any]] = []  # rows in _ALLOCATION_INSERT order
        self.gift_of: list[int] = []  # per gift row, the index of its allocation
        self.returns: list[tuple[Expectation, str | None, dt.date]] = []
        self.settled: list[tuple[int | None, Expectation, dt.date]] = []  # allocation index, expectation, day
        self.accounts: list[tuple[int, str, str | None]] = []
        self.next_seq: dict[int, int] = dict(used_seq)  # lines booked and undone before keep counting

    def add(self, line_id: int, line_ref: str, line: Line, decision: rules.Decision, ctx: MatchContext) -> None:
        assert decision.auto is not None
        cand = decision.auto
        parent = cand.target.expectation
        day = _day(line)
        if parent is not None and parent.parts and line.amount.minor > 0 and booking_handlers(parent.kind):
            self.settled.append((None, parent, day))  # the whole (a run) first, then its parts
        rule, reason = cand.rule[:30], cand.reason[:300]
        seq = self.next_seq.get(line_id, 0)
        target = cand.target
        if target.kind == "donor":  # most bookings: the one gift _parts_of describes, written without a Part
            seq += 1
            self.next_seq[line_id] = seq
            amount = line.amount
            self.gift_of.append(len(self.allocations))
            self.gift_rows.append(gifts.GiftRow(
                target.donor_id, abs(amount.minor), day, PaymentChannel.BANK_TRANSFER,
                _category_for(ctx, target.donor_id), amount.currency, SOURCE, f"{line_ref}/{seq}", None,
                decision.campaign_id,
            ))
            self.allocations.append([
                line_id, seq, amount.minor, amount.currency, _GIFT, None, target.donor_id, None, None, rule,
                cand.score, reason, None, self.stamp, self.actor, None, None, None, None,
            ])
            if cand.rule != "known_iban" and line.counterparty_iban and target.donor_id:
                self.accounts.append((target.donor_id, line.counterparty_iban, line.counterparty_name))
            return
        for part in _parts_of(line, target, ctx, decision.campaign_id):
            seq += 1
            assert part.amount is not None
            kind = str(part.kind)
            if kind == AllocationKind.GIFT:
                self.gift_of.append(len(self.allocations))
                self.gift_rows.append(gifts.GiftRow(
                    part.donor_id, abs(part.amount.minor), day, part.channel,
                    part.category or _category_for(ctx, part.donor_id), part.amount.currency, SOURCE,
                    f"{line_ref}/{seq}", part.fund_id, part.campaign_id, None, part.commitment_id, part.bequest_id,
                    part.grant_id,
                ))
            if kind == AllocationKind.RETURN and part.expectation is not None:
                self.returns.append((part.expectation, line.return_reason, day))
            elif part.expectation is not None and booking_handlers(part.expectation.kind):
                self.settled.append((len(self.allocations), part.expectation, day))
            self.allocations.append([
                line_id, seq, part.amount.minor, part.amount.currency, kind, part.purpose, part.donor_id, None,
                part.target_ref, rule, cand.score, reason, None, self.stamp, self.actor, None, None, None, None,
            ])
        self.next_seq[line_id] = seq

    def execute(self) -> None:
        session = self.session
        if self.gift_rows:
            ids = gifts.book_gifts_bulk(session, self.gift_rows)
            allocations = self.allocations
            for index, gift_id in zip(self.gift_of, ids, strict=True):
                allocations[index][_GIFT_ID] = gift_id
        if self.allocations:
            _bulk_insert(session, "bank_allocation", _ALLOCATION_INSERT, [tuple(a) for a in self.allocations])
        _remember_accounts(session, self.accounts)
        for expectation, reason, day in self.returns:
            for handler in return_handlers():
                handler(session, expectation, reason, day)
        for index, expectation, day in self.settled:
            for booked in booking_handlers(expectation.kind):
                booked(session, expectation, None if index is None else self.allocations[index][_GIFT_ID], day)


def _remember_accounts(session: Session, accounts: Sequence[tuple[int, str, str | None]]) -> None:
    """A donor identified by reference or name: remember the account so next time the IBAN says who it is."""
    if not accounts:
        return
    wanted = {(d, iban): holder for d, iban, holder in accounts}
    ibans = sorted({iban for _, iban in wanted})
    have = {(d, i) for d, i in _rows_in(session, "SELECT donor_id, iban FROM donor_account WHERE iban IN ({})", ibans)}
    now = utcnow()
    rows = [{"donor_id": d, "iban": iban, "iban_last4": iban[-4:], "bic": None, "holder": (holder or "")[:140] or None,
             "source": SOURCE, "created_at": now} for (d, iban), holder in wanted.items() if (d, iban) not in have]
    if rows:
        session.connection().execute(insert(DonorAccount.__table__), rows)  # type: ignore[attr-defined]


def _day(line: Line) -> dt.date:
    return line.booked_on or line.value_on or dt.date.today()


# --------------------------------------------------------------------------------------------------
# Booking parts


@dataclass(frozen=True)
class Part:
    """One part of a line to book. Amounts are positive; the line's direction gives the sign.

    kind gift needs donor_id or new_donor (credit lines only); not_gift needs a purpose; expected and
    return settle an expectation (target_ref, expectation).
    """

    kind: AllocationKind | str
    amount: Money | None = None  # None: all that is still open
    donor_id: int | None = None
    new_donor: DonorCreate | None = None
    category: str | None = None
    channel: str = PaymentChannel.BANK_TRANSFER
    campaign_id: int | None = None
    fund_id: int | None = None
    commitment_id: int | None = None
    grant_id: int | None = None
    bequest_id: int | None = None
    purpose: str | None = None
    target_ref: str | None = None
    expectation: Expectation | None = None
    note: str | None = None


def _parts_of(line: Line, target: Target, ctx: MatchContext, campaign_id: int | None) -> list[Part]:
    """The parts a candidate books: a donor's gift, a run's collections, a return, a fee."""
    size = abs(line.amount)
    if target.kind == "donor":
        return [Part(kind=AllocationKind.GIFT, amount=_signed(size, line), donor_id=target.donor_id,
                     category=_category_for(ctx, target.donor_id), campaign_id=campaign_id)]
    if target.kind == "not_gift":
        return [Part(kind=AllocationKind.NOT_GIFT, amount=_signed(size, line), purpose=target.purpose)]
    e = target.expectation
    assert e is not None
    if line.amount.minor < 0:
        return [Part(kind=AllocationKind.RETURN, amount=_signed(size, line), donor_id=e.donor_id,
                     purpose=e.kind, target_ref=e.ref, expectation=e, commitment_id=e.commitment_id)]
    pieces = e.parts or (e,)
    out = []
    for p in pieces:
        kind = AllocationKind.GIFT if p.books_gift else AllocationKind.EXPECTED
        out.append(Part(kind=kind, amount=p.amount, donor_id=p.donor_id, category=p.category,
                        channel=p.channel, campaign_id=p.campaign_id or campaign_id, fund_id=p.fund_id,
                        commitment_id=p.commitment_id, grant_id=p.grant_id, bequest_id=p.bequest_id,
                        purpose=p.kind, target_ref=p.ref, expectation=p))
    return out


def _signed(amount: Money, line: Line) -> Money:
    return amount if line.amount.minor > 0 else -amount


def get_line(session: Session, line_id: int) -> BankLine:
    line = session.get(BankLine, line_id)
    if line is None:
        raise NotFound(f"no bank line {line_id}")
    return line


def _next_seq(session: Session, line_id: int) -> int:
    top = session.execute(select(func.max(BankAllocation.seq)).where(BankAllocation.line_id == line_id)).scalar()
    return int(top or 0) + 1


def book(session: Session, line_id: int, parts: Sequence[Part], *, rule: str = "manual", score: int | None = None,
         reason: str | None = None) -> list[BankAllocation]:
    """Book a line (or part of it; several parts split it). Gifts are written with an audit row each."""
    row = get_line(session, line_id)
    if not parts:
        raise ValidationError("nothing to book")
    line = line_from_row(row)
    credit = row.amount_minor > 0
    remaining = row.open_minor
    resolved: list[tuple[Part, int]] = []
    for i, part in enumerate(parts):
        if part.amount is None:
            size = abs(remaining)
        else:
            if part.amount.currency != row.currency:
                raise ValidationError(f"part {i + 1}: currency {part.amount.currency} on a {row.currency} line")
            if part.amount.minor <= 0:
                raise ValidationError(f"part {i + 1}: amounts are positive; the line's direction gives the sign")
            size = part.amount.minor
        signed = size if credit else -size
        if size == 0 or abs(signed) > abs(remaining):
            raise ValidationError(f"part {i + 1}: {Money(size, row.currency)} is more than the open"
                                  f" {Money(abs(remaining), row.currency)}")
        kind = AllocationKind(part.kind)
        if kind == AllocationKind.GIFT and not credit:
            raise ValidationError("a gift can only be booked from money received (a credit line)")
        if kind == AllocationKind.GIFT and part.donor_id is None and part.new_donor is None:
            raise ValidationError("a gift needs a donor (donor_id or new_donor)")
        if kind == AllocationKind.NOT_GIFT:
            NotGiftPurpose(part.purpose or "")
        remaining -= signed
        resolved.append((part, signed))
    out = []
    seq = _next_seq(session, line_id)
    actor = audit.current_actor()
    for part, signed in resolved:
        kind = AllocationKind(part.kind)
        donor_id = part.donor_id
        gift_id = None
        if part.new_donor is not None:
            from donorcrm.donors.service import create_donor

            donor_id = create_donor(session, part.new_donor).id
        if kind == AllocationKind.GIFT:
            assert donor_id is not None
            donor = session.get(Donor, donor_id)
            if donor is None:
                raise NotFound(f"no donor {donor_id}")
            category = part.category or (IncomeCategory.COMPANY if donor.kind == DonorKind.ORGANISATION
                                         else IncomeCategory.INDIVIDUAL_ONE_OFF)
            gift = gifts.record_gift(
                session, donor_id=donor_id, amount=Money(abs(signed), row.currency), received_on=_day(line),
                channel=part.channel, category=category, source=SOURCE, external_ref=f"{row.ref}/{seq}",
                fund_id=part.fund_id, campaign_id=part.campaign_id, commitment_id=part.commitment_id,
                bequest_id=part.bequest_id, grant_id=part.grant_id, note=part.note,
            )
            gift_id = gift.id
            if row.counterparty_iban and rule in ("manual", "candidate"):
                _remember_accounts(session, [(donor_id, row.counterparty_iban, row.counterparty_name)])
        if kind == AllocationKind.RETURN and part.expectation is not None:
            for handler in return_handlers():
                handler(session, part.expectation, row.return_reason, _day(line))
        elif part.expectation is not None:
            for booked in booking_handlers(part.expectation.kind):
                booked(session, part.expectation, gift_id, _day(line))
        alloc = BankAllocation(
            line_id=line_id, seq=seq, amount_minor=signed, currency=row.currency, kind=kind,
            purpose=part.purpose, donor_id=donor_id, gift_id=gift_id, target_ref=part.target_ref, rule=rule[:30],
            score=score, reason=(reason or "")[:300] or None, note=part.note, created_by=actor,
        )
        session.add(alloc)
        session.flush()
        audit.record(session, "bank.book", "bank_line", line_id, after={
            "allocation": alloc.id, "kind": str(kind), "amount": str(Money(signed, row.currency)),
            "donor_id": donor_id, "gift_id": gift_id, "purpose": part.purpose, "target": part.target_ref,
            "rule": rule,
        })
        out.append(alloc)
        seq += 1
    row.open_minor = remaining
    row.status = LineStatus.BOOKED if remaining == 0 else LineStatus.OPEN
    session.add(row)
    session.flush()
    return out


def split(session: Session, line_id: int, parts: Sequence[Part]) -> list[BankAllocation]:
    """Book a line in several parts (a couple's two gifts in one transfer, a gift plus a lottery ticket)."""
    if len(parts) < 2:
        raise ValidationError("a split needs at least two parts")
    return book(session, line_id, parts)


def book_candidate(session: Session, line_id: int, target: str, *, sources: Sequence[ExpectationSource] | None = None,
                   settings: Settings | None = None) -> list[BankAllocation]:
    """Accept one of the candidates shown for a line (by its target key, e.g. "donor:12")."""
    row = get_line(session, line_id)
    if row.open_minor != row.amount_minor:
        raise InvalidState(f"line {line_id} is already (partly) booked; undo first or book the rest by hand")
    line = line_from_row(row)
    ctx = build_context(session, [line], sources=sources)
    settings = settings or get_settings()
    decision = rules.decide(line, ctx, threshold=settings.bank_auto_score, margin=settings.bank_auto_margin)
    chosen = next((c for c in decision.ranked if c.target.key == target), None)
    if chosen is None:
        raise NotFound(f"{target} is not a candidate of line {line_id}")
    parts = _parts_of(line, chosen.target, ctx, decision.campaign_id)
    positive = [Part(**{**p.__dict__, "amount": abs(p.amount) if p.amount is not None else None}) for p in parts]
    parent = chosen.target.expectation
    if parent is not None and parent.parts and line.amount.minor > 0:
        for settled in booking_handlers(parent.kind):  # the whole (a run) before its parts
            settled(session, parent, None, _day(line))
    return book(session, line_id, positive, rule="candidate", score=chosen.score, reason=chosen.reason)


def undo(session: Session, allocation_id: int, *, reason: str, on: dt.date | None = None) -> BankAllocation:
    """Take a booking back: its gift is reversed (a correction), its amount returns to suspense."""
    alloc = session.get(BankAllocation, allocation_id)
    if alloc is None:
        raise NotFound(f"no bank allocation {allocation_id}")
    if alloc.undone_at is not None:
        raise InvalidState(f"allocation {allocation_id} was undone already")
    if not reason.strip():
        raise ValidationError("say why the booking is undone")
    if alloc.gift_id is not None:
        gift = session.get(Gift, alloc.gift_id)
        assert gift is not None
        reversal = gifts.reverse_gift(session, alloc.gift_id, entry_type=EntryType.CORRECTION,
                                      on=on or dt.date.today(), reason=reason[:200], source=SOURCE,
                                      external_ref=f"{gift.external_ref}/undo")
        alloc.reversal_gift_id = reversal.id
    alloc.undone_at = utcnow()
    alloc.undone_by = audit.current_actor()
    alloc.undo_reason = reason[:200]
    line = get_line(session, alloc.line_id)
    line.open_minor += alloc.amount_minor
    line.status = LineStatus.OPEN
    session.add_all([alloc, line])
    session.flush()
    audit.record(session, "bank.undo", "bank_line", line.id, before={
        "allocation": alloc.id, "kind": alloc.kind, "amount": str(Money(alloc.amount_minor, alloc.currency)),
        "gift_id": alloc.gift_id,
    }, after={"reversal_gift_id": alloc.reversal_gift_id, "reason": reason})
    return alloc


def undo_line(session: Session, line_id: int, *, reason: str) -> list[BankAllocation]:
    """Undo every active booking of a line, back to full suspense."""
    active = session.execute(
        select(BankAllocation).where(BankAllocation.line_id == line_id, BankAllocation.undone_at.is_(None))  # type: ignore[union-attr]
        .order_by(BankAllocation.seq)
    ).scalars().all()
    if not active:
        raise InvalidState(f"line {line_id} has nothing booked")
    return [undo(session, a.id, reason=reason) for a in active if a.id is not None]


def active_allocations(session: Session, line_id: int) -> list[BankAllocation]:
    return list(session.execute(
        select(BankAllocation).where(BankAllocation.line_id == line_id, BankAllocation.undone_at.is_(None))  # type: ignore[union-attr]
        .order_by(BankAllocation.seq)
    ).scalars())


def candidates_of(row: BankLine) -> list[Candidate]:  # for callers that want objects back from the stored JSON
    out = []
    for c in row.candidates or []:
        target = Target(kind=str(c.get("kind")), donor_id=c.get("donor_id"), purpose=c.get("purpose"))  # type: ignore[arg-type]
        out.append(Candidate(rule=str(c["rule"]), score=int(c["score"]), reason=str(c["reason"]), target=target))
    return out
