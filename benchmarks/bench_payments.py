"""Webhook processing cost: provider events through the event store into the ledger.

Compares processing N provider payment events (event row + provider_payment row + gift, one transaction
each, duplicates detected) with the baseline of booking the same N gifts with record_gift, one
transaction each. The provider answers from memory, so this measures donorcrm, not the network.

    python benchmarks/bench_payments.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from donorcrm import migrate  # noqa: E402
from donorcrm.db import make_engine, session_scope  # noqa: E402
from donorcrm.donors.models import DonorCreate  # noqa: E402
from donorcrm.donors.service import create_donor  # noqa: E402
from donorcrm.gifts.service import record_gift  # noqa: E402
from donorcrm.money import Money  # noqa: E402
from donorcrm.payments.events import process_event  # noqa: E402
from donorcrm.payments.provider import Resolution  # noqa: E402
from donorcrm.payments.types import IncomingEvent, PaymentState, PaymentStatus, Provider  # noqa: E402


class RecordedProvider:
    """Answers resolve() from prepared states, as Mollie would after a GET /v2/payments/{id}."""

    name = Provider.MOLLIE

    def __init__(self, states: dict[str, PaymentState]) -> None:
        self.states = states

    def resolve(self, event: IncomingEvent) -> Resolution:
        return Resolution(payments=(self.states[event.object_id],))

    def payments_since(self, since: dt.datetime) -> Iterator[str]:
        return iter(self.states)


def _fresh_engine(tmp: Path, name: str):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp / name}"
    migrate.upgrade(url)
    return make_engine(url)


def run(n: int, tmp: Path, round_no: int) -> tuple[float, float]:
    engine = _fresh_engine(tmp, f"events-{round_no}.sqlite")
    with session_scope(engine) as s:
        donor_id = create_donor(s, DonorCreate(first_name="Bench", last_name="Donor")).id
    states = {
        f"tr_bench{i}": PaymentState(Provider.MOLLIE, f"tr_bench{i}", PaymentStatus.PAID, Money(1000 + i),
                                     method="ideal", paid_on=dt.date(2026, 11, 20),
                                     metadata={"donor_id": str(donor_id)})
        for i in range(n)
    }
    provider = RecordedProvider(states)
    start = time.perf_counter()
    for pid in states:
        process_event(engine, provider, IncomingEvent(Provider.MOLLIE, pid, "payment", pid))  # type: ignore[arg-type]
    for pid in list(states)[: n // 10]:  # a tenth delivered twice, as providers do
        process_event(engine, provider, IncomingEvent(Provider.MOLLIE, pid, "payment", pid))  # type: ignore[arg-type]
    events = time.perf_counter() - start
    engine.dispose()

    engine = _fresh_engine(tmp, f"baseline-{round_no}.sqlite")
    with session_scope(engine) as s:
        donor_id = create_donor(s, DonorCreate(first_name="Bench", last_name="Donor")).id
    start = time.perf_counter()
    for i in range(n):
        with session_scope(engine) as s:
            record_gift(s, donor_id=donor_id, amount=Money(1000 + i), received_on=dt.date(2026, 11, 20),
                        channel="ideal", category="individual_one_off", source="mollie", external_ref=f"tr_bench{i}")
    baseline = time.perf_counter() - start
    engine.dispose()
    return events, baseline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeats = (200, 3) if args.quick else (1000, 3)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            events, baseline = run(n, Path(tmp), r)
            print(f"round {r + 1}: {n} events {events:.3f}s, {n} plain gifts {baseline:.3f}s")
            results.append((events, baseline))
    events = statistics.median(e for e, _ in results)
    baseline = statistics.median(b for _, b in results)
    print(f"per event {events / n * 1000:.2f} ms, per plain gift {baseline / n * 1000:.2f} ms")
    print(f"RESULT payments_webhook_events seconds={events:.3f} baseline={baseline:.3f} ratio={events / baseline:.2f}")


if __name__ == "__main__":
    main()
