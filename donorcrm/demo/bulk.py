"""Fast bulk loading for generated data: raw executemany on SQLite, COPY on PostgreSQL.

The demo assigns primary keys itself (so rows can reference each other without reading ids back), then
moves PostgreSQL's sequences past them. Values are plain Python scalars; dates and timestamps are passed as
ISO text, which both engines read for DATE and TIMESTAMP columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.engine import Connection

from donorcrm.rowcopy import write_rows


class BulkWriter:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def timestamp(self, day: dt.date, seconds: int = 43_200) -> str:
        """A UTC timestamp on a day, in the text form the engine's DateTime type stores and reads."""
        return _pg_ts(day, seconds) if self.postgres else _sqlite_ts(day, seconds)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
               progress: Callable[[int], None] | None = None) -> int:
        """Insert rows (tuples in column order) in chunks; returns the number written."""
        n = write_rows(self.conn, table, columns, rows, progress)
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    @contextmanager
    def deferred_indexes(self, table: str) -> Iterator[None]:
        """Drop the table's plain (non-unique) indexes for a bulk load and build them again afterwards.

        Building an index once over sorted data is several times faster than updating it row by row. Use it
        inside one transaction: both engines roll DDL back with the data, so a failed load leaves the
        indexes as they were.
        """
        if self.postgres:
            found = self.conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexdef NOT LIKE 'CREATE UNIQUE%'"
            ), {"t": table}).all()
        else:
            found = self.conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
                " AND sql NOT LIKE 'CREATE UNIQUE%'"
            ), {"t": table}).all()
        for name, _ in found:
            self.conn.execute(text(f'DROP INDEX "{name}"'))
        yield
        for _, ddl in found:
            self.conn.execute(text(ddl))
        if not self.postgres:
            # Planner statistics from a sample of each index: a full ANALYZE reads every index of the table.
            limit = self.conn.exec_driver_sql("PRAGMA analysis_limit").scalar_one()
            self.conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            self.conn.execute(text(f"ANALYZE {table}"))
            self.conn.exec_driver_sql(f"PRAGMA analysis_limit={int(limit)}")

    def max_id(self, table: str) -> int:
        return int(self.conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one())

    def fix_sequences(self, tables: Iterable[str]) -> None:
        """After inserting explicit ids, let PostgreSQL's serial sequences continue after the highest one."""
        if not self.postgres:
            return
        for table in tables:
            self.conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1,"
                " false)"
            ))


@lru_cache(maxsize=8192)
def _sqlite_ts(day: dt.date, seconds: int) -> str:
    return f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000000"


@lru_cache(maxsize=8192)
def _pg_ts(day: dt.date, seconds: int) -> str:
    return f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+00"


@lru_cache(maxsize=4096)
def iso(day: dt.date) -> str:
    return day.isoformat()
