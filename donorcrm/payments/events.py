"""The event store: every webhook call is recorded and processed exactly once, whatever arrives twice.

Processing a provider call has three steps: authenticate (the adapter; a bad signature writes nothing),
resolve (ask the provider what is true now; no database transaction is open while we wait for it), and
apply (one transaction: the event row and the ledger rows commit together). A provider that cannot be
reached parks the event as `retry`; `retry_parked` (or the provider's own redelivery) finishes it later,
and because the ledger is keyed by provider ids a retry never books anything twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from donorcrm.db import session_scope, utcnow
from donorcrm.errors import DonorCrmError, ProviderError
from donorcrm.payments.models import PaymentEvent
from donorcrm.payments.provider import PaymentProvider, Resolution
from donorcrm.payments.service import Applied, apply_payment, apply_subscription
from donorcrm.payments.types import EventOutcome, IncomingEvent, Provider

log = logging.getLogger("donorcrm.payments")

DONE = frozenset({EventOutcome.PROCESSED, EventOutcome.IGNORED})


@dataclass
class EventResult:
    """How a call was handled; `http_status` is what the webhook endpoint answers."""

    http_status: int
    outcome: str
    event_id: str
    applied: Applied = field(default_factory=Applied)
    duplicate: bool = False


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def state_digest(resolution: Resolution) -> str:
    """A fingerprint of what the provider said: the same state seen twice is the same event."""
    parts: list[object] = []
    for p in resolution.payments:
        parts.append([p.payment_id, p.status.value, p.amount.minor,
                      sorted([r.refund_id, r.status] for r in p.refunds),
                      sorted([c.chargeback_id, c.reversed] for c in p.chargebacks)])
    for s in resolution.subscriptions:
        parts.append([s.subscription_id, s.status.value])
    parts.append(resolution.ignored or "")
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _row(session: Session, provider: str, event_id: str, *, lock: bool = False) -> PaymentEvent | None:
    stmt = select(PaymentEvent).where(PaymentEvent.provider == provider, PaymentEvent.event_id == event_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalars().first()


def _is_done(engine: Engine, provider: str, event_id: str) -> bool:
    with session_scope(engine) as s:
        row = _row(s, provider, event_id)
        return row is not None and row.outcome in DONE


def _park(engine: Engine, event: IncomingEvent, event_id: str, digest: str, error: str) -> bool:
    """Record the event as to be retried. Returns True if another worker finished it meanwhile."""
    try:
        with session_scope(engine) as s:
            row = _row(s, event.provider.value, event_id, lock=True)
            if row is not None and row.outcome in DONE:
                return True
            if row is None:
                row = PaymentEvent(provider=event.provider.value, event_id=event_id, event_type=event.event_type,
                                   object_id=event.object_id, payload_hash=digest, payload=event.data or None)
            row.outcome = EventOutcome.RETRY.value
            row.attempts += 1
            row.last_error = error[:500]
            s.add(row)
    except IntegrityError:
        return _is_done(engine, event.provider.value, event_id)
    return False


def _apply(session: Session, provider: PaymentProvider, resolution: Resolution) -> tuple[str, Applied]:
    applied = Applied()
    for state in resolution.payments:
        applied.merge(apply_payment(session, state, provider=provider))
    for sub in resolution.subscriptions:
        applied.merge(apply_subscription(session, sub))
    if not resolution.payments and not resolution.subscriptions:
        return EventOutcome.IGNORED.value, applied
    return EventOutcome.PROCESSED.value, applied


def process_event(engine: Engine, provider: PaymentProvider, event: IncomingEvent, *, digest: str = "",
                  event_id_prefix: str = "") -> EventResult:
    """Resolve and apply one authenticated event, exactly once per event id."""
    provider_keyed = bool(event.event_id) and event.provider is Provider.STRIPE
    parked_id = event.event_id if provider_keyed else f"{event_id_prefix}{event.object_id}:unresolved"
    if provider_keyed and _is_done(engine, event.provider.value, event.event_id):
        return EventResult(200, "duplicate", event.event_id, duplicate=True)
    try:
        resolution = provider.resolve(event)
    except ProviderError as exc:
        log.warning("%s event %s parked: %s", event.provider.value, parked_id, exc.code)
        _park(engine, event, parked_id, digest or "-", str(exc))
        return EventResult(503, EventOutcome.RETRY.value, parked_id)
    event_id = event.event_id if provider_keyed else f"{event_id_prefix}{event.object_id}:{state_digest(resolution)}"
    for attempt in (1, 2):  # a second try when a concurrent worker inserted the same rows first
        try:
            with session_scope(engine) as s:
                row = _row(s, event.provider.value, event_id, lock=True)
                if row is not None and row.outcome in DONE:
                    return EventResult(200, "duplicate", event_id, duplicate=True)
                if row is None:
                    row = PaymentEvent(provider=event.provider.value, event_id=event_id, event_type=event.event_type,
                                       object_id=event.object_id, payload_hash=digest or state_digest(resolution),
                                       payload=event.data or None)
                    s.add(row)
                    s.flush()
                outcome, applied = _apply(s, provider, resolution)
                row.outcome = outcome
                row.attempts += 1
                row.processed_at = utcnow()
                row.last_error = resolution.ignored
                if parked_id != event_id:  # a Mollie call parked earlier is answered by this one
                    parked = _row(s, event.provider.value, parked_id, lock=True)
                    if parked is not None and parked.outcome not in DONE:
                        parked.outcome = EventOutcome.PROCESSED.value
                        parked.processed_at = utcnow()
                        parked.last_error = f"answered by {event_id}"[:500]
                s.add(row)
            log.info("%s event %s: %s", event.provider.value, event_id, outcome)
            return EventResult(200, outcome, event_id, applied=applied)
        except (IntegrityError, OperationalError) as exc:
            if attempt == 2:
                done = _park(engine, event, parked_id, digest or "-", f"{type(exc).__name__}")
                return EventResult(200 if done else 500, "duplicate" if done else EventOutcome.RETRY.value,
                                   event_id, duplicate=done)
        except (ProviderError, DonorCrmError) as exc:
            log.warning("%s event %s parked: %s", event.provider.value, event_id, type(exc).__name__)
            _park(engine, event, parked_id, digest or "-", str(exc))
            return EventResult(503, EventOutcome.RETRY.value, parked_id)
        except Exception as exc:  # a bug must not lose the event: park it, answer 500, the provider retries
            log.exception("%s event %s failed", event.provider.value, event_id)
            _park(engine, event, parked_id, digest or "-", f"{type(exc).__name__}: {exc}")
            return EventResult(500, EventOutcome.RETRY.value, parked_id)
    raise AssertionError("unreachable")


def handle_webhook(engine: Engine, provider: PaymentProvider, body: bytes, headers: Mapping[str, str]) -> EventResult:
    """Authenticate a webhook call (WebhookSignatureError: nothing is written), then process it."""
    event = provider.parse_webhook(body, headers)
    return process_event(engine, provider, event, digest=body_hash(body))


def retry_parked(engine: Engine, provider: PaymentProvider, *, limit: int = 1000) -> list[EventResult]:
    """Process again the events parked as `retry` (provider unreachable, or an error while applying)."""
    with session_scope(engine) as s:
        rows = s.execute(select(PaymentEvent).where(
            PaymentEvent.provider == provider.name.value, PaymentEvent.outcome == EventOutcome.RETRY.value,
        ).order_by(PaymentEvent.id).limit(limit)).scalars().all()
        parked = [(r.event_id, r.event_type, r.object_id, r.payload or {}, r.payload_hash) for r in rows]
    results = []
    for event_id, event_type, object_id, payload, digest in parked:
        if event_id.startswith("sync:"):
            results.append(observe_payment(engine, provider, object_id))
        elif provider.name is Provider.STRIPE:
            event = IncomingEvent(Provider.STRIPE, event_id, event_type, object_id, payload)
            results.append(process_event(engine, provider, event, digest=digest))
        else:
            event = IncomingEvent(provider.name, object_id, event_type, object_id)
            results.append(process_event(engine, provider, event, digest=digest))
    return results


def observe_payment(engine: Engine, provider: PaymentProvider, payment_id: str) -> EventResult:
    """A payment seen by sync rather than by webhook; recorded as an event keyed by its state.

    Mollie uses the same ids as its own webhook calls, so a state already seen through a webhook is a duplicate.
    """
    if provider.name is Provider.MOLLIE:
        return process_event(engine, provider, IncomingEvent(provider.name, payment_id, "payment", payment_id))
    event = IncomingEvent(provider.name, "", "payment_intent.sync", payment_id)
    return process_event(engine, provider, event, event_id_prefix="sync:")


def events_since(session: Session, since: dt.datetime) -> list[PaymentEvent]:
    return list(session.execute(select(PaymentEvent).where(PaymentEvent.received_at >= since)
                                .order_by(PaymentEvent.id)).scalars().all())
