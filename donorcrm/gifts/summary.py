"""Ledger summaries kept current by the gift services, so reports never scan millions of gift rows.

- `donor_year`: per donor, year and currency the donor's non-reversed gifts (amount, count, first date
  and the campaign of that first gift). A reversal takes its gift out of the year the gift was received
  in: a refunded donor did not give.
- `income_month`: net and gross ledger per month, income category, fund, campaign and currency
  (reversals count in the month they were booked, as in the books). Fund and campaign 0 mean "none".
- `income_day`: net ledger per day and currency, for year-to-date figures.
- `growth_year`: the additive yearly counters of `donorcrm.reports.metrics.contributions`, adjusted by
  the difference each change makes to a donor's history.

Writers hold one transaction-level advisory lock on PostgreSQL (see `_lock_summaries`); SQLite
serialises writers anyway. `rebuild` recomputes everything from
the ledger in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import BigInteger, Index, Integer, String, case, delete, exists, func, select, text
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel

from donorcrm.donors.service import merge_hooks
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.reports.metrics import History, YearTotal, tally

LOCK_CLASS = 5001  # pg_advisory_xact_lock(LOCK_CLASS, 0): the ledger summaries' writer lock
# Matching funds are booked as the funder's gifts to a campaign; they recruit nobody.
MATCHING_FUNDS_SOURCE = "match_pool"


class DonorYear(SQLModel, table=True):
    __tablename__ = "donor_year"
    # Lapsed-donor lists walk one year's donors biggest first and stop after a page.
    __table_args__ = (Index("ix_donor_year_amount", "year", "currency", "amount_minor"),)

    # No foreign key to donor: merges fold these rows themselves (see merge_totals).
    donor_id: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    year: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True, sa_type=String(3))
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    gifts: int = Field(nullable=False)
    first_on: dt.date = Field(nullable=False)
    first_campaign_id: int | None = Field(default=None, sa_type=Integer)  # no foreign key, as donor_id


class IncomeMonth(SQLModel, table=True):
    __tablename__ = "income_month"

    year: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    month: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    category: str = Field(primary_key=True, sa_type=String(30))
    fund_id: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    campaign_id: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True, sa_type=String(3))
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    gifts: int = Field(nullable=False)  # gift rows booked
    reversals: int = Field(nullable=False)  # reversal rows booked
    gross_minor: int = Field(default=0, sa_type=BigInteger, nullable=False)  # the gift rows' amounts alone


class IncomeDay(SQLModel, table=True):
    """Net ledger per day and currency: year-to-date figures to the day without touching the ledger."""

    __tablename__ = "income_day"

    day: dt.date = Field(primary_key=True)
    currency: str = Field(primary_key=True, sa_type=String(3))
    amount_minor: int = Field(sa_type=BigInteger, nullable=False)
    gifts: int = Field(nullable=False)
    reversals: int = Field(nullable=False)


class GrowthYear(SQLModel, table=True):
    __tablename__ = "growth_year"

    year: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True, sa_type=String(3))
    metric: str = Field(primary_key=True, sa_type=String(30))
    part: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    value: int = Field(sa_type=BigInteger, nullable=False)


@dataclass(frozen=True, slots=True)
class LedgerChange:
    """One gift or reversal row as the summaries see it."""

    donor_id: int | None
    amount_minor: int  # negative for a reversal
    received_on: dt.date  # booking date (income_month)
    category: str
    currency: str
    fund_id: int | None = None
    campaign_id: int | None = None
    # For a reversal: the date of the gift it undoes (donor_year uses the gift's year).
    reverses_on: dt.date | None = None
    source: str = ""

    @property
    def acquiring_campaign_id(self) -> int | None:
        """The campaign this row credits with the donor if it is their first gift."""
        return None if self.source == MATCHING_FUNDS_SOURCE else self.campaign_id


def _upsert(session: Session, table: object, rows: list[dict[str, object]], keys: Sequence[str],
            add: Sequence[str] = (), replace: Sequence[str] = ()) -> None:
    """INSERT ... ON CONFLICT DO UPDATE on both engines, in one executemany.

    Straight to the driver (the same SQL SQLAlchemy renders for SQLite and PostgreSQL, values through the
    columns' bind processors): a bulk booking upserts a row per donor, and per-row parameter handling in
    SQLAlchemy cost more than the statement.
    """
    if not rows:
        return
    conn = session.connection()
    columns = list(rows[0])
    name = table.name  # type: ignore[attr-defined]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = [f"{c} = ({name}.{c} + excluded.{c})" for c in add] + [f"{c} = excluded.{c}" for c in replace]
    sql = (f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
           f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}")
    processors = [(i, proc) for i, c in enumerate(columns)
                  if (proc := table.c[c].type.bind_processor(conn.dialect)) is not None]  # type: ignore[attr-defined]
    values_of = itemgetter(*columns)
    params = [values_of(r) for r in rows]
    if processors:
        converted = []
        for values in params:
            row = list(values)
            for i, proc in processors:
                if row[i] is not None:
                    row[i] = proc(row[i])
            converted.append(tuple(row))
        params = converted
    conn.exec_driver_sql(sql, params)


def _lock_summaries(session: Session) -> None:
    """Serialise summary writers on PostgreSQL for the rest of the transaction.

    The yearly counters are a handful of hot rows that every gift updates anyway, so one
    transaction-level lock costs no real concurrency; it keeps each writer's read of a donor's history
    current (READ COMMITTED reads after the lock see every earlier commit) and rules out deadlocks
    between writers touching rows in different orders. Per-donor locks would exhaust PostgreSQL's lock
    table on a bulk load. SQLite serialises writers by itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": LOCK_CLASS})


Histories = dict[tuple[int, str], dict[int, YearTotal]]


def _load(session: Session, donor_ids: Iterable[int]) -> Histories:
    out: Histories = defaultdict(dict)
    ids = sorted(set(donor_ids))
    t = DonorYear.__table__  # type: ignore[attr-defined]
    for i in range(0, len(ids), 5000):
        rows = session.connection().execute(
            select(t.c.donor_id, t.c.currency, t.c.year, t.c.amount_minor, t.c.gifts, t.c.first_on,
                   t.c.first_campaign_id)
            .where(t.c.donor_id.in_(ids[i : i + 5000]))
        )
        for d, cur, y, amount, gifts, first_on, campaign in rows:
            out[(d, cur)][y] = YearTotal(int(amount), int(gifts), first_on, campaign)
    return out


def _acquiring_campaign(gift=Gift):  # type: ignore[no-untyped-def]
    """LedgerChange.acquiring_campaign_id in SQL, for the gift table or an alias of it."""
    return case((gift.source == MATCHING_FUNDS_SOURCE, None), else_=gift.campaign_id)


def _first_gift(session: Session, donor_id: int, year: int, currency: str) -> tuple[dt.date, int | None] | None:
    """Date and acquiring campaign of a donor's first unreversed gift in a year (earliest booked first)."""
    rev = aliased(Gift)
    row = session.execute(
        select(Gift.received_on, _acquiring_campaign()).where(
            Gift.donor_id == donor_id, Gift.currency == currency, Gift.entry_type == EntryType.GIFT,
            Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1),
            ~exists().where(rev.reverses_gift_id == Gift.id),
        ).order_by(Gift.received_on, Gift.id).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _write(session: Session, before: Histories, after: Histories) -> None:
    """Make donor_year hold `after` for these donors and add the growth difference to growth_year."""
    t = DonorYear.__table__  # type: ignore[attr-defined]
    upserts: list[dict[str, object]] = []
    gone: list[tuple[int, str, int]] = []
    growth: dict[str, dict[tuple[int, str, int], int]] = {}  # currency -> counter -> sum of the differences
    for key in sorted(set(before) | set(after)):
        old: Mapping[int, YearTotal] = before.get(key, {})
        new: Mapping[int, YearTotal] = after.get(key, {})
        donor_id, currency = key
        for y in sorted(set(old) | set(new)):
            if y not in new or new[y].gifts <= 0:
                if y in old:
                    gone.append((donor_id, currency, y))
            elif old.get(y) != new[y]:
                upserts.append({"donor_id": donor_id, "year": y, "currency": currency,
                                "amount_minor": new[y].amount_minor, "gifts": new[y].gifts,
                                "first_on": new[y].first_on, "first_campaign_id": new[y].first_campaign_id})
        kept: History = {y: v for y, v in new.items() if v.gifts > 0}
        if kept != old:  # the growth difference of this donor: new contributions minus the old ones
            counts = growth.setdefault(currency, {})
            tally(kept, counts)
            tally(old, counts, -1)
    for donor_id, currency, y in gone:
        session.connection().execute(
            delete(t).where(t.c.donor_id == donor_id, t.c.currency == currency, t.c.year == y))
    _upsert(session, t, upserts, ("donor_id", "year", "currency"),
            replace=("amount_minor", "gifts", "first_on", "first_campaign_id"))
    _upsert(session, GrowthYear.__table__, [  # type: ignore[attr-defined]
        {"year": y, "currency": c, "metric": m, "part": p, "value": v}
        for (y, c, m, p), v in sorted(((y, c, m, p), v) for c, counts in growth.items()
                                      for (y, m, p), v in counts.items()) if v
    ], ("year", "currency", "metric", "part"), add=("value",))


def apply(session: Session, changes: Iterable[LedgerChange]) -> None:
    """Bring every summary up to date with these newly booked ledger rows (set-based per call)."""
    changes = list(changes)
    if not changes:
        return
    _lock_summaries(session)
    months: dict[tuple[int, int, str, int, int, str], list[int]] = {}  # amount, gifts, reversals, gross
    days: dict[tuple[dt.date, str], list[int]] = {}  # amount, gifts, reversals
    for ch in changes:
        on, amount = ch.received_on, ch.amount_minor
        key = (on.year, on.month, ch.category, ch.fund_id or 0, ch.campaign_id or 0, ch.currency)
        month = months.get(key)
        if month is None:
            month = months[key] = [0, 0, 0, 0]
        day = days.get((on, ch.currency))
        if day is None:
            day = days[(on, ch.currency)] = [0, 0, 0]
        month[0] += amount
        day[0] += amount
        if amount > 0:
            month[1] += 1
            month[3] += amount
            day[1] += 1
        else:
            month[2] += 1
            day[2] += 1
    _upsert(session, IncomeMonth.__table__, [  # type: ignore[attr-defined]
        {"year": y, "month": m, "category": cat, "fund_id": fund, "campaign_id": camp, "currency": cur,
         "amount_minor": v[0], "gifts": v[1], "reversals": v[2], "gross_minor": v[3]}
        for (y, m, cat, fund, camp, cur), v in sorted(months.items())
    ], ("year", "month", "category", "fund_id", "campaign_id", "currency"),
        add=("amount_minor", "gifts", "reversals", "gross_minor"))
    _upsert(session, IncomeDay.__table__, [  # type: ignore[attr-defined]
        {"day": on, "currency": cur, "amount_minor": v[0], "gifts": v[1], "reversals": v[2]}
        for (on, cur), v in sorted(days.items())
    ], ("day", "currency"), add=("amount_minor", "gifts", "reversals"))

    _apply_donors(session, [ch for ch in changes if ch.donor_id is not None])


def _apply_donors(session: Session, donor_changes: list[LedgerChange],
                  recheck_first: Iterable[tuple[int, str, int]] = ()) -> None:
    recheck = set(recheck_first)
    if not donor_changes and not recheck:
        return
    donor_ids = {ch.donor_id for ch in donor_changes if ch.donor_id is not None} | {d for d, _, _ in recheck}
    before = _load(session, donor_ids)
    after: Histories = {k: dict(v) for k, v in before.items()}
    recheck = {k for k in recheck if k[2] in after.get((k[0], k[1]), {})}
    for ch in donor_changes:
        assert ch.donor_id is not None
        on = ch.reverses_on or ch.received_on
        hist = after.setdefault((ch.donor_id, ch.currency), {})
        was = hist.get(on.year)
        if ch.amount_minor > 0:
            # Rows arrive in booking order, so on an equal date the earlier-booked first gift stays first.
            if was is None or was.first_on is None or on < was.first_on:
                first, campaign = on, ch.acquiring_campaign_id
            else:
                first, campaign = was.first_on, was.first_campaign_id
            hist[on.year] = YearTotal((was.amount_minor if was else 0) + ch.amount_minor,
                                      (was.gifts if was else 0) + 1, first, campaign)
        else:
            if was is None:  # a reversal of a gift the summary never saw: nothing to take out
                continue
            hist[on.year] = YearTotal(was.amount_minor + ch.amount_minor, was.gifts - 1, was.first_on,
                                      was.first_campaign_id)
            if was.first_on == on:
                recheck.add((ch.donor_id, ch.currency, on.year))
    session.flush()
    _recheck_first_gifts(session, after, recheck)
    _write(session, before, after)


def _recheck_first_gifts(session: Session, histories: Histories, keys: Iterable[tuple[int, str, int]]) -> None:
    for donor_id, currency, year in keys:
        t = histories[(donor_id, currency)][year]
        if t.gifts > 0:
            first = _first_gift(session, donor_id, year, currency)
            if first is not None:
                histories[(donor_id, currency)][year] = YearTotal(t.amount_minor, t.gifts, *first)


def relink(session: Session, gift: Gift, *, donor_id_before: int | None, fund_id_before: int | None,
           campaign_id_before: int | None) -> None:
    """Move a booked, unreversed gift's totals after its donor, fund or campaign link changed (a gift
    matched to a grant, an anonymous gift traced to its donor). Call after flushing the new links."""
    if (donor_id_before, fund_id_before, campaign_id_before) == (gift.donor_id, gift.fund_id, gift.campaign_id):
        return
    _lock_summaries(session)
    y, m, a = gift.received_on.year, gift.received_on.month, gift.amount_minor
    base = {"year": y, "month": m, "category": gift.category, "currency": gift.currency, "reversals": 0}
    _upsert(session, IncomeMonth.__table__, [  # type: ignore[attr-defined]
        {**base, "fund_id": fund_id_before or 0, "campaign_id": campaign_id_before or 0, "amount_minor": -a,
         "gifts": -1, "gross_minor": -a},
        {**base, "fund_id": gift.fund_id or 0, "campaign_id": gift.campaign_id or 0, "amount_minor": a, "gifts": 1,
         "gross_minor": a},
    ], ("year", "month", "category", "fund_id", "campaign_id", "currency"),
        add=("amount_minor", "gifts", "reversals", "gross_minor"))
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    session.connection().execute(delete(im).where(
        im.c.year == y, im.c.month == m, im.c.category == gift.category, im.c.currency == gift.currency,
        im.c.fund_id == (fund_id_before or 0), im.c.campaign_id == (campaign_id_before or 0),
        im.c.gifts == 0, im.c.reversals == 0))
    moves = []
    if donor_id_before != gift.donor_id:
        moves = [LedgerChange(donor_id_before, -a, gift.received_on, gift.category, gift.currency,
                              reverses_on=gift.received_on, source=gift.source),
                 LedgerChange(gift.donor_id, a, gift.received_on, gift.category, gift.currency,
                              campaign_id=gift.campaign_id, source=gift.source)]
    # The gift may be its donor's first of the year, whose campaign the acquisition figures use.
    recheck = [(gift.donor_id, gift.currency, y)] if gift.donor_id is not None else []
    _apply_donors(session, [ch for ch in moves if ch.donor_id is not None], recheck)


def change_of(gift: Gift, reverses_on: dt.date | None = None) -> LedgerChange:
    return LedgerChange(donor_id=gift.donor_id, amount_minor=gift.amount_minor, received_on=gift.received_on,
                        category=gift.category, currency=gift.currency, fund_id=gift.fund_id,
                        campaign_id=gift.campaign_id, reverses_on=reverses_on, source=gift.source)


def merge_totals(session: Session, survivor_id: int, duplicate_id: int) -> None:
    """A merge hook: the duplicate's yearly totals become the survivor's."""
    _lock_summaries(session)
    before = _load(session, (survivor_id, duplicate_id))
    after: Histories = {}
    ties: list[tuple[int, str, int]] = []
    for (_donor_id, currency), hist in before.items():
        target = after.setdefault((survivor_id, currency), {})
        for y, t in hist.items():
            cur = target.get(y)
            if cur is None:
                target[y] = t
            else:
                first = min((x for x in (cur, t) if x.first_on is not None), key=lambda x: x.first_on,  # type: ignore[arg-type,return-value]
                            default=cur)
                target[y] = YearTotal(cur.amount_minor + t.amount_minor, cur.gifts + t.gifts, first.first_on,
                                      first.first_campaign_id)
                if cur.first_on == t.first_on:
                    ties.append((survivor_id, currency, y))  # which came first is in the ledger
        after.setdefault((duplicate_id, currency), {})
    _recheck_first_gifts(session, after, ties)
    _write(session, before, after)


merge_hooks.append(merge_totals)


# --- Summaries of a bulk load, aggregated in memory while the rows are generated --------------------------

DONOR_YEAR_COLUMNS = ("donor_id", "year", "currency", "amount_minor", "gifts", "first_on", "first_campaign_id")
INCOME_MONTH_COLUMNS = ("year", "month", "category", "fund_id", "campaign_id", "currency", "amount_minor", "gifts",
                        "reversals", "gross_minor")
INCOME_DAY_COLUMNS = ("day", "currency", "amount_minor", "gifts", "reversals")
GROWTH_YEAR_COLUMNS = ("year", "currency", "metric", "part", "value")
# (booked on, category, fund id, campaign id, currency, is a gift rather than a reversal) -> (net cents, rows)
FlowKey = tuple[dt.date, str, int | None, int | None, str, bool]


def income_rows(flows: Mapping[FlowKey, tuple[int, int]]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """income_month and income_day rows (column order as above) for ledger rows that a bulk load summed up
    itself; the same figures `rebuild` would compute from those rows."""
    months: dict[tuple[object, ...], list[int]] = {}
    days: dict[tuple[object, ...], list[int]] = {}
    for (on, category, fund, campaign, currency, is_gift), (amount, n) in flows.items():
        for totals, key in ((months, (on.year, on.month, category, fund or 0, campaign or 0, currency)),
                            (days, (on, currency))):
            row = totals.get(key)
            if row is None:
                row = totals[key] = [0, 0, 0, 0] if totals is months else [0, 0, 0]
            row[0] += amount
            row[1 if is_gift else 2] += n
            if is_gift and totals is months:
                row[3] += amount  # gross: the gift rows alone
    return ([(*k, *v) for k, v in sorted(months.items())],  # type: ignore[arg-type]
            [(*k, *v) for k, v in sorted(days.items())])  # type: ignore[arg-type]


def growth_rows(counters: Mapping[tuple[int, str, int], int], currency: str) -> list[tuple[object, ...]]:
    """growth_year rows from `metrics.GrowthTally.counters()` of one currency."""
    return [(y, currency, metric, part, v) for (y, metric, part), v in sorted(counters.items()) if v]


# --- Recomputing from the ledger (migrations, repairs, and the tests' reference) -------------------

def year_of(column: object) -> object:
    return func.cast(func.extract("year", column), Integer)


def month_of(column: object) -> object:
    return func.cast(func.extract("month", column), Integer)


def donor_year_select():  # type: ignore[no-untyped-def]
    """SELECT of donor_year's rows computed from the gift table."""
    rev = aliased(Gift)
    y = year_of(Gift.received_on)
    totals = (
        select(Gift.donor_id, y.label("year"), Gift.currency, func.sum(Gift.amount_minor).label("amount_minor"),
               func.count().label("gifts"), func.min(Gift.received_on).label("first_on"))
        .where(Gift.donor_id.is_not(None), Gift.entry_type == EntryType.GIFT,  # type: ignore[union-attr]
               ~exists().where(rev.reverses_gift_id == Gift.id))
        .group_by(Gift.donor_id, y, Gift.currency)
    ).subquery("totals")
    first = aliased(Gift)
    rev2 = aliased(Gift)
    first_campaign = (
        select(_acquiring_campaign(first))
        .where(first.donor_id == totals.c.donor_id, first.received_on == totals.c.first_on,
               first.currency == totals.c.currency, first.entry_type == EntryType.GIFT,
               ~exists().where(rev2.reverses_gift_id == first.id))
        .order_by(first.id).limit(1).scalar_subquery()
    )
    return select(totals.c.donor_id, totals.c.year, totals.c.currency, totals.c.amount_minor, totals.c.gifts,
                  totals.c.first_on, first_campaign.label("first_campaign_id"))


def income_month_select():  # type: ignore[no-untyped-def]
    y, m = year_of(Gift.received_on), month_of(Gift.received_on)
    fund, camp = func.coalesce(Gift.fund_id, 0), func.coalesce(Gift.campaign_id, 0)
    is_gift = Gift.entry_type == EntryType.GIFT
    return (
        select(y.label("year"), m.label("month"), Gift.category, fund.label("fund_id"), camp.label("campaign_id"),
               Gift.currency, func.sum(Gift.amount_minor).label("amount_minor"),
               func.sum(case((is_gift, 1), else_=0)).label("gifts"),
               func.sum(case((is_gift, 0), else_=1)).label("reversals"),
               func.sum(case((is_gift, Gift.amount_minor), else_=0)).label("gross_minor"))
        .group_by(y, m, Gift.category, fund, camp, Gift.currency)
    )


def is_current(session: Session) -> bool:
    """Whether the summaries saw every ledger row: false after rows were loaded around the services
    (a raw bulk load such as the demo builder's COPY, a restore of only the gift table)."""
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    ledger_rows = session.execute(select(func.count()).select_from(Gift)).scalar_one()
    summarised = session.execute(select(func.coalesce(func.sum(im.c.gifts + im.c.reversals), 0))).scalar_one()
    return int(ledger_rows) == int(summarised)


def ensure_current(session: Session) -> bool:
    """Rebuild when the summaries missed ledger rows; returns whether it rebuilt."""
    if is_current(session):
        return False
    rebuild(session)
    return True


def income_day_select():  # type: ignore[no-untyped-def]
    is_gift = Gift.entry_type == EntryType.GIFT
    return (
        select(Gift.received_on.label("day"), Gift.currency, func.sum(Gift.amount_minor).label("amount_minor"),
               func.sum(case((is_gift, 1), else_=0)).label("gifts"),
               func.sum(case((is_gift, 0), else_=1)).label("reversals"))
        .group_by(Gift.received_on, Gift.currency)
    )


def rebuild(session: Session) -> None:
    """Recompute every summary from the ledger, set-based, in the caller's transaction."""
    from donorcrm.reports.growth import growth_counters_sql

    conn = session.connection()
    dy, im, gy = (DonorYear.__table__, IncomeMonth.__table__, GrowthYear.__table__)  # type: ignore[attr-defined]
    idy = IncomeDay.__table__  # type: ignore[attr-defined]
    for table in (dy, im, idy, gy):
        conn.execute(delete(table))
    conn.execute(idy.insert().from_select(["day", "currency", "amount_minor", "gifts", "reversals"],
                                          income_day_select()))
    conn.execute(dy.insert().from_select(
        ["donor_id", "year", "currency", "amount_minor", "gifts", "first_on", "first_campaign_id"],
        donor_year_select()))
    conn.execute(im.insert().from_select(
        ["year", "month", "category", "fund_id", "campaign_id", "currency", "amount_minor", "gifts", "reversals",
         "gross_minor"], income_month_select()))
    rows = [{"year": y, "currency": c, "metric": m, "part": p, "value": v}
            for (y, c, m, p), v in growth_counters_sql(session).items() if v]
    if rows:
        conn.execute(gy.insert(), rows)

