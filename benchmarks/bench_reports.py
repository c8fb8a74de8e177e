"""How fast the admin's report functions are on a large ledger, against a hand-written SQL aggregate
of the same figure over the raw gift table, measured in the same run.

    python benchmarks/bench_reports.py [--quick] [--url URL] [--donors N] [--generator demo|plain]
                                       [--repeats N] [--baseline-repeats N]

Without --url it builds a throw-away SQLite database; pass a URL to measure there (the database is
built only when it has no gifts yet, so one build serves many runs). `--generator demo` (default) builds
the demo organisation at N donors; `--generator plain` writes a simpler ledger of about ten gifts per
donor through the same bulk services, which is quicker to build when only the reports are of interest. Prints one RESULT line per report:
seconds = median report time, baseline = median time of the plain aggregate, ratio = seconds/baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from donorcrm import migrate  # noqa: E402
from donorcrm.commitments.models import Commitment  # noqa: E402
from donorcrm.db import make_engine  # noqa: E402
from donorcrm.donors.models import Donor, DonorAccount  # noqa: E402
from donorcrm.gifts import summary  # noqa: E402
from donorcrm.gifts.models import Gift  # noqa: E402
from donorcrm.gifts.service import GiftRow  # noqa: E402
from donorcrm.reports import donors, growth, income, overview, recurring  # noqa: E402

CATEGORIES = ["individual_one_off"] * 6 + ["individual_recurring"] * 10 + [
    "individual_bequest", "individual_crowdfunding", "company", "lottery", "government", "other_nonprofit"]
FIRST_YEAR, LAST_YEAR = 2017, 2026


def generate(session: Session, n_donors: int, seed: int = 5) -> None:
    """About ten gifts per donor over ten years: monthly givers for a stretch, one-off givers now and then."""
    rnd = random.Random(seed)
    conn = session.connection()
    batch = []
    now = dt.datetime.now(dt.UTC)
    for i in range(1, n_donors + 1):
        batch.append({"kind": "person", "first_name": "Donor", "last_name": f"Name{i:07d}", "language": "nl",
                      "country": "NL", "postcode": f"{1000 + i % 9000} AB", "email": f"d{i}@example.org",
                      "status": "active", "created_at": now, "updated_at": now})
        if len(batch) == 50_000:
            conn.execute(insert(Donor), batch)
            batch = []
    if batch:
        conn.execute(insert(Donor), batch)
    ids = list(session.execute(select(Donor.id).order_by(Donor.id)).scalars())
    conn.execute(insert(DonorAccount), [
        {"donor_id": d, "iban": f"NL00BANK{d:010d}", "iban_last4": f"{d % 10000:04d}", "source": "import",
         "created_at": now} for d in ids[: len(ids) // 2]])
    commitments = []
    written = 0

    def rows():  # type: ignore[no-untyped-def]
        for d in ids:
            start = rnd.randint(FIRST_YEAR, LAST_YEAR)
            if rnd.random() < 0.25:  # monthly giver for a few years
                years = rnd.randint(1, 4)
                amount = rnd.choice([500, 800, 1000, 1500, 2500])
                commitments.append({"donor_id": d, "amount_minor": amount, "currency": "EUR", "frequency": "monthly",
                                    "collection_day": 1, "starts_on": dt.date(start, 1, 1), "route": "sepa",
                                    "status": "active" if start + years > LAST_YEAR else "ended",
                                    "consecutive_failures": 0, "created_at": now, "updated_at": now})
                for y in range(start, min(LAST_YEAR, start + years - 1) + 1):
                    for mo in range(1, 13 if y < LAST_YEAR else 11):
                        yield GiftRow(d, amount, dt.date(y, mo, 1), "sepa_dd", "individual_recurring",
                                      source="gen", external_ref=None)
            else:
                for _ in range(rnd.choice([1, 1, 2, 3, 4])):
                    y = min(LAST_YEAR, start + rnd.randint(0, 4))
                    yield GiftRow(d, rnd.randint(500, 25_000), dt.date(y, rnd.randint(1, 10), rnd.randint(1, 28)),
                                  rnd.choice(["ideal", "bank_transfer", "card"]), rnd.choice(CATEGORIES),
                                  fund_id=None, source="gen", external_ref=None)

    # The ledger goes in through a plain multi-row insert and the summaries are then built by the
    # product's own set-based rebuild: this database is a fixture for the reports, not what is timed.
    gift = Gift.__table__  # type: ignore[attr-defined]
    columns = ("donor_id", "entry_type", "amount_minor", "currency", "received_on", "channel", "category", "source",
               "created_at", "created_by")
    pg = conn.dialect.name == "postgresql"

    def flush(batch: list[tuple[object, ...]]) -> None:
        if pg:  # COPY: a plain executemany of ten million rows takes most of an hour there
            with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(f"COPY gift ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
        else:
            conn.execute(insert(gift), [dict(zip(columns, row, strict=True)) for row in batch])

    batch: list[tuple[object, ...]] = []
    for r in rows():
        batch.append((r.donor_id, "gift", r.amount_minor, "EUR", r.received_on, r.channel, r.category, r.source,
                      now, "bench"))
        if len(batch) == 100_000:
            flush(batch)
            written += len(batch)
            batch = []
            if written % 1_000_000 == 0:
                print(f"  {written:,} gifts", flush=True)
    if batch:
        flush(batch)
    summary.rebuild(session)
    for i in range(0, len(commitments), 50_000):
        conn.execute(insert(Commitment), commitments[i : i + 50_000])


def build(url: str, n_donors: int, generator: str = "demo") -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        if s.execute(select(func.count()).select_from(Gift)).scalar_one():
            print("database has a ledger already; reusing it")
            return
    t0 = time.perf_counter()
    if generator == "demo":
        from donorcrm.demo import build_demo

        build_demo(engine, donors=n_donors, seed=1, progress=False)
        how = "donorcrm.demo"
    else:
        with Session(engine) as s:
            generate(s, n_donors)
            s.commit()
        how = "own generator"
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"built {n_donors:,} donors with {how} in {time.perf_counter() - t0:.0f} s")
    engine.dispose()


def other_pages(s: Session, year: int, today: dt.date) -> list[tuple[str, Callable[[], object], str]]:
    """The report functions behind the other admin pages (campaigns, legacies, grants, receipts,
    reconciliation, recurring), each against a plain aggregate over the table it summarises."""
    from donorcrm.banking import reports as banking
    from donorcrm.bequests import reports as bequests
    from donorcrm.campaigns import reports as campaigns
    from donorcrm.grants import reports as grants
    from donorcrm.receipts import reports as receipts
    from donorcrm.reports import operations
    from donorcrm.sepa import mandates

    y0, y1 = f"'{year}-01-01'", f"'{year + 1}-01-01'"
    return [
        ("campaigns_all_years", lambda: campaigns.campaign_results(s),
         "SELECT campaign_id, SUM(amount_minor), COUNT(*) FROM gift WHERE campaign_id IS NOT NULL GROUP BY campaign_id"),
        ("campaigns_year", lambda: (campaigns.campaign_results(s, year), campaigns.fundraising_cost_ratio(s, year)),
         f"SELECT campaign_id, SUM(amount_minor), COUNT(*) FROM gift WHERE received_on >= {y0}"
         f" AND received_on < {y1} GROUP BY campaign_id"),
        ("bequests_page", lambda: (bequests.pipeline_by_stage(s), bequests.forecast_rows(s, today),
                                   bequests.recognised_vs_received(s, year)),
         "SELECT bequest_id, SUM(amount_minor) FROM gift WHERE bequest_id IS NOT NULL GROUP BY bequest_id"),
        ("grants_page", lambda: (grants.grant_rows(s), grants.grants_by_stage(s), grants.funder_rows(s),
                                 grants.restricted_fund_rows(s)),
         "SELECT grant_id, SUM(amount_minor) FROM gift WHERE grant_id IS NOT NULL GROUP BY grant_id"),
        ("receipts_page", lambda: (receipts.runs(s), receipts.year_summary(s, year - 1),
                                   receipts.correction_queue(s, year - 1)),
         f"SELECT jurisdiction, COUNT(*), SUM(total_minor) FROM receipt WHERE year = {year - 1} GROUP BY jurisdiction"),
        ("recurring_page", lambda: (operations.recent_runs(s), mandates.expiring(s, today),
                                    operations.returns_by_reason(s, today - dt.timedelta(days=90))),
         "SELECT status, COUNT(*) FROM sepa_mandate GROUP BY status"),
        ("reconciliation_page", lambda: (banking.statements(s), banking.summary(s), banking.suspense(s)),
         "SELECT status, COUNT(*), SUM(amount_minor) FROM bank_line GROUP BY status"),
        ("jobs_page", lambda: operations.job_runs(s), "SELECT outcome, COUNT(*) FROM job_run GROUP BY outcome"),
    ]


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20,000 donors instead of 1,000,000")
    ap.add_argument("--donors", type=int)
    ap.add_argument("--url")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generator", choices=["demo", "plain"], default="demo")
    ap.add_argument("--baseline-repeats", type=int, default=None,
                    help="repeats of each plain aggregate (default: --repeats); over tens of millions of gifts"
                         " one warm run plus one timed run can be enough")
    args = ap.parse_args()
    n = args.donors or (20_000 if args.quick else 1_000_000)
    tmp = None
    url = args.url
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{tmp.name}/bench.db"
    build(url, n, args.generator)
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    year = LAST_YEAR
    y_expr = "CAST(EXTRACT(YEAR FROM received_on) AS INTEGER)" if pg else "CAST(strftime('%Y', received_on) AS INTEGER)"
    today = dt.date(LAST_YEAR, 10, 15)
    with Session(engine) as s:
        last_year = max(growth.years_with_data(s) or [year])
        if last_year < year:
            year = last_year
            today = dt.date(year, 10, 15)
        some_donor = s.execute(select(Donor.id).order_by(Donor.id.desc()).limit(1)).scalar_one()
        cases: list[tuple[str, Callable[[], object], str]] = [
            ("overview", lambda: overview.overview(s, today),
             f"SELECT SUM(amount_minor) FROM gift WHERE received_on >= '{today.year}-01-01' AND received_on <= '{today}'"),
            ("growth_table", lambda: growth.growth_table(s),
             f"SELECT {y_expr}, COUNT(DISTINCT donor_id), SUM(amount_minor) FROM gift GROUP BY 1"),
            ("cohorts", lambda: growth.cohorts(s), "SELECT donor_id, MIN(received_on) FROM gift GROUP BY donor_id"),
            ("lybunt_page", lambda: growth.lapsed_donors(s, year, kind="lybunt", limit=100),
             f"SELECT COUNT(DISTINCT donor_id) FROM gift WHERE received_on >= '{year - 1}-01-01'"
             f" AND received_on < '{year}-01-01'"),
            ("sybunt_page", lambda: growth.lapsed_donors(s, year, kind="sybunt", limit=100),
             f"SELECT COUNT(DISTINCT donor_id) FROM gift WHERE received_on < '{year - 1}-01-01'"),
            ("income_by_category", lambda: income.by_category(s),
             f"SELECT {y_expr}, category, SUM(amount_minor) FROM gift GROUP BY 1, 2"),
            ("income_by_fund_campaign", lambda: (income.by_fund(s), income.by_campaign(s)),
             f"SELECT {y_expr}, fund_id, SUM(amount_minor) FROM gift GROUP BY 1, 2"),
            ("income_drilldown_page", lambda: income.gifts_behind(s, year=year - 1, category="individual_one_off",
                                                                   page=20),
             f"SELECT COUNT(*), SUM(amount_minor) FROM gift WHERE category = 'individual_one_off'"
             f" AND received_on >= '{year - 1}-01-01' AND received_on < '{year}-01-01'"),
            ("donor_search", lambda: (donors.search_donors(s, "Name00123"), donors.search_donors(s, "4300")),
             "SELECT COUNT(*) FROM donor WHERE last_name LIKE 'Name00123%'"),
            ("donor_profile", lambda: donors.profile(s, some_donor),
             f"SELECT SUM(amount_minor) FROM gift WHERE donor_id = {some_donor}"),
            ("recurring_by_status", lambda: recurring.commitments_by_status(s),
             "SELECT status, COUNT(*), SUM(amount_minor) FROM commitment GROUP BY status"),
        ]
        cases += other_pages(s, year, today)
        results = []
        for name, fn, baseline_sql in cases:
            fn()  # warm caches the same way for both
            seconds = median_time(fn, args.repeats)
            s.execute(text(baseline_sql)).all()
            baseline = median_time(lambda sql=baseline_sql: s.execute(text(sql)).all(),
                                   args.baseline_repeats or args.repeats)
            results.append((name, seconds, baseline))
            print(f"{name:26s} {seconds * 1000:9.1f} ms   plain aggregate {baseline * 1000:9.1f} ms", flush=True)
    engine.dispose()
    backend = "postgresql" if pg else "sqlite"
    for name, seconds, baseline in results:
        print(f"RESULT {backend}_{name} seconds={seconds:.4f} baseline={baseline:.4f} ratio={seconds / baseline:.3f}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
