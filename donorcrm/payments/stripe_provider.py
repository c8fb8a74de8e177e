"""Stripe adapter (stripe SDK through a StripeClient of its own, so no global key is set).

Stripe signs its webhooks: a call is accepted only if `Stripe-Signature` verifies with the endpoint secret
within the tolerance. Payment events are then re-read from the API (so order does not matter); dispute
and subscription events are taken from the signed payload.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import stripe

from donorcrm.config import Settings
from donorcrm.errors import NotFound, ProviderError, ValidationError, WebhookSignatureError
from donorcrm.money import Money
from donorcrm.payments.provider import Resolution
from donorcrm.payments.types import (
    Chargeback,
    IncomingEvent,
    LineKind,
    OneOffRequest,
    PaymentState,
    PaymentStatus,
    Payout,
    PayoutLine,
    Provider,
    RecurringRequest,
    Refund,
    StartedPayment,
    StartedRecurring,
    SubscriptionState,
    SubscriptionStatus,
)

T = TypeVar("T")

_SUBSCRIPTION_STATUS = {
    "incomplete": SubscriptionStatus.PENDING,
    "trialing": SubscriptionStatus.ACTIVE,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.ACTIVE,
    "unpaid": SubscriptionStatus.SUSPENDED,
    "paused": SubscriptionStatus.SUSPENDED,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
}
# Dispute statuses where the money went back to the charity. Inquiries (warning_*) never take money.
_DISPUTE_WON = {"won"}
_PAGE = 100


def money_of(minor: int, currency: str) -> Money:
    """Stripe sends integer minor units and lower-case currency codes."""
    return Money(int(minor), currency.upper())


def _date(ts: int | None) -> dt.date | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).date() if ts else None


def _id(value: Any) -> str | None:
    """An expandable field: either an id or an object with one."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value.get("id")) if value.get("id") else None
    return str(value)


def _metadata(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(raw or {}).items()}


def payment_status(pi: Mapping[str, Any]) -> PaymentStatus:
    status = pi.get("status")
    if status == "succeeded":
        return PaymentStatus.PAID
    if status in ("processing", "requires_capture"):
        return PaymentStatus.PENDING
    if status == "canceled":
        return PaymentStatus.CANCELED
    if status == "requires_payment_method" and pi.get("last_payment_error"):
        return PaymentStatus.FAILED
    return PaymentStatus.OPEN


