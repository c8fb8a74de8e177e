"""Benchmark: issuing annual receipts end to end against bare reportlab drawing the same pages.

    python benchmarks/bench_receipts.py [--quick] [--donors N] [--postgres URL]

1. Seeds N demo donors (default 100,000; --quick 2,000) with a year of gifts in a fresh SQLite
   database: mostly Dutch (monthly direct debits, some under a periodic-gift agreement), some German,
   British and American donors.
2. Times the whole issuance: run creation, rules, gapless numbering, storing receipts and lines,
   drawing every PDF and storing it with its hash.
3. Baseline, same run: the canvas operations of a sample of those very pages are recorded, then replayed
   on a bare reportlab Canvas (median of three repeats), scaled to N pages.

   Why this baseline is fair: the replay is a program that already knows every string and position, so
   it is the least any reportlab-based issuer must spend on these pages; the ratio is what the CRM adds
   on top (ledger reads, rules, numbering, storing, layout, hashing). Each replayed page is checked to
   give the very bytes the product stored, so the baseline draws the same output by the same canvas
   calls: whatever reportlab-level reuse the product used would be replayed too, never credited to the
   product alone. A form XObject (canvas.beginForm/doForm) does not pay here: each receipt is its own
   PDF (stored, hashed, e-mailed alone) and a form lives inside one document, so a static template
   cannot be drawn once for many receipts; reuse across receipts lives above the canvas instead
   (wrapped legal texts and parsed figures are kept between pages).
4. Projects both to 1,000,000 donors (linear: every step is per donor, indexes keep lookups flat).
5. With PostgreSQL (--postgres or DONORCRM_BENCH_POSTGRES_URL): the same run with 1 and with 2 worker
   processes sharing it via SELECT ... FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataclasses import replace  # noqa: E402

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from donorcrm import migrate  # noqa: E402
from donorcrm.commitments.models import Commitment, PeriodicAgreement  # noqa: E402
from donorcrm.config import Settings  # noqa: E402
from donorcrm.db import make_engine, session_scope, utcnow  # noqa: E402
from donorcrm.donors.models import Donor  # noqa: E402
from donorcrm.gifts.models import Gift  # noqa: E402
from donorcrm.receipts import batch, pdf, service  # noqa: E402
from donorcrm.receipts.models import Receipt  # noqa: E402

YEAR = 2025
SETTINGS = replace(Settings(), org_hmrc_ref="XR12345", org_ein="12-3456789", org_de_finanzamt="Berlin",
                   org_de_steuernummer="27/640/12345", org_de_notice_date="2024-03-01",
                   org_de_assessment_period="2022")
MIX = ["NL"] * 17 + ["DE", "GB", "US"]
STREETS = ["Dorpsstraat", "Kerkweg", "Molenlaan", "Hauptstraße", "High Street", "Main Street"]
CURRENCY = {"NL": "EUR", "DE": "EUR", "GB": "GBP", "US": "USD"}


def seed(engine: Engine, n: int, rng: random.Random) -> None:
    """Donors, commitments, agreements and gifts through bulk inserts (the ledger's own bulk path would do the same)."""
    now = utcnow()
    chunk = 5_000
    with session_scope(engine) as s:
        for start in range(0, n, chunk):
            donors, gifts, commitments, agreements = [], [], [], []
            for i in range(start, min(n, start + chunk)):
                c = MIX[i % len(MIX)]
                donors.append({"id": i + 1, "kind": "person", "first_name": f"Voornaam{i}", "last_name": f"Achternaam{i}",
                               "language": "nl" if c == "NL" and i % 7 else "en" if c != "DE" else "de",
                               "street": rng.choice(STREETS), "house_number": str(1 + i % 200),
                               "postcode": "NW1 6XE" if c == "GB" else f"{1000 + i % 8999} AB", "city": "Plaats",
                               "country": c, "status": "active", "created_at": now, "updated_at": now,
                               "email": f"donor{i}@example.org"})
                cur = CURRENCY[c]
                monthly = c == "NL" and i % 5 < 3  # 60% monthly direct debit
                commitment_id = None
                if monthly:
                    commitment_id = i + 1
                    commitments.append({"id": commitment_id, "donor_id": i + 1, "amount_minor": 1500,
                                        "currency": "EUR", "frequency": "monthly", "collection_day": 1,
                                        "starts_on": dt.date(2020, 1, 1), "route": "sepa", "status": "active",
                                        "consecutive_failures": 0, "created_at": now, "updated_at": now})
                    if i % 10 == 0:
                        agreements.append({"commitment_id": commitment_id, "transaction_number": f"PG-{i:07d}",
                                           "yearly_amount_minor": 18000, "currency": "EUR", "first_year": 2023,
                                           "term_years": 5, "signed_on": dt.date(2023, 1, 1), "ends_on_death": True,
                                           "end_conditions": "death,job_loss,disability,anbi_loss",
                                           "created_at": now})
                    for m in range(1, 13):
                        gifts.append(_gift(i, 1500, dt.date(YEAR, m, 1), "sepa_dd", cur, commitment_id,
                                           f"sepa-{i}-{m}", now))
                else:
                    for k in range(1 + i % 3):
                        gifts.append(_gift(i, rng.randrange(1000, 30000), dt.date(YEAR, 1 + (i + 4 * k) % 12, 10),
                                           "bank_transfer", cur, None, f"bank-{i}-{k}", now))
            s.execute(insert(Donor), donors)
            if commitments:
                s.execute(insert(Commitment), commitments)
            if agreements:
                s.execute(insert(PeriodicAgreement), agreements)
            s.execute(insert(Gift), gifts)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("donor", "commitment", "gift"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))


