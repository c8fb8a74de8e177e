"""Provider-neutral values the adapters return; plain dataclasses and enums, no SDK objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from donorcrm.money import Money


class Provider(StrEnum):
    STRIPE = "stripe"
    MOLLIE = "mollie"


class PaymentStatus(StrEnum):
    OPEN = "open"  # created, the donor has not finished paying
    PENDING = "pending"  # the donor finished, the money is on its way (SEPA, bank transfer)
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"  # waiting for a first payment or mandate
    ACTIVE = "active"
    CANCELED = "canceled"
    SUSPENDED = "suspended"  # provider stopped collecting (failed payments)
    COMPLETED = "completed"


class LineKind(StrEnum):
    """What one line of a payout/settlement is."""

    PAYMENT = "payment"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    FEE = "fee"
    OTHER = "other"


class EventOutcome(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # nothing for us in it (unknown type, unknown or forged id)
    RETRY = "retry"  # provider unreachable or an error: parked, processed again later


@dataclass(frozen=True)
class Refund:
    refund_id: str
    payment_id: str
    amount: Money
    status: str  # provider's words; see is_effective
    created_on: dt.date

    @property
    def is_effective(self) -> bool:
        """Money has left (or will leave) the charity: failed/canceled refunds book nothing."""
        return self.status not in {"failed", "canceled"}


@dataclass(frozen=True)
class Chargeback:
    chargeback_id: str
    payment_id: str
    amount: Money
    created_on: dt.date
    reversed: bool = False  # the charity won the dispute / the chargeback was reversed


@dataclass(frozen=True)
class PaymentState:
    """Everything the ledger needs to know about one provider payment, as the provider sees it now."""

    provider: Provider
    payment_id: str
    status: PaymentStatus
    amount: Money
    method: str | None = None
    paid_on: dt.date | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    mandate_id: str | None = None
    sequence: str | None = None  # oneoff, first, recurring
    charge_ref: str | None = None  # Stripe charge id: what balance transactions name
    settlement_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    refunds: tuple[Refund, ...] = ()
    chargebacks: tuple[Chargeback, ...] = ()


@dataclass(frozen=True)
class SubscriptionState:
    provider: Provider
    subscription_id: str
    customer_id: str | None
    status: SubscriptionStatus
    mandate_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PayoutLine:
    kind: LineKind
    object_id: str  # provider id of the transaction source: payment, refund, chargeback
    payment_id: str | None  # the payment it belongs to, when the provider says so
    gross: Money
    fee: Money
    charge_ref: str | None = None

    @property
    def net(self) -> Money:
        return self.gross - self.fee


@dataclass(frozen=True)
class Payout:
    """A Stripe payout or a Mollie settlement: money that reached the charity's bank account."""

    provider: Provider
    payout_id: str
    status: str
    amount: Money  # net amount paid to the bank
    paid_on: dt.date | None
    reference: str | None = None
    lines: tuple[PayoutLine, ...] = ()
    # Costs invoiced per period rather than per transaction (Mollie): (description, amount)
    period_costs: tuple[tuple[str, Money], ...] = ()


@dataclass(frozen=True)
class OneOffRequest:
    amount: Money
    description: str
    redirect_url: str
    webhook_url: str | None = None
    method: str | None = None  # ideal, creditcard, bancontact, card, sepa_debit ...
    payment_method_ref: str | None = None  # Stripe: a pm_ id collected by Stripe.js
    email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StartedPayment:
    payment_id: str
    status: PaymentStatus
    checkout_url: str | None  # where to send the donor (Mollie checkout, Stripe next action); None if none
    client_secret: str | None = None  # Stripe.js needs it to finish the payment in the browser


@dataclass(frozen=True)
class RecurringRequest:
    amount: Money
    interval_months: int
    description: str
    name: str
    email: str | None
    redirect_url: str
    webhook_url: str | None = None
    payment_method_ref: str | None = None  # Stripe: pm_ (card or sepa_debit) set up by Stripe.js
    mandate_ref: str | None = None  # Stripe SEPA: the mandate of the SetupIntent that collected the pm
    method: str | None = None  # Mollie first payment method (ideal, creditcard, directdebit)
    start_date: dt.date | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StartedRecurring:
    customer_id: str
    subscription_id: str | None  # Stripe: at once; Mollie: after the first payment is paid
    mandate_id: str | None
    first_payment_id: str | None
    checkout_url: str | None


@dataclass(frozen=True)
class IncomingEvent:
    """A webhook call after authentication: what happened, to which object.

    ``data`` is the signed event object (Stripe) or empty (Mollie, which sends only an id).
    """

    provider: Provider
    event_id: str
    event_type: str
    object_id: str
    data: dict[str, Any] = field(default_factory=dict)