class StripeProvider:
    name = Provider.STRIPE

    def __init__(self, api_key: str, *, webhook_secret: str = "", api_base: str = "",
                 timeout: float = 20.0, tolerance: int = 300, max_network_retries: int = 1) -> None:
        if not api_key:
            raise ValidationError("no Stripe API key: set DONORCRM_STRIPE_API_KEY")
        bases: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self._client = stripe.StripeClient(
            api_key, base_addresses=bases,  # type: ignore[arg-type]
            http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=max_network_retries,
        )
        self._secret = webhook_secret
        self._tolerance = tolerance
        self._api_base = api_base

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider:
        return cls(settings.stripe_api_key, webhook_secret=settings.stripe_webhook_secret,
                   api_base=settings.stripe_api_base, timeout=float(settings.provider_timeout_seconds),
                   tolerance=settings.webhook_tolerance_seconds)

    def __repr__(self) -> str:  # never show the key or the secret
        return f"StripeProvider(api_base={self._api_base!r})"

    @property
    def v1(self) -> Any:
        return self._client.v1

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise NotFound(f"stripe: {what}: not found") from None
            raise ProviderError("stripe", str(exc.code or exc.http_status), f"{what}: {exc.user_message or exc}",
                                retryable=False) from None
        except stripe.CardError as exc:
            raise ProviderError("stripe", str(exc.code), f"{what}: {exc.user_message}", retryable=False) from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderError("stripe", "network", f"{what}: {type(exc).__name__}", retryable=True) from None
        except stripe.APIError as exc:
            if exc.http_status == 404:  # an endpoint this server does not have
                raise NotFound(f"stripe: {what}: not found") from None
            raise ProviderError("stripe", str(exc.http_status), f"{what}: {type(exc).__name__}",
                                retryable=True) from None
        except stripe.StripeError as exc:
            status = int(exc.http_status or 0)
            raise ProviderError("stripe", str(status or type(exc).__name__), f"{what}: {type(exc).__name__}",
                                retryable=status >= 500 or status == 0) from None

    # --- starting and stopping -----------------------------------------------------------------------------
    def create_payment(self, request: OneOffRequest) -> StartedPayment:
        """A PaymentIntent; with a payment method from Stripe.js it is confirmed at once."""
        params: dict[str, Any] = {
            "amount": request.amount.minor, "currency": request.amount.currency.lower(),
            "metadata": dict(request.metadata),
            "payment_method_types": [request.method or "card"],
        }
        if request.payment_method_ref:
            params["payment_method"] = request.payment_method_ref
            params["confirm"] = True
        pi = self._call("create payment intent", lambda: self.v1.payment_intents.create(params=params)).to_dict()
        next_action = pi.get("next_action") or {}
        url = (next_action.get("redirect_to_url") or {}).get("url")
        return StartedPayment(payment_id=pi["id"], status=payment_status(pi), checkout_url=url,
                              client_secret=pi.get("client_secret"))

    def start_recurring(self, request: RecurringRequest) -> StartedRecurring:
        """Customer + payment method (card or SEPA debit, set up by Stripe.js) + subscription on a plan."""
        if not request.payment_method_ref:
            raise ValidationError("a Stripe recurring gift needs a payment method (pm_...) from Stripe.js")
        customer_params: dict[str, Any] = {"name": request.name, "metadata": dict(request.metadata)}
        if request.email:
            customer_params["email"] = request.email
        customer = self._call("create customer", lambda: self.v1.customers.create(params=customer_params))
        ref = request.payment_method_ref
        attached = self._call("attach payment method",
                              lambda: self.v1.payment_methods.attach(ref, params={"customer": customer.id}))
        pm_id = attached.id
        self._call("set default payment method", lambda: self.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": pm_id}}))
        plan = self._call("create plan", lambda: self.v1.plans.create(params={
            "amount": request.amount.minor, "currency": request.amount.currency.lower(), "interval": "month",
            "interval_count": request.interval_months, "product": {"name": request.description[:200]},
        }))
        sub = self._call("create subscription", lambda: self.v1.subscriptions.create(params={
            "customer": customer.id, "items": [{"plan": plan.id}], "metadata": dict(request.metadata),
        })).to_dict()
        # A SEPA mandate lives on the SetupIntent that collected the payment method (Stripe.js passes its id);
        # for cards the payment method itself is the standing authorisation.
        return StartedRecurring(customer_id=customer.id, subscription_id=sub["id"],
                                mandate_id=request.mandate_ref or pm_id,
                                first_payment_id=None, checkout_url=None)

    def create_subscription(self, customer_id: str, mandate_id: str | None, request: RecurringRequest) -> str:
        raise ValidationError("Stripe subscriptions start with start_recurring")

    def cancel_recurring(self, customer_id: str, subscription_id: str) -> None:
        try:
            self._call("cancel subscription", lambda: self.v1.subscriptions.cancel(subscription_id))
        except NotFound:
            pass

    def refund(self, payment_id: str, amount: Money | None, *, idempotency_key: str) -> Refund:
        params: dict[str, Any] = {"payment_intent": payment_id}
        if amount is not None:
            params["amount"] = amount.minor
        raw = self._call("refund", lambda: self.v1.refunds.create(
            params=params, options={"idempotency_key": idempotency_key})).to_dict()
        return self._refund(raw, payment_id)

    # --- reading -----------------------------------------------------------------------------------------
    @staticmethod
    def _refund(raw: Mapping[str, Any], payment_id: str) -> Refund:
        return Refund(refund_id=raw["id"], payment_id=_id(raw.get("payment_intent")) or payment_id,
                      amount=money_of(raw["amount"], raw["currency"]), status=str(raw.get("status") or "pending"),
                      created_on=_date(raw.get("created")) or dt.date.today())

    def _list(self, what: str, fn: Callable[[dict[str, Any]], Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """All pages of a Stripe list, by starting_after."""
        params = {**params, "limit": _PAGE}
        while True:
            page = self._call(what, lambda p=params: fn(p)).to_dict()  # type: ignore[misc]
            items = page.get("data") or []
            yield from items
            if not page.get("has_more") or not items:
                return
            params = {**params, "starting_after": items[-1]["id"]}

    def get_payment(self, payment_id: str) -> PaymentState:
        pi = self._call("get payment intent", lambda: self.v1.payment_intents.retrieve(payment_id)).to_dict()
        currency = pi["currency"]
        charge_id = _id(pi.get("latest_charge"))
        method = None
        types = pi.get("payment_method_types") or []
        pm_id = _id(pi.get("payment_method"))
        if pm_id:
            try:
                method = self._call("get payment method",
                                    lambda: self.v1.payment_methods.retrieve(pm_id)).to_dict().get("type")
            except NotFound:
                method = None
        method = method or (types[0] if types else None)
        subscription_id = self._subscription_of(pi)
        refunds: tuple[Refund, ...] = ()
        if charge_id:
            refunds = tuple(self._refund(r, payment_id) for r in self._list(
                "list refunds", lambda p: self.v1.refunds.list(params=p), {"payment_intent": payment_id}))
        status = payment_status(pi)
        chargebacks = self._disputes(payment_id) if charge_id and status is PaymentStatus.PAID else ()
        paid_on = None
        if status is PaymentStatus.PAID:
            paid_on = _date(pi.get("created"))
            if charge_id and isinstance(pi.get("latest_charge"), Mapping):
                paid_on = _date(pi["latest_charge"].get("created")) or paid_on
        return PaymentState(
            provider=Provider.STRIPE, payment_id=pi["id"], status=status, amount=money_of(pi["amount"], currency),
            method=method, paid_on=paid_on, customer_id=_id(pi.get("customer")), subscription_id=subscription_id,
            mandate_id=None, sequence="recurring" if subscription_id else "oneoff", charge_ref=charge_id,
            metadata=_metadata(pi.get("metadata")), refunds=refunds, chargebacks=chargebacks,
        )

    def _disputes(self, payment_id: str) -> tuple[Chargeback, ...]:
        """Disputes that took money (inquiries do not), so sync finds chargebacks whose webhook was lost."""
        try:
            found = list(self._list("list disputes", lambda p: self.v1.disputes.list(params=p),
                                    {"payment_intent": payment_id}))
        except NotFound:  # a server without the disputes API (localstripe)
            return ()
        return tuple(self._chargeback(d, payment_id) for d in found
                     if not str(d.get("status", "")).startswith("warning_"))

    @staticmethod
    def _chargeback(obj: Mapping[str, Any], payment_id: str) -> Chargeback:
        return Chargeback(chargeback_id=str(obj["id"]), payment_id=payment_id,
                          amount=money_of(obj["amount"], obj["currency"]),
                          created_on=_date(obj.get("created")) or dt.date.today(),
                          reversed=obj.get("status") in _DISPUTE_WON)

    def _subscription_of(self, pi: Mapping[str, Any]) -> str | None:
        """The subscription a PaymentIntent pays an instalment of, in old and new API shapes.

        Before API version 2025-03-31 a PaymentIntent names its invoice; since then the invoice is found
        through the invoice payments list, and the subscription sits under invoice.parent.
        """
        if not pi.get("customer"):
            return None  # subscriptions always have a customer; one-off gifts need no lookup
        invoice_id = _id(pi.get("invoice"))
        if invoice_id is None and "invoice" not in pi:
            try:
                found = self._call("find invoice payment", lambda: self.v1.invoice_payments.list(
                    params={"payment": {"type": "payment_intent", "payment_intent": pi["id"]}, "limit": 1}))
                data = found.to_dict().get("data") or []
                invoice_id = _id(data[0].get("invoice")) if data else None
            except NotFound:
                invoice_id = None
            except ProviderError as exc:
                if exc.retryable:
                    raise  # try again later rather than book an instalment as a one-off gift
                invoice_id = None
        if not invoice_id:
            return None
        inv = self._call("get invoice", lambda: self.v1.invoices.retrieve(invoice_id)).to_dict()
        return _id(inv.get("subscription")) or _id(
            ((inv.get("parent") or {}).get("subscription_details") or {}).get("subscription"))

    def get_subscription(self, customer_id: str, subscription_id: str) -> SubscriptionState:
        sub = self._call("get subscription", lambda: self.v1.subscriptions.retrieve(subscription_id)).to_dict()
        return self._subscription(sub)

    @staticmethod
    def _subscription(sub: Mapping[str, Any]) -> SubscriptionState:
        return SubscriptionState(provider=Provider.STRIPE, subscription_id=sub["id"],
                                 customer_id=_id(sub.get("customer")),
                                 status=_SUBSCRIPTION_STATUS.get(str(sub.get("status")), SubscriptionStatus.ACTIVE),
                                 metadata=_metadata(sub.get("metadata")))

    # --- webhooks ------------------------------------------------------------------------------------------
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> IncomingEvent:
        if not self._secret:
            raise WebhookSignatureError("no Stripe webhook secret configured (DONORCRM_STRIPE_WEBHOOK_SECRET)")
        signature = headers.get("stripe-signature") or headers.get("Stripe-Signature")
        if not signature:
            raise WebhookSignatureError("missing Stripe-Signature header")
        try:
            stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature, self._secret, self._tolerance)
            event = json.loads(body)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
            raise WebhookSignatureError("Stripe signature does not verify") from None
        obj = (event.get("data") or {}).get("object") or {}
        if not isinstance(event.get("id"), str) or not isinstance(obj, dict):
            raise WebhookSignatureError("not a Stripe event")
        return IncomingEvent(provider=Provider.STRIPE, event_id=event["id"], event_type=str(event.get("type")),
                             object_id=str(obj.get("id") or ""), data=obj)

    def _payment_of(self, obj: Mapping[str, Any]) -> str | None:
        """The PaymentIntent an event object belongs to (charges and refunds name it, or their charge does)."""
        pi = _id(obj.get("payment_intent"))
        if pi:
            return pi
        charge = _id(obj.get("charge"))
        if charge:
            ch = self._call("get charge", lambda: self.v1.charges.retrieve(charge)).to_dict()
            return _id(ch.get("payment_intent"))
        return None

    def resolve(self, event: IncomingEvent) -> Resolution:
        kind, obj = event.event_type, event.data
        try:
            if kind.startswith("payment_intent."):
                return Resolution(payments=(self.get_payment(event.object_id),))
            if kind.startswith("charge.dispute."):
                return self._dispute(obj)
            if kind.startswith(("charge.", "refund.")) or kind == "charge.refund.updated":
                pi = self._payment_of(obj)
                if not pi:
                    return Resolution(ignored="charge without a payment intent")
                return Resolution(payments=(self.get_payment(pi),))
            if kind in ("invoice.paid", "invoice.payment_succeeded"):
                pi = _id(obj.get("payment_intent"))
                return Resolution(payments=(self.get_payment(pi),)) if pi else Resolution(
                    ignored="invoice without a payment intent (its payment_intent event books it)")
            if kind.startswith("customer.subscription."):
                return Resolution(subscriptions=(self._subscription(obj),))
        except NotFound:
            return Resolution(ignored="object unknown to Stripe")
        return Resolution(ignored=f"event type {kind} is not used")

    def _dispute(self, obj: Mapping[str, Any]) -> Resolution:
        """A dispute (chargeback) from the signed payload, together with the payment's current state."""
        pi = self._payment_of(obj)
        if not pi:
            return Resolution(ignored="dispute without a payment intent")
        state = self.get_payment(pi)
        if str(obj.get("status", "")).startswith("warning_"):
            return Resolution(payments=(state,))  # an inquiry: no funds withdrawn, nothing to reverse
        cb = self._chargeback(obj, pi)  # the signed payload is the newest word on this dispute
        others = tuple(c for c in state.chargebacks if c.chargeback_id != cb.chargeback_id)
        return Resolution(payments=(replace(state, chargebacks=(*others, cb)),))

    # --- sync and payouts ----------------------------------------------------------------------------------
    def payments_since(self, since: dt.datetime) -> Iterator[str]:
        for pi in self._list("list payment intents", lambda p: self.v1.payment_intents.list(params=p),
                             {"created": {"gte": int(since.timestamp())}}):
            yield str(pi["id"])

    def payouts_since(self, since: dt.datetime) -> Iterator[Payout]:
        for po in self._list("list payouts", lambda p: self.v1.payouts.list(params=p),
                             {"created": {"gte": int(since.timestamp())}}):
            yield self._payout(po)

    def _payout(self, po: Mapping[str, Any]) -> Payout:
        lines: list[PayoutLine] = []
        for txn in self._list("list balance transactions", lambda p: self.v1.balance_transactions.list(params=p),
                              {"payout": po["id"]}):
            kind = {"charge": LineKind.PAYMENT, "payment": LineKind.PAYMENT, "refund": LineKind.REFUND,
                    "adjustment": LineKind.CHARGEBACK, "payment_refund": LineKind.REFUND}.get(
                str(txn.get("type")), LineKind.OTHER)
            if txn.get("type") == "payout":
                continue
            source = _id(txn.get("source")) or str(txn["id"])
            charge_ref = source if source.startswith(("ch_", "py_")) else None
            lines.append(PayoutLine(kind=kind, object_id=source, payment_id=None,
                                    gross=money_of(txn["amount"], txn["currency"]),
                                    fee=money_of(txn.get("fee") or 0, txn["currency"]), charge_ref=charge_ref))
        return Payout(provider=Provider.STRIPE, payout_id=str(po["id"]), status=str(po.get("status")),
                      amount=money_of(po["amount"], po["currency"]), paid_on=_date(po.get("arrival_date")),
                      reference=po.get("statement_descriptor") or None, lines=tuple(lines))