def _gift(i: int, minor: int, on: dt.date, channel: str, cur: str, commitment_id: int | None, ref: str,
          now: dt.datetime) -> dict:
    return {"donor_id": i + 1, "entry_type": "gift", "amount_minor": minor, "currency": cur, "received_on": on,
            "channel": channel, "category": "individual_recurring" if commitment_id else "individual_one_off",
            "commitment_id": commitment_id, "source": "bench", "external_ref": ref, "created_at": now,
            "created_by": "bench"}


def issue_all(engine: Engine, workers: int = 1) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (SQLite runs in-process, so CPU covers the database too)."""
    t0, c0 = time.perf_counter(), time.process_time()
    with session_scope(engine) as s:
        run_id = batch.open_run(s, YEAR, settings=SETTINGS).id
    assert run_id is not None
    if workers == 1:
        batch.work(engine, run_id, settings=SETTINGS, chunk=200)
    else:
        batch.work_in_processes(engine, run_id, workers, settings=SETTINGS, chunk=200)
    return time.perf_counter() - t0, time.process_time() - c0


class RecordingCanvas(Canvas):
    """Remembers every drawing call so the same page can be replayed on a bare Canvas."""

    ops: list[tuple[str, tuple, dict]]

    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        super().__init__(*args, **kwargs)
        self.ops = []
        RecordingCanvas.last = self

    def _rec(name: str):  # noqa: ANN202, N805
        def method(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            self.ops.append((name, args, kwargs))
            return getattr(Canvas, name)(self, *args, **kwargs)
        return method

    for _name in ("setFont", "drawString", "drawRightString", "drawCentredString", "line", "setLineWidth",
                  "showPage", "setTitle", "setAuthor", "saveState", "restoreState", "translate", "rotate",
                  "setFillGray", "drawImage"):
        locals()[_name] = _rec(_name)
    del _name


def record_pages(engine: Engine, sample: int) -> list[list[tuple[str, tuple, dict]]]:
    """The canvas calls of the first `sample` stored receipts; checks that replaying them on a bare Canvas
    gives the very document the product stored (same bytes), so the baseline draws exactly the same pages."""
    with Session(engine) as s:
        receipts = list(s.execute(select(Receipt).order_by(Receipt.id).limit(sample)).scalars())
        lines = service.lines_by_receipt(s, [r.id for r in receipts])
    pages = []
    real = pdf.Canvas
    pdf.Canvas = RecordingCanvas  # type: ignore[misc]
    try:
        for r in receipts:
            pdf.render_receipt(pdf.view_of(r, lines[r.id]))
            pages.append(RecordingCanvas.last.ops)
    finally:
        pdf.Canvas = real  # type: ignore[misc]
    for r, ops in zip(receipts, pages, strict=True):
        if hashlib.sha256(replay(ops)).hexdigest() != r.pdf_sha256:
            raise SystemExit(f"replaying receipt {r.number} on a bare Canvas does not give its stored document: "
                             "a canvas call is not recorded, the baseline would draw less than the product")
    return pages


def replay(ops: list[tuple[str, tuple, dict]]) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
    for name, args, kwargs in ops:
        getattr(c, name)(*args, **kwargs)
    c.save()
    return buf.getvalue()


def bare_reportlab(pages: list[list[tuple[str, tuple, dict]]]) -> tuple[float, float]:
    """Wall and CPU seconds to draw the recorded pages on a bare Canvas."""
    t0, c0 = time.perf_counter(), time.process_time()
    for ops in pages:
        replay(ops)
    return time.perf_counter() - t0, time.process_time() - c0


def sample_pages(n: int, sample: int, tmp: str) -> list[list[tuple[str, tuple, dict]]]:
    """Canvas operations of the first `sample` receipts of an identical database (same seed, same pages)."""
    engine = fresh(f"sqlite:///{tmp}/sample.sqlite", sample)
    try:
        issue_all(engine)
        return record_pages(engine, sample)
    finally:
        engine.dispose()


def pg_database(admin_url: str) -> tuple[str, callable]:
    name = f"dcrm_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def fresh(url: str, n: int) -> Engine:
    migrate.upgrade(url)
    engine = make_engine(url)
    seed(engine, n, random.Random(7))
    return engine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--donors", type=int)
    ap.add_argument("--sample", type=int, help="pages replayed for the baseline")
    ap.add_argument("--scaling-donors", type=int, help="donors for the 1-vs-2-worker comparison")
    ap.add_argument("--postgres", default=os.environ.get("DONORCRM_BENCH_POSTGRES_URL", ""))
    a = ap.parse_args()
    n = a.donors or (2_000 if a.quick else 100_000)
    sample = min(n, a.sample or (500 if a.quick else 5_000))
    results: list[str] = []

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        t0 = time.perf_counter()
        engine = fresh(url, n)
        print(f"seeded {n} donors in {time.perf_counter() - t0:.1f}s")
        # The baseline pages are recorded from a throw-away issue of a sample, then timed around the real run
        # (once before, twice after) so that a busy machine weighs on both sides alike.
        pages = sample_pages(n, sample, tmp)
        bare = [bare_reportlab(pages)]
        seconds, cpu = issue_all(engine)
        bare += [bare_reportlab(pages), bare_reportlab(pages)]
        with Session(engine) as s:
            issued = len(s.execute(select(Receipt.id)).all())
        per_page = statistics.median(b[0] for b in bare) / len(pages)
        cpu_per_page = statistics.median(b[1] for b in bare) / len(pages)
        baseline, cpu_baseline = per_page * issued, cpu_per_page * issued
        print(f"issued {issued} receipts in {seconds:.1f}s wall, {cpu:.1f}s CPU "
              f"({seconds / issued * 1000:.2f} ms wall, {cpu / issued * 1000:.2f} ms CPU per receipt)")
        print(f"bare reportlab: {per_page * 1000:.2f} ms wall, {cpu_per_page * 1000:.2f} ms CPU per page "
              f"(median of 3 over {len(pages)} of the same pages)")
        results.append(f"RESULT receipts_issue_{n} seconds={seconds:.2f} baseline={baseline:.2f} "
                       f"ratio={seconds / baseline:.3f}")
        results.append(f"RESULT receipts_issue_{n}_cpu seconds={cpu:.2f} baseline={cpu_baseline:.2f} "
                       f"ratio={cpu / cpu_baseline:.3f}")
        factor = 1_000_000 / n
        results.append(f"RESULT receipts_issue_1m_projected seconds={seconds * factor:.1f} "
                       f"baseline={baseline * factor:.1f} ratio={seconds / baseline:.3f}")
        engine.dispose()

    if a.postgres:
        m = a.scaling_donors or (1_000 if a.quick else 20_000)
        timings = {}
        for workers in (1, 2):
            db_url, drop = pg_database(a.postgres)
            try:
                engine = fresh(db_url, m)
                timings[workers] = issue_all(engine, workers)[0]
                engine.dispose()
            finally:
                drop()
            print(f"postgres, {m} donors, {workers} worker(s): {timings[workers]:.1f}s")
        results.append(f"RESULT receipts_2_workers_{m} seconds={timings[2]:.2f} baseline={timings[1]:.2f} "
                       f"ratio={timings[2] / timings[1]:.3f}")
    else:
        print("no PostgreSQL given (--postgres or DONORCRM_BENCH_POSTGRES_URL): worker scaling skipped")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
