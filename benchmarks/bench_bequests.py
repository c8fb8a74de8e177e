"""How long the bequests reports take on a large pipeline: forecast, recognition for a year, pipeline by stage.

Builds a SQLite database with N legacy cases (a fifth open) through the services, then times each report
against a baseline measured in the same run: one SQL sum over the ledger's bequest gifts.
Usage: python benchmarks/bench_bequests.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from donorcrm import migrate
from donorcrm.bequests import reports, service
from donorcrm.db import make_engine, session_scope
from donorcrm.gifts.models import Gift
from donorcrm.money import Money


def build(engine, cases: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    with session_scope(engine) as s:
        for i in range(cases):
            notified = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randint(0, 2500))
            kind = rng.choice(("pecuniary", "residuary"))
            case = service.open_case(s, deceased_name=f"Estate {i}", notified_on=notified, kind=kind,
                                     share_bp=5000 if kind == "residuary" else None,
                                     estimate=Money(rng.randint(1_000_00, 400_000_00)))
            day = notified + dt.timedelta(days=rng.randint(20, 90))
            service.receive_documents(s, case.id, day)
            day += dt.timedelta(days=rng.randint(20, 120))
            service.start_administration(s, case.id, day)
            if i % 5 == 0:
                continue  # open
            for _ in range(rng.randint(1, 3)):
                day += dt.timedelta(days=rng.randint(30, 200))
                service.record_distribution(s, case.id, Money(rng.randint(1_000_00, 100_000_00)), day)
            day += dt.timedelta(days=rng.randint(30, 120))
            service.record_distribution(s, case.id, Money(rng.randint(1_000_00, 100_000_00)), day, final=True)
            service.close_case(s, case.id, day + dt.timedelta(days=10))


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases, repeats = (300, 3) if args.quick else (1500, 5)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        t = time.perf_counter()
        build(engine, cases)
        print(f"built {cases} cases in {time.perf_counter() - t:.1f} s")
        on = dt.date(2025, 6, 30)

        def baseline() -> object:
            with session_scope(engine) as s:
                return s.execute(select(func.sum(Gift.amount_minor))
                                 .where(Gift.category == "individual_bequest")).scalar_one()

        def run(fn: Callable[..., object], *a: object) -> Callable[[], object]:
            def inner() -> object:
                with session_scope(engine) as s:
                    return fn(s, *a)
            return inner

        base = median_seconds(baseline, repeats)
        figures = {
            "bequests_forecast": median_seconds(run(reports.forecast_rows, on), repeats),
            "bequests_recognised_year": median_seconds(run(reports.recognised_vs_received, 2024), repeats),
            "bequests_pipeline_by_stage": median_seconds(run(reports.pipeline_by_stage), repeats),
        }
        engine.dispose()
    for name, seconds in figures.items():
        print(f"RESULT {name} seconds={seconds:.4f} baseline={base:.4f} ratio={seconds / base:.1f}")


if __name__ == "__main__":
    main()
