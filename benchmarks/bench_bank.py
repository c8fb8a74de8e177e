"""Bank reconciliation at scale: import and match a 100,000-line camt.053 of the demo organisation.

Compares import + match as `donorcrm bank import` runs it (parse, match, store every line with its outcome,
book the sure ones, keep candidates for the rest, commit) with a bare lxml parse of the same file, measured in
the same run. Goal: within 3x, under 10 s.
Per-phase medians (parse, store, match, book, commit) say where the time goes. Two floors bound what any
implementation could reach: a streaming walk that touches every element of every entry and keeps nothing (the
least an lxml + Python reader does before it converts a value), and a write of exactly the rows the run added
(statement, lines, gifts, allocations, accounts) straight through the driver into a fresh copy of the same
database, committed (the least any code storing that outcome does, before it parses or decides anything).

    python benchmarks/bench_bank.py [--quick] [--lines N] [--repeats N] [--postgres URL]

With --postgres (a server URL such as postgresql+psycopg://postgres@127.0.0.1:5432/postgres) the runs
happen on PostgreSQL: the organisation is seeded once into a template database and each run gets a
fresh copy of it (both are dropped at the end).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from donorcrm import migrate  # noqa: E402
from donorcrm.banking import demo_statement as demo  # noqa: E402
from donorcrm.banking import service  # noqa: E402
from donorcrm.banking.camt_writer import iter_camt053  # noqa: E402
from donorcrm.banking.sources import StaticSource  # noqa: E402
from donorcrm.db import make_engine, session_scope  # noqa: E402
from donorcrm.rowcopy import write_rows  # noqa: E402


def walk_floor(path: Path) -> float:
    """The least any lxml + Python reader does: stream the entries and touch each element's tag and text once.

    No values are kept, nothing is converted or checked; it bounds from below what a reader in Python can reach.
    """
    t = time.perf_counter()
    for _, entry in etree.iterparse(str(path), events=("end",), tag="{*}Ntry"):
        for el in entry.iter():
            el.tag, el.text  # noqa: B018
        entry.clear(keep_tail=False)
        parent = entry.getparent()
        if parent is not None:
            parent.remove(entry)
    return time.perf_counter() - t


_WRITTEN = ("bank_statement", "bank_line", "gift", "bank_allocation", "donor_account")  # in foreign-key order


def added_rows(engine: Engine, before: dict[str, int]) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """The rows a run added to each table (ids above the seeded maximum), as the driver returns them."""
    out = {}
    with engine.connect() as conn:
        for table in _WRITTEN:
            result = conn.exec_driver_sql(f"SELECT * FROM {table} WHERE id > {before[table]} ORDER BY id")
            out[table] = (list(result.keys()), [tuple(_plain(v) for v in r) for r in result.all()])
    return out


def _plain(value: object) -> object:
    """JSON columns come back from psycopg as Python objects; COPY takes their text."""
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def top_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {t}").scalar_one()) for t in _WRITTEN}


def write_floor(engine: Engine, rows: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> float:
    """Insert the given rows through the driver (COPY on PostgreSQL) and commit: no parsing, no deciding."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # the page cache the import gives itself
            conn.exec_driver_sql(f"PRAGMA cache_size = {-service._CACHE_KIB}")
        conn.exec_driver_sql("SELECT 1")  # connected and set up before the clock starts
        conn.rollback()
        t = time.perf_counter()
        for table in _WRITTEN:
            columns, values = rows[table]
            write_rows(conn, table, columns, values)
        conn.commit()
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 lines, for a smoke run")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--donors", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    lines = args.lines or (10_000 if args.quick else 100_000)
    donors = args.donors or (10_000 if args.quick else 76_000)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        seeded = work / "seeded.sqlite"
        url = f"sqlite:///{seeded}"
        server = admin = None
        if args.postgres:
            server = make_url(args.postgres)
            admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for db in ("bench_bank_seed", "bench_bank_run"):
                    conn.execute(text(f"DROP DATABASE IF EXISTS {db}"))
                conn.execute(text("CREATE DATABASE bench_bank_seed"))
            url = server.set(database="bench_bank_seed").render_as_string(hide_password=False)
        t0 = time.perf_counter()
        migrate.upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as s:
            world = demo.seed_world(s, donors=donors, seed=11)
            if server is not None:
                s.execute(text("ANALYZE"))
        engine.dispose()
        statement = demo.demo_statement(world, lines=lines, seed=11)
        camt = work / "statement.xml"
        with camt.open("w", encoding="utf-8") as fh:
            for piece in iter_camt053([statement.statement]):
                fh.write(piece)
        source = StaticSource("demo", statement.expectations)

        def fresh(db: Path) -> Engine:
            """A copy of the seeded database for one run."""
            if server is not None and admin is not None:
                with admin.connect() as conn:
                    conn.execute(text("DROP DATABASE IF EXISTS bench_bank_run"))
                    conn.execute(text("CREATE DATABASE bench_bank_run TEMPLATE bench_bank_seed"))
                return make_engine(server.set(database="bench_bank_run").render_as_string(hide_password=False))
            shutil.copy(seeded, db)
            return make_engine(f"sqlite:///{db}")
        print(f"setup: {donors} donors, {lines} lines, {camt.stat().st_size / 1e6:.1f} MB in"
              f" {time.perf_counter() - t0:.1f} s")

        seed_engine = make_engine(url)
        seeded_top = top_ids(seed_engine)
        seed_engine.dispose()
        baseline, measured, floor, writes = [], [], [], []
        phases: dict[str, list[float]] = {}
        evaluation = None
        for i in range(args.repeats):
            t = time.perf_counter()
            tree = etree.parse(str(camt))
            baseline.append(time.perf_counter() - t)
            del tree
            floor.append(walk_floor(camt))

            db = work / f"run{i}.sqlite"
            engine = fresh(db)
            t = time.perf_counter()
            with session_scope(engine) as s:
                imported = service.import_file(s, camt, match=True, sources=[source])
                t_import = time.perf_counter() - t
            total = time.perf_counter() - t
            measured.append(total)
            (result,) = imported.matched
            split = dict(imported.seconds)
            split["commit"] = total - t_import
            for phase, secs in split.items():
                phases.setdefault(phase, []).append(secs)
            with session_scope(engine) as s:
                evaluation = demo.evaluate(s, imported.statement_ids[0], statement)
            added = added_rows(engine, seeded_top)
            engine.dispose()
            db.unlink(missing_ok=True)
            engine = fresh(db)
            writes.append(write_floor(engine, added))
            engine.dispose()
            db.unlink(missing_ok=True)
            del added
            print(f"run {i + 1}: bare parse {baseline[-1]:.2f} s, import + match {measured[-1]:.2f} s")
            print("       " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
            print(f"       {result.auto_booked} booked automatically, {result.suspense} to suspense")

        assert evaluation is not None
        print(f"match rate {evaluation.match_rate:.1%}, precision of automatic bookings {evaluation.precision:.2%}"
              f" ({evaluation.wrong} wrong of {evaluation.auto})")
        b, m = statistics.median(baseline), statistics.median(measured)
        print("median per phase: " + ", ".join(f"{k} {statistics.median(v):.2f} s ({statistics.median(v) / b:.1f}x)"
                                               for k, v in phases.items()))
        f = statistics.median(floor)
        w = statistics.median(writes)
        print(f"bare parse (median) {b:.3f} s; streaming walk touching every element of every entry (the least a"
              f" Python reader does) {f:.3f} s = {f / b:.1f}x")
        print(f"writing the rows the run added, straight through the driver, and committing {w:.3f} s = {w / b:.1f}x;"
              f" walk + write {f + w:.3f} s = {(f + w) / b:.1f}x before any value is converted or any line decided")
        name = "bank_import_match_quick" if args.quick else "bank_import_match_100k"
        if server is not None and admin is not None:
            name = "postgresql_" + name
            with admin.connect() as conn:
                for db_name in ("bench_bank_run", "bench_bank_seed"):
                    conn.execute(text(f"DROP DATABASE IF EXISTS {db_name}"))
            admin.dispose()
        print(f"RESULT {name}_walk_floor seconds={f:.3f} baseline={b:.3f} ratio={f / b:.2f}")
        print(f"RESULT {name}_write_floor seconds={w:.3f} baseline={b:.3f} ratio={w / b:.2f}")
        print(f"RESULT {name} seconds={m:.3f} baseline={b:.3f} ratio={m / b:.2f}")


if __name__ == "__main__":
    main()
