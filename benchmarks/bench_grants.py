"""Grants at scale: the admin's grant rows over a large ledger, automatic co-funding allocation, and the
finance system's spending import.

Baselines, measured in the same run on the same data:
- grant rows: asking each grant's position one by one (service.position per grant);
- auto-allocation: a plain scan of the same candidate gifts without allocation logic;
- spending import: a Core executemany of the same rows with no validation.

    python benchmarks/bench_grants.py [--quick] [--url sqlite:///...|postgresql+psycopg://...]
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

from sqlalchemy import insert, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from donorcrm import migrate  # noqa: E402
from donorcrm.campaigns.models import Fund  # noqa: E402
from donorcrm.db import make_engine  # noqa: E402
from donorcrm.donors.models import DonorCreate  # noqa: E402
from donorcrm.donors.service import create_donor  # noqa: E402
from donorcrm.gifts.models import Gift  # noqa: E402
from donorcrm.gifts.service import GiftRow, record_gifts_bulk  # noqa: E402
from donorcrm.grants import cofunding, reports, rules, service, spending  # noqa: E402
from donorcrm.grants.models import FundSpending  # noqa: E402
from donorcrm.money import Money  # noqa: E402


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def build(session: Session, *, grants: int, gifts: int) -> list[int]:
    rnd = random.Random(7)
    donor = create_donor(session, DonorCreate(first_name="Bench", last_name="Donor"))
    ids = []
    for n in range(grants):
        funder = service.create_funder(session, name=f"Fonds {n}", kind="private_fund", code=f"F{n}")
        g = service.create_application(session, service.GrantApplication(
            funder_id=funder.id, reference=f"G-{n}", title=f"Project {n}", budget=Money(400_000_00),
            requested=Money(300_000_00), applied_on=dt.date(2019, 10, 1)))
        service.award(session, g.id, service.Award(awarded=Money(300_000_00), decided_on=dt.date(2020, 1, 1),
                                                   cofunding_percent="25"))
        plan = service.plan_instalments(session, g.id, rules.advance_and_rest(
            Money(300_000_00), advance_on=dt.date(2020, 2, 1), rest_on=dt.date(2021, 6, 1)))
        service.receive_instalment(session, plan[0].id, received_on=dt.date(2020, 2, 3))
        service.add_report(session, g.id, kind="final", due_on=dt.date(2021, 5, 1))
        ids.append(g.id)
    record_gifts_bulk(session, (
        GiftRow(donor_id=donor.id, amount_minor=rnd.randint(500, 10_000), received_on=dt.date(2020, 1, 1)
                + dt.timedelta(days=i % 366), channel="sepa_dd", category="individual_recurring",
                source="bench", external_ref=f"b{i}")
        for i in range(gifts)))
    session.flush()
    return ids


def spending_csv(rows: int, fund_code: str) -> str:
    lines = ["datum;fonds;bedrag;omschrijving;boekstuk"]
    lines += [f"2020-{1 + i % 12:02d}-15;{fund_code};{10 + i % 90},{i % 100:02d};Kosten {i};BK-{i}"
              for i in range(rows)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    grants, gifts, csv_rows, repeats = (40, 20_000, 2_000, 3) if args.quick else (200, 200_000, 10_000, 3)
    tmp = tempfile.mkdtemp()
    url = args.url or f"sqlite:///{tmp}/bench.sqlite"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        t = time.perf_counter()
        ids = build(session, grants=grants, gifts=gifts)
        session.commit()
        print(f"setup: {grants} grants, {gifts} gifts in {time.perf_counter() - t:.1f}s")

        rows_s = median_time(lambda: reports.grant_rows(session), repeats)
        rows_base = median_time(lambda: [service.position(session, gid) for gid in ids], repeats)
        print(f"grant rows ({grants} grants): {rows_s:.3f}s; one by one: {rows_base:.3f}s")

        target = ids[0]

        def allocate_once() -> None:
            cofunding.auto_allocate(session, target, received_from=dt.date(2020, 1, 1),
                                    received_to=dt.date(2020, 12, 31), on=dt.date(2020, 12, 31))
            session.rollback()

        def scan_once() -> None:
            list(session.execute(select(Gift.id, Gift.amount_minor).where(
                Gift.grant_id.is_(None), Gift.category == "individual_recurring").order_by(Gift.received_on, Gift.id)
                .execution_options(yield_per=2000)).all())

        alloc_s = median_time(allocate_once, repeats)
        alloc_base = median_time(scan_once, repeats)
        print(f"auto-allocate EUR 100,000 over {gifts} gifts: {alloc_s:.3f}s; plain scan: {alloc_base:.3f}s")

        fund_code = f"GRANT-G-{grants - 1}"
        text = spending_csv(csv_rows, fund_code)

        def import_once() -> None:
            result = spending.import_spending_csv(session, text)
            assert result.ok and result.written == csv_rows, result.problems[:3]
            session.rollback()

        fund_id = session.execute(select(Fund.id).where(Fund.code == fund_code)).scalar_one()

        def insert_once() -> None:
            session.execute(insert(FundSpending), [
                {"fund_id": fund_id, "spent_on": dt.date(2020, 1, 15), "amount_minor": 1000 + i, "currency": "EUR",
                 "description": f"Kosten {i}", "source": "finance", "external_ref": f"BK-{i}",
                 "created_at": dt.datetime.now(dt.UTC), "created_by": "bench"} for i in range(csv_rows)])
            session.rollback()

        imp_s = median_time(import_once, repeats)
        imp_base = median_time(insert_once, repeats)
        print(f"spending import {csv_rows} rows: {imp_s:.3f}s; bare insert: {imp_base:.3f}s")
    engine.dispose()
    for name, s, b in (("grants_rows", rows_s, rows_base), ("grants_auto_allocate", alloc_s, alloc_base),
                       ("grants_spending_import", imp_s, imp_base)):
        print(f"RESULT {name} seconds={s:.4f} baseline={b:.4f} ratio={s / b:.2f}")


if __name__ == "__main__":
    main()
