"""The small interface every payment provider adapter implements, and how to get one from settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from donorcrm.config import Settings, get_settings
from donorcrm.errors import ValidationError
from donorcrm.gifts.categories import PaymentChannel
from donorcrm.money import Money
from donorcrm.payments.types import (
    IncomingEvent,
    OneOffRequest,
    PaymentState,
    Payout,
    Provider,
    RecurringRequest,
    Refund,
    StartedPayment,
    StartedRecurring,
    SubscriptionState,
)


@dataclass(frozen=True)
class Resolution:
    """What an event means once the provider has been asked: current states to bring the ledger to."""

    payments: tuple[PaymentState, ...] = ()
    subscriptions: tuple[SubscriptionState, ...] = ()
    ignored: str | None = None  # why nothing is to be done (unknown type, unknown or forged id)


class PaymentProvider(Protocol):
    name: Provider

    def create_payment(self, request: OneOffRequest) -> StartedPayment: ...

    def start_recurring(self, request: RecurringRequest) -> StartedRecurring: ...

    def create_subscription(self, customer_id: str, mandate_id: str | None, request: RecurringRequest) -> str:
        """Mollie: start the subscription once the first payment gave a mandate. Returns its id."""
        ...

    def cancel_recurring(self, customer_id: str, subscription_id: str) -> None: ...

    def refund(self, payment_id: str, amount: Money | None, *, idempotency_key: str) -> Refund: ...

    def get_payment(self, payment_id: str) -> PaymentState: ...

    def get_subscription(self, customer_id: str, subscription_id: str) -> SubscriptionState: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> IncomingEvent:
        """Authenticate a webhook call (raises WebhookSignatureError) and say what it is about."""
        ...

    def resolve(self, event: IncomingEvent) -> Resolution:
        """Ask the provider what the event means now; raises ProviderError when it cannot be reached."""
        ...

    def payments_since(self, since: dt.datetime) -> Iterator[str]:
        """Ids of payments created since the moment given (for sync of what webhooks missed)."""
        ...

    def payouts_since(self, since: dt.datetime) -> Iterator[Payout]: ...


_CHANNELS = {
    "ideal": PaymentChannel.IDEAL,
    "creditcard": PaymentChannel.CARD,
    "card": PaymentChannel.CARD,
    "directdebit": PaymentChannel.SEPA_DD,
    "sepa_debit": PaymentChannel.SEPA_DD,
    "paypal": PaymentChannel.PAYPAL,
    "banktransfer": PaymentChannel.BANK_TRANSFER,
    "customer_balance": PaymentChannel.BANK_TRANSFER,
}


def channel_of(method: str | None) -> PaymentChannel:
    """Our payment channel for a provider's payment method name."""
    return _CHANNELS.get((method or "").lower(), PaymentChannel.OTHER)


def get_provider(name: Provider | str, settings: Settings | None = None) -> PaymentProvider:
    """An adapter configured from settings (keys from DONORCRM_* environment variables)."""
    settings = settings or get_settings()
    try:
        which = Provider(name)
    except ValueError:
        raise ValidationError(f"unknown payment provider {name!r}; use stripe or mollie") from None
    if which is Provider.STRIPE:
        from donorcrm.payments.stripe_provider import StripeProvider

        return StripeProvider.from_settings(settings)
    from donorcrm.payments.mollie_provider import MollieProvider

    return MollieProvider.from_settings(settings)
