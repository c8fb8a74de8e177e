"""Fast bulk loading for generated data: raw executemany on SQLite, COPY on PostgreSQL.

The demo assigns primary keys itself (so rows can reference each other without reading ids back), then
moves PostgreSQL's sequences past them. Values are plain Python scalars; dates and timestamps are passed as
ISO text, which both engines read for DATE and TIMESTAMP columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.engine import Connection

CHUNK = 50_000


class BulkWriter:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def timestamp(self, day: dt.date, seconds: int = 43_200) -> str:
        """A UTC timestamp on a day, in the text form the engine's DateTime type stores and reads."""
        return _pg_ts(day, seconds) if self.postgres else _sqlite_ts(day, seconds)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
        """Insert rows (tuples in column order) in chunks; returns the number written."""
        cols = ", ".join(columns)
        n = 0
        if self.postgres:
            raw = self.conn.connection.dbapi_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})"
            cur = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                batch: list[Sequence[object]] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) >= CHUNK:
                        cur.executemany(sql, batch)
                        n += len(batch)
                        batch = []
                if batch:
                    cur.executemany(sql, batch)
                    n += len(batch)
            finally:
                cur.close()
        self.counts[table] = self.counts.get(table, 0) + n
        return n

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
