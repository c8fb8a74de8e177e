"""Pure parts of the payment adapters: amounts, statuses, webhook authentication, event fingerprints."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.errors import MoneyError, WebhookSignatureError
from donorcrm.gifts.categories import PaymentChannel
from donorcrm.money import Money
from donorcrm.payments import mollie_provider, stripe_provider
from donorcrm.payments.events import state_digest
from donorcrm.payments.provider import Resolution, channel_of
from donorcrm.payments.types import PaymentState, PaymentStatus, Provider, Refund

SECRET = "whsec_unit"


def _stripe() -> stripe_provider.StripeProvider:
    return stripe_provider.StripeProvider("sk_test_unit", webhook_secret=SECRET, api_base="http://127.0.0.1:9")


def test_mollie_amounts_are_decimal_strings_and_never_rounded() -> None:
    assert mollie_provider.money_of({"value": "10.00", "currency": "EUR"}) == Money(1000)
    assert mollie_provider.money_of({"value": "1000", "currency": "JPY"}) == Money(1000, "JPY")
    assert mollie_provider.amount_of(Money(123456)) == {"currency": "EUR", "value": "1234.56"}
    with pytest.raises(MoneyError):
        mollie_provider.money_of({"value": "10.001", "currency": "EUR"})


@given(st.integers(min_value=1, max_value=10**12))
def test_mollie_amounts_round_trip(minor: int) -> None:
    money = Money(minor)
    assert mollie_provider.money_of(mollie_provider.amount_of(money)) == money


def test_stripe_amounts_are_minor_units_with_lower_case_currency() -> None:
    assert stripe_provider.money_of(2500, "eur") == Money(2500, "EUR")


@pytest.mark.parametrize(("pi", "expected"), [
    ({"status": "succeeded"}, PaymentStatus.PAID),
    ({"status": "processing"}, PaymentStatus.PENDING),
    ({"status": "requires_payment_method"}, PaymentStatus.OPEN),
    ({"status": "requires_payment_method", "last_payment_error": {"code": "card_declined"}}, PaymentStatus.FAILED),
    ({"status": "canceled"}, PaymentStatus.CANCELED),
    ({"status": "requires_action"}, PaymentStatus.OPEN),
])
def test_stripe_payment_intent_statuses(pi: dict, expected: PaymentStatus) -> None:
    assert stripe_provider.payment_status(pi) is expected


def test_channels_of_provider_methods() -> None:
    assert channel_of("ideal") is PaymentChannel.IDEAL
    assert channel_of("creditcard") is channel_of("card") is PaymentChannel.CARD
    assert channel_of("directdebit") is channel_of("sepa_debit") is PaymentChannel.SEPA_DD
    assert channel_of(None) is channel_of("klarna") is PaymentChannel.OTHER


def test_mollie_webhook_takes_exactly_one_id() -> None:
    parse = mollie_provider.MollieProvider("test_unit", endpoint="http://127.0.0.1:9").parse_webhook
    assert parse(b"id=tr_abc", {}).object_id == "tr_abc"
    for bad in (b"", b"id=", b"id=tr_a&id=tr_b", b"\xff\xfe", b"id=" + b"x" * 200):
        with pytest.raises(WebhookSignatureError):
            parse(bad, {})


def _signed(body: str, timestamp: int | None = None) -> dict[str, str]:
    return {"stripe-signature": stripe.WebhookSignature.generate_signature_header(body, SECRET, timestamp)}


def test_stripe_webhook_verifies_signature_and_tolerance() -> None:
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}})
    event = _stripe().parse_webhook(body.encode(), _signed(body))
    assert (event.event_id, event.event_type, event.object_id) == ("evt_1", "payment_intent.succeeded", "pi_1")
    with pytest.raises(WebhookSignatureError):
        _stripe().parse_webhook(body.encode(), _signed(body, int(time.time()) - 301))
    with pytest.raises(WebhookSignatureError):
        _stripe().parse_webhook(body.encode(), {})


@given(st.binary(min_size=1, max_size=40))
def test_any_change_to_a_signed_stripe_body_is_rejected(extra: bytes) -> None:
    body = json.dumps({"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}})
    with pytest.raises(WebhookSignatureError):
        _stripe().parse_webhook(body.encode() + extra, _signed(body))


def _state(status: PaymentStatus, refunds: tuple[Refund, ...] = ()) -> Resolution:
    return Resolution(payments=(PaymentState(Provider.MOLLIE, "tr_1", status, Money(1000), refunds=refunds),))


def test_state_digest_names_a_state_not_the_order_it_was_listed_in() -> None:
    r1 = Refund("re_1", "tr_1", Money(100), "pending", dt.date(2026, 11, 1))
    r2 = Refund("re_2", "tr_1", Money(200), "refunded", dt.date(2026, 11, 2))
    assert state_digest(_state(PaymentStatus.PAID, (r1, r2))) == state_digest(_state(PaymentStatus.PAID, (r2, r1)))
    assert state_digest(_state(PaymentStatus.PAID)) != state_digest(_state(PaymentStatus.OPEN))
    assert state_digest(_state(PaymentStatus.PAID, (r1,))) != state_digest(_state(PaymentStatus.PAID))
