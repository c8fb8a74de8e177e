"""Catching up with the provider: what webhooks missed (downtime, a wrong URL) is read back from the API.

Idempotent: each payment is applied through the event store keyed by its state, so running sync twice,
or after the webhooks did arrive, books nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine

from donorcrm.db import session_scope
from donorcrm.errors import DonorCrmError, Problem
from donorcrm.payments.events import EventResult, observe_payment, retry_parked
from donorcrm.payments.models import ProviderSubscription
from donorcrm.payments.provider import PaymentProvider
from donorcrm.payments.service import apply_subscription
from donorcrm.payments.types import SubscriptionStatus


@dataclass
class SyncReport:
    payments_seen: int = 0
    processed: int = 0
    duplicates: int = 0
    parked: int = 0
    gifts_booked: int = 0
    reversals: int = 0
    retried: int = 0
    subscriptions_checked: int = 0
    subscriptions_ended: int = 0
    problems: list[Problem] = field(default_factory=list)

    def count(self, result: EventResult) -> None:
        if result.duplicate:
            self.duplicates += 1
        elif result.http_status >= 300:
            self.parked += 1
        else:
            self.processed += 1
        self.gifts_booked += len(result.applied.booked)
        self.reversals += len(result.applied.reversed)

    def as_dict(self) -> dict[str, object]:
        data = {k: v for k, v in self.__dict__.items() if k != "problems"}
        data["problems"] = [str(p) for p in self.problems]
        return data


def sync(engine: Engine, provider: PaymentProvider, since: dt.datetime,
         progress: Callable[[int], None] | None = None) -> SyncReport:
    report = SyncReport()
    for result in retry_parked(engine, provider):
        report.retried += 1
        report.count(result)
    try:
        for payment_id in provider.payments_since(since):
            report.payments_seen += 1
            report.count(observe_payment(engine, provider, payment_id))
            if progress:
                progress(1)
    except DonorCrmError as exc:  # listing failed part-way: what was done stays done; run again later
        report.problems.append(Problem(f"{provider.name.value} payments", str(exc)))
    with session_scope(engine) as s:
        subs = [(r.customer_id, r.subscription_id) for r in s.execute(select(ProviderSubscription).where(
            ProviderSubscription.provider == provider.name.value,
            ProviderSubscription.subscription_id.is_not(None),  # type: ignore[union-attr]
            ProviderSubscription.status.in_([SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PENDING.value,  # type: ignore[attr-defined]
                                             SubscriptionStatus.SUSPENDED.value]))).scalars()]
    for customer_id, subscription_id in subs:
        report.subscriptions_checked += 1
        try:
            state = provider.get_subscription(customer_id, subscription_id)  # type: ignore[arg-type]
        except DonorCrmError as exc:
            report.problems.append(Problem(f"subscription {subscription_id}", str(exc)))
            continue
        with session_scope(engine) as s:
            applied = apply_subscription(s, state)
        report.subscriptions_ended += sum(1 for n in applied.notes if n.endswith("ended"))
    return report
