"""Plain row tuples into a table in one pass: COPY on PostgreSQL, the driver's executemany on SQLite.

For bulk writers (demo build, bank lines and allocations, gift batches) whose values are already in the form
the driver takes: no per-row Core machinery, which at a hundred thousand rows costs more than the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

CHUNK = 50_000  # rows per executemany on SQLite, and per progress report on both


def write_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
               progress: Callable[[int], None] | None = None) -> int:
    """Insert rows (tuples in column order) on the connection's transaction; returns the number written."""
    cols = ", ".join(columns)
    raw = conn.connection.dbapi_connection
    n = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                n += 1
                if progress is not None and n % CHUNK == 0:
                    progress(CHUNK)
        if progress is not None and n % CHUNK:
            progress(n % CHUNK)
        return n
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join([mark] * len(columns))})"
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        batch: list[Sequence[object]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                cur.executemany(sql, batch)
                n += len(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
            if progress is not None:
                progress(len(batch))
    finally:
        cur.close()
    return n


def next_ids(conn: Connection, table: str, n: int) -> list[int]:
    """Ids for n new rows of ``table``, in the order the engine would have given them, so that rows written
    by write_rows with these ids need not be read back.

    SQLite gives a new row the largest id plus one (tables here are not AUTOINCREMENT), so the same ids
    follow; a concurrent writer cannot slip in between, as SQLite fails a write from a stale snapshot. Call
    it inside the write transaction (after the first write). PostgreSQL hands them out from the column's
    sequence, exactly as the default would.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "sqlite":
        top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + n))
    found = conn.exec_driver_sql(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (n,)).scalars()
    return sorted(int(i) for i in found)
