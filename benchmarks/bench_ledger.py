"""Ledger bulk recording and demo build times.

1. Records N gifts (default 1,000,000) through donorcrm.gifts.service.record_gifts_bulk and compares with a
   raw executemany of the same rows into the same migrated schema, in the same run (sqlite3; and psycopg
   executemany plus COPY on PostgreSQL when DONORCRM_BENCH_POSTGRES_URL is set). Goal: within 3x of raw.
2. Builds the demo organisation at its default size and at 1,000,000 donors (skipped with --quick); the
   baseline there is the time raw executemany would need for the demo's gift rows alone.

Usage: python benchmarks/bench_ledger.py [--quick] [--rows N] [--repeats R] [--no-demo]
Ends with one `RESULT <name> seconds=<s> baseline=<b> ratio=<r>` line per figure (medians of the repeats).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from donorcrm import migrate
from donorcrm.db import make_engine, session_scope
from donorcrm.gifts.service import GiftRow, record_gifts_bulk

COLUMNS = ("donor_id", "entry_type", "amount_minor", "currency", "received_on", "channel", "category", "fund_id",
           "campaign_id", "source_code", "commitment_id", "source", "external_ref", "created_at", "created_by")
DONORS = 1_000
CHANNELS = ("sepa_dd", "ideal", "bank_transfer", "card")
CATEGORIES = ("individual_recurring", "individual_one_off", "individual_one_off", "individual_recurring")


def make_rows(n: int, seed: int = 1) -> list[GiftRow]:
    rng = random.Random(seed)
    start = dt.date(2020, 1, 1).toordinal()
    days = [dt.date.fromordinal(start + i) for i in range(366)]
    return [
        GiftRow(donor_id=1 + int(rng.random() * DONORS), amount_minor=500 + int(rng.random() * 5000),
                received_on=days[int(rng.random() * 366)], channel=CHANNELS[i % 4], category=CATEGORIES[i % 4],
                source="bench", external_ref=f"bench-{i:08d}")
        for i in range(n)
    ]


def raw_tuples(rows: list[GiftRow], created_at: str) -> list[tuple[object, ...]]:
    return [(r.donor_id, "gift", r.amount_minor, r.currency, r.received_on.isoformat(), r.channel, r.category,
             r.fund_id, r.campaign_id, r.source_code, r.commitment_id, r.source, r.external_ref, created_at,
             "bench") for r in rows]


def sqlite_template(folder: Path) -> Path:
    path = folder / "template.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO donor (id, kind, language, country, status, created_at, updated_at)"
                    " VALUES (?, 'person', 'nl', 'NL', 'active', '2020-01-01 00:00:00.000000',"
                    " '2020-01-01 00:00:00.000000')", [(i,) for i in range(1, DONORS + 1)])
    con.commit()
    con.close()
    return path


def fresh_copy(template: Path, folder: Path) -> Path:
    target = folder / f"run-{uuid.uuid4().hex[:8]}.sqlite"
    shutil.copy(template, target)
    return target


def time_service(url: str, rows: list[GiftRow]) -> float:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with session_scope(engine) as session:
            written = record_gifts_bulk(session, rows)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    assert written == len(rows), written
    return elapsed


def time_raw_sqlite(path: Path, tuples: list[tuple[object, ...]]) -> float:
    con = sqlite3.connect(path)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO gift ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    started = time.perf_counter()
    con.executemany(sql, tuples)
    con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def bench_sqlite(rows: list[GiftRow], repeats: int, folder: Path) -> tuple[float, float]:
    template = sqlite_template(folder)
    tuples = raw_tuples(rows, "2026-01-01 00:00:00.000000")
    service, raw = [], []
    for i in range(repeats):
        path = fresh_copy(template, folder)
        raw.append(time_raw_sqlite(path, tuples))
        path.unlink()
        path = fresh_copy(template, folder)
        service.append(time_service(f"sqlite:///{path}", rows))
        path.unlink()
        print(f"  sqlite run {i + 1}: service {service[-1]:.2f} s, raw executemany {raw[-1]:.2f} s", flush=True)
    return statistics.median(service), statistics.median(raw)


def _pg_database(admin_url: str) -> str:
    name = f"dcrm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO donor (id, kind, language, country, status, created_at, updated_at)"
                          " SELECT g, 'person', 'nl', 'NL', 'active', now(), now() FROM generate_series(1, :n) g"),
                     {"n": DONORS})
    engine.dispose()
    return url


def _pg_drop(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def bench_postgres(admin_url: str, rows: list[GiftRow], repeats: int) -> tuple[float, float, float]:
    import psycopg

    tuples = raw_tuples(rows, "2026-01-01 00:00:00+00")
    sql = f"INSERT INTO gift ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    service, raw, copy_times = [], [], []
    for i in range(repeats):
        for kind in ("executemany", "copy", "service"):
            url = _pg_database(admin_url)
            try:
                if kind == "service":
                    service.append(time_service(url, rows))
                    continue
                dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
                with psycopg.connect(dsn) as con:
                    started = time.perf_counter()
                    with con.cursor() as cur:
                        if kind == "executemany":
                            cur.executemany(sql, tuples)
                        else:
                            with cur.copy(f"COPY gift ({', '.join(COLUMNS)}) FROM STDIN") as cp:
                                for t in tuples:
                                    cp.write_row(t)
                    con.commit()
                    (raw if kind == "executemany" else copy_times).append(time.perf_counter() - started)
            finally:
                _pg_drop(admin_url, url)
        print(f"  postgres run {i + 1}: service {service[-1]:.2f} s, executemany {raw[-1]:.2f} s,"
              f" COPY {copy_times[-1]:.2f} s", flush=True)
    return statistics.median(service), statistics.median(raw), statistics.median(copy_times)


def bench_demo(donors: int | None, folder: Path) -> tuple[float, int]:
    from donorcrm.demo import build_demo

    path = folder / f"demo-{donors or 'default'}.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        build_demo(engine, donors=donors, seed=2020, progress=True)
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            gifts = int(conn.execute(text("SELECT COUNT(*) FROM gift")).scalar_one())
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return elapsed, gifts


def result(name: str, seconds: float, baseline: float) -> str:
    return f"RESULT {name} seconds={seconds:.3f} baseline={baseline:.3f} ratio={seconds / baseline:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats; no 1,000,000-donor demo")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-demo", action="store_true", help="only the ledger figures")
    args = parser.parse_args()
    n = args.rows or (200_000 if args.quick else 1_000_000)
    repeats = args.repeats or (1 if args.quick else 3)
    results: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        folder = Path(tmp)
        rows = make_rows(n)
        print(f"Recording {n:,} gifts, {repeats} repeat(s)")
        service, raw = bench_sqlite(rows, repeats, folder)
        print(f"SQLite: record_gifts_bulk {n / service:,.0f} rows/s; raw executemany {n / raw:,.0f} rows/s;"
              f" ratio {service / raw:.2f}")
        results.append(result("ledger_bulk_sqlite", service, raw))
        raw_rate = n / raw
        pg = os.environ.get("DONORCRM_BENCH_POSTGRES_URL")
        if pg:
            admin = make_url(pg)
            if admin.drivername == "postgresql":
                admin = admin.set(drivername="postgresql+psycopg")
            admin_url = admin.render_as_string(hide_password=False)
            service_pg, raw_pg, copy_pg = bench_postgres(admin_url, rows, repeats)
            print(f"PostgreSQL: record_gifts_bulk {n / service_pg:,.0f} rows/s; executemany {n / raw_pg:,.0f}"
                  f" rows/s; COPY {n / copy_pg:,.0f} rows/s")
            results.append(result("ledger_bulk_postgres", service_pg, raw_pg))
            results.append(result("ledger_bulk_postgres_vs_copy", service_pg, copy_pg))
        del rows
        sizes: list[int | None] = [] if args.no_demo else [None] if args.quick else [None, 1_000_000]
        for size in sizes:
            label = "default" if size is None else f"{size:,}"
            print(f"Building the demo organisation ({label} donors)")
            seconds, gifts = bench_demo(size, folder)
            print(f"Demo ({label} donors): {seconds:.1f} s, {gifts:,} gift rows, {gifts / seconds:,.0f} rows/s")
            results.append(result("demo_default" if size is None else "demo_1m_donors", seconds, gifts / raw_rate))
    print("\n".join(results))


if __name__ == "__main__":
    main()
