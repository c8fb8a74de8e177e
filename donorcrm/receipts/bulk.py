"""Many rows in one driver call: plain tuples to the DBAPI's executemany, no per-row Core machinery.

A January run writes a receipt, its lines, its document and its run item per donor; building a
parameter dict per row and passing it through Core costs more than the database does. Every value
still goes through its column's own bind processor, so what is stored is exactly what Core stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any] | None


@lru_cache(maxsize=64)
def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...], where: tuple[str, ...],
          null: tuple[str, ...] = ()) -> tuple[str, tuple[Processor, ...]]:
    """SQL text with positional placeholders and the bind processor of each placeholder, cached."""
    if dialect.paramstyle == "qmark":
        mark = "?"
    elif dialect.paramstyle in ("format", "pyformat"):
        mark = "%s"
    else:  # pragma: no cover - the supported drivers are sqlite3 and psycopg
        raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
    q = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    if where:
        sets = ", ".join(f"{q(c)} = {mark}" for c in columns)
        cond = " AND ".join([f"{q(c)} = {mark}" for c in where] + [f"{q(c)} IS NULL" for c in null])
        sql = f"UPDATE {name} SET {sets} WHERE {cond}"
    else:
        cols = ", ".join(q(c) for c in columns)
        marks = ", ".join(mark for _ in columns)
        sql = f"INSERT INTO {name} ({cols}) VALUES ({marks})"
    # The dialect's own processor per column (JSON serialised, dates as SQLite stores them, ...).
    procs = tuple(table.c[c].type._cached_bind_processor(dialect) for c in (*columns, *where))
    return sql, procs


def _convert(procs: tuple[Processor, ...], rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Column by column (map over a transposed batch runs in C), back to row tuples."""
    if not any(procs):
        return list(rows)
    columns = list(zip(*rows, strict=True))
    for i, p in enumerate(procs):
        if p is not None:
            columns[i] = tuple(map(p, columns[i]))
    return list(zip(*columns, strict=True))


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT `rows` (tuples in the order of `columns`) with one executemany."""
    if rows:
        sql, procs = _plan(conn.dialect, table, tuple(columns), ())
        conn.exec_driver_sql(sql, _convert(procs, rows))


def update_rows(conn: Connection, table: Table, columns: Sequence[str], where: Sequence[str],
                rows: Sequence[tuple[Any, ...]], *, still_null: Sequence[str] = ()) -> None:
    """UPDATE ... SET columns WHERE the where-columns match (and the still_null columns are NULL),
    one row per tuple: set values first, then keys."""
    if rows:
        sql, procs = _plan(conn.dialect, table, tuple(columns), tuple(where), tuple(still_null))
        conn.exec_driver_sql(sql, _convert(procs, rows))
