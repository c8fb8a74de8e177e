"""Mollie adapter (mollie-api-python). Mollie webhooks carry only an id: every fact is fetched from the API.

So a forged call can at most make us look up a payment; it cannot invent money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qs

from mollie.api.client import Client
from mollie.api.error import Error as MollieError
from mollie.api.error import NotFoundError, RequestError, ResponseError

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

_PAYMENT_STATUS = {
    "open": PaymentStatus.OPEN,
    "pending": PaymentStatus.PENDING,
    "authorized": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "failed": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
    "expired": PaymentStatus.EXPIRED,
}
_SUBSCRIPTION_STATUS = {
    "pending": SubscriptionStatus.PENDING,
    "active": SubscriptionStatus.ACTIVE,
    "canceled": SubscriptionStatus.CANCELED,
    "suspended": SubscriptionStatus.SUSPENDED,
    "completed": SubscriptionStatus.COMPLETED,
}
_PAGE = 250


def money_of(amount: Mapping[str, str] | None, currency: str = "EUR") -> Money:
    """Mollie sends {"currency": "EUR", "value": "10.00"}: decimal strings, never floats."""
    if not amount:
        return Money.zero(currency)
    return Money.from_decimal(str(amount["value"]), str(amount["currency"]))


def amount_of(money: Money) -> dict[str, str]:
    return {"currency": money.currency, "value": money.to_string()}


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC).date()


def _dt(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _metadata(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    return {}


def _interval(months: int) -> str:
    return "1 month" if months == 1 else f"{months} months"


class MollieProvider:
    name = Provider.MOLLIE

    def __init__(self, api_key: str, *, endpoint: str = "", timeout: float = 20.0, webhook_url: str = "") -> None:
        if not api_key:
            raise ValidationError("no Mollie API key: set DONORCRM_MOLLIE_API_KEY")
        self._client = Client(api_endpoint=endpoint, timeout=(5, timeout), retry=1)  # type: ignore[arg-type]
        self._client.set_api_key(api_key)
        self._webhook_url = webhook_url

    @classmethod
    def from_settings(cls, settings: Settings) -> MollieProvider:
        base = settings.payments_webhook_base_url.rstrip("/")
        return cls(settings.mollie_api_key, endpoint=settings.mollie_api_endpoint,
                   timeout=float(settings.provider_timeout_seconds),
                   webhook_url=f"{base}/mollie" if base else "")

    def __repr__(self) -> str:  # never show the key
        return f"MollieProvider(endpoint={self._client.api_endpoint!r})"

    # --- calling the API ---------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call, turning the SDK's errors into ours (retryable or not)."""
        try:
            return fn()
        except NotFoundError:
            raise NotFound(f"mollie: {what}: not found") from None
        except ResponseError as exc:
            status = int(exc.status or 0)
            raise ProviderError("mollie", str(status), f"{what}: {exc}", retryable=status >= 500 or status == 429) \
                from None
        except RequestError as exc:  # connection refused, timeout
            raise ProviderError("mollie", "network", f"{what}: {type(exc).__name__}", retryable=True) from None
        except MollieError as exc:  # a response we could not read (proxy error page, truncated body)
            raise ProviderError("mollie", "response", f"{what}: {type(exc).__name__}", retryable=True) from None

    def _webhook(self, given: str | None) -> dict[str, str]:
        url = given or self._webhook_url
        return {"webhookUrl": url} if url else {}

    # --- starting and stopping -----------------------------------------------------------------------------
    def create_payment(self, request: OneOffRequest) -> StartedPayment:
        data: dict[str, Any] = {
            "amount": amount_of(request.amount), "description": request.description[:255],
            "redirectUrl": request.redirect_url, "metadata": dict(request.metadata),
            **self._webhook(request.webhook_url),
        }
        if request.method:
            data["method"] = request.method
        payment = self._call("create payment", lambda: self._client.payments.create(data))
        return StartedPayment(payment_id=payment["id"], status=_PAYMENT_STATUS.get(payment["status"],
                              PaymentStatus.OPEN), checkout_url=payment.checkout_url)

    def start_recurring(self, request: RecurringRequest) -> StartedRecurring:
        """First payment (sequenceType first) for a new customer; the subscription follows once it is paid."""
        customer_data: dict[str, Any] = {"name": request.name, "metadata": dict(request.metadata)}
        if request.email:
            customer_data["email"] = request.email
        customer = self._call("create customer", lambda: self._client.customers.create(customer_data))
        data: dict[str, Any] = {
            "amount": amount_of(request.amount), "description": request.description[:255],
            "sequenceType": "first", "redirectUrl": request.redirect_url,
            "metadata": dict(request.metadata), **self._webhook(request.webhook_url),
        }
        if request.method:
            data["method"] = request.method
        payment = self._call("create first payment", lambda: customer.payments.create(data))
        return StartedRecurring(customer_id=customer["id"], subscription_id=None, mandate_id=None,
                                first_payment_id=payment["id"], checkout_url=payment.checkout_url)

    def create_subscription(self, customer_id: str, mandate_id: str | None, request: RecurringRequest) -> str:
        customer = self._call("get customer", lambda: self._client.customers.get(customer_id))
        data: dict[str, Any] = {
            "amount": amount_of(request.amount), "interval": _interval(request.interval_months),
            "description": request.description[:255], "metadata": dict(request.metadata),
            **self._webhook(request.webhook_url),
        }
        if request.start_date:
            data["startDate"] = request.start_date.isoformat()
        if mandate_id:
            data["mandateId"] = mandate_id
        key = f"donorcrm-sub-{customer_id}-{request.metadata.get('commitment_id', '')}"
        sub = self._call("create subscription", lambda: customer.subscriptions.create(data, idempotency_key=key))
        return str(sub["id"])

    def cancel_recurring(self, customer_id: str, subscription_id: str) -> None:
        customer = self._call("get customer", lambda: self._client.customers.get(customer_id))
        try:
            self._call("cancel subscription", lambda: customer.subscriptions.delete(subscription_id))
        except NotFound:
            pass  # already gone on Mollie's side: the wish is fulfilled

    def refund(self, payment_id: str, amount: Money | None, *, idempotency_key: str) -> Refund:
        payment = self._call("get payment", lambda: self._client.payments.get(payment_id))
        if amount is None:
            amount = money_of(payment.get("amountRemaining") or payment["amount"])
        data = {"amount": amount_of(amount), "description": "Refund"}
        refund = self._call("refund", lambda: payment.refunds.create(data, idempotency_key=idempotency_key))
        return self._refund(refund, payment_id)

    # --- reading -----------------------------------------------------------------------------------------
    @staticmethod
    def _refund(raw: Mapping[str, Any], payment_id: str) -> Refund:
        return Refund(refund_id=raw["id"], payment_id=raw.get("paymentId") or payment_id,
                      amount=money_of(raw["amount"]), status=str(raw.get("status", "pending")),
                      created_on=_date(raw.get("createdAt")) or dt.date.today())

    def get_payment(self, payment_id: str) -> PaymentState:
        p = self._call("get payment", lambda: self._client.payments.get(payment_id))
        refunds: tuple[Refund, ...] = ()
        chargebacks: tuple[Chargeback, ...] = ()
        if money_of(p.get("amountRefunded"), p["amount"]["currency"]).minor or p.has_refunds():
            refunds = tuple(self._refund(r, payment_id)
                            for r in self._all(lambda: p.refunds.list(limit=_PAGE)))
        if money_of(p.get("amountChargedBack"), p["amount"]["currency"]).minor or p.has_chargebacks():
            chargebacks = tuple(
                Chargeback(chargeback_id=c["id"], payment_id=payment_id, amount=money_of(c["amount"]),
                           created_on=_date(c.get("createdAt")) or dt.date.today(),
                           reversed=bool(c.get("reversedAt")))
                for c in self._all(lambda: p.chargebacks.list(limit=_PAGE)))
        return PaymentState(
            provider=Provider.MOLLIE, payment_id=p["id"], status=_PAYMENT_STATUS.get(p["status"], PaymentStatus.OPEN),
            amount=money_of(p["amount"]), method=p.get("method"), paid_on=_date(p.get("paidAt")),
            customer_id=p.get("customerId"), subscription_id=p.get("subscriptionId"),
            mandate_id=p.get("mandateId"), sequence=p.get("sequenceType"), settlement_id=p.get("settlementId"),
            metadata=_metadata(p.get("metadata")), refunds=refunds, chargebacks=chargebacks,
        )

    def get_subscription(self, customer_id: str, subscription_id: str) -> SubscriptionState:
        customer = self._call("get customer", lambda: self._client.customers.get(customer_id))
        s = self._call("get subscription", lambda: customer.subscriptions.get(subscription_id))
        return SubscriptionState(provider=Provider.MOLLIE, subscription_id=s["id"], customer_id=customer_id,
                                 status=_SUBSCRIPTION_STATUS.get(s["status"], SubscriptionStatus.ACTIVE),
                                 mandate_id=s.get("mandateId"), metadata=_metadata(s.get("metadata")))

    def _all(self, first_page: Callable[[Any], Any] | Callable[[], Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following the `next` links (the SDK keeps them under its endpoint)."""
        page = self._call("list", first_page)  # type: ignore[arg-type]
        while page is not None:
            yield from (dict(item) for item in page)
            page = self._call("list next page", page.get_next) if page.has_next() else None

    # --- webhooks ------------------------------------------------------------------------------------------
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> IncomingEvent:
        """Mollie posts `id=tr_...` (form-encoded); nothing else is trusted, so there is nothing to verify."""
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError:
            raise WebhookSignatureError("mollie webhook body is not text") from None
        ids = fields.get("id") or []
        if len(ids) != 1 or not ids[0] or len(ids[0]) > 80:
            raise WebhookSignatureError("mollie webhook without a single id")
        object_id = ids[0].strip()
        kind = "payment" if object_id.startswith("tr_") else "unknown"
        return IncomingEvent(provider=Provider.MOLLIE, event_id=object_id, event_type=kind, object_id=object_id)

    def resolve(self, event: IncomingEvent) -> Resolution:
        if event.event_type != "payment":
            return Resolution(ignored=f"not a payment id: {event.object_id[:20]}")
        try:
            return Resolution(payments=(self.get_payment(event.object_id),))
        except NotFound:
            return Resolution(ignored="unknown payment id")

    # --- sync and settlements ------------------------------------------------------------------------------
    def payments_since(self, since: dt.datetime) -> Iterator[str]:
        """Mollie lists newest first: walk pages until payments are older than `since`."""
        for item in self._all(lambda: self._client.payments.list(limit=_PAGE)):
            created = _dt(item.get("createdAt"))
            if created is not None and created < since:
                return
            yield str(item["id"])

    def payouts_since(self, since: dt.datetime) -> Iterator[Payout]:
        for raw in self._all(lambda: self._client.settlements.list(limit=_PAGE)):
            when = _dt(raw.get("settledAt")) or _dt(raw.get("createdAt"))
            if when is not None and when < since:
                return
            yield self._settlement(raw["id"])

    def _settlement(self, settlement_id: str) -> Payout:
        s = self._call("get settlement", lambda: self._client.settlements.get(settlement_id))
        lines: list[PayoutLine] = []
        for p in self._all(lambda: s.payments.list(limit=_PAGE)):
            gross = money_of(p.get("settlementAmount") or p["amount"])
            lines.append(PayoutLine(LineKind.PAYMENT, p["id"], p["id"], gross, Money.zero(gross.currency)))
        for r in self._all(lambda: s.refunds.list(limit=_PAGE)):
            gross = money_of(r.get("settlementAmount") or r["amount"])
            gross = -abs(gross)
            lines.append(PayoutLine(LineKind.REFUND, r["id"], r.get("paymentId"), gross, Money.zero(gross.currency)))
        for c in self._all(lambda: s.chargebacks.list(limit=_PAGE)):
            gross = -abs(money_of(c.get("settlementAmount") or c["amount"]))
            lines.append(PayoutLine(LineKind.CHARGEBACK, c["id"], c.get("paymentId"), gross,
                                    Money.zero(gross.currency)))
        costs: list[tuple[str, Money]] = []
        for year, months in sorted((s.get("periods") or {}).items()):
            for month, period in sorted(months.items()):
                for cost in period.get("costs") or []:
                    label = f"{year}-{month} {cost.get('description') or cost.get('method') or 'costs'}"
                    costs.append((label, money_of(cost["amountGross"])))
        return Payout(provider=Provider.MOLLIE, payout_id=s["id"], status=str(s["status"]),
                      amount=money_of(s["amount"]), paid_on=_date(s.get("settledAt")),
                      reference=s.get("reference"), lines=tuple(lines), period_costs=tuple(costs))
