"""Stripe through the real stripe SDK against localstripe; webhooks signed with Stripe's scheme.

localstripe has no disputes, no SEPA mandates and sends no refund events: those events are built here
from objects read back from localstripe and signed like Stripe signs them.
"""

from __future__ import annotations

import datetime as dt
import time

import requests
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from donorcrm.commitments.models import Commitment, CommitmentStatus
from donorcrm.db import session_scope
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.payments import service
from donorcrm.payments.events import retry_parked
from donorcrm.payments.models import PaymentEvent, ProviderFee, ProviderPayment
from donorcrm.payments.payouts import import_payouts, reconcile
from donorcrm.payments.stripe_provider import StripeProvider
from donorcrm.payments.sync import sync
from tests import factories
from tests.payments.conftest import STRIPE_KEY, WEBHOOK_SECRET, ledger, net, signed

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _post(hooks: TestClient, body: bytes, headers: dict[str, str]) -> dict:
    resp = hooks.post("/stripe", content=body, headers=headers)
    return {"status": resp.status_code, **(resp.json() if resp.headers.get("content-type", "").startswith(
        "application/json") else {"text": resp.text})}


def _pi(provider: StripeProvider, pi_id: str) -> dict:
    return provider.v1.payment_intents.retrieve(pi_id).to_dict()


def _card_gift(engine: Engine, provider: StripeProvider, cents: int = 2500, **kw: object) -> tuple[str, int]:
    with session_scope(engine) as s:
        donor_id = factories.donor(s).id
        started, _ = service.start_one_off(
            s, provider, amount=Money(cents), description="Gift", donor_id=donor_id,
            redirect_url="https://giving.example.org/thanks", method="card", payment_method_ref="pm_card_visa",
            **kw)  # type: ignore[arg-type]
    return started.payment_id, donor_id  # type: ignore[return-value]


def test_a_paid_payment_intent_is_booked_once_for_its_donor_campaign_and_fund(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    pi_id, donor_id = _card_gift(engine, stripe_provider, 2500)
    body, headers = signed("payment_intent.succeeded", _pi(stripe_provider, pi_id), event_id="evt_paid_1")
    first, again = _post(hooks, body, headers), _post(hooks, body, headers)
    charge_event = signed("charge.succeeded", _pi(stripe_provider, pi_id)["latest_charge"])
    third = _post(hooks, *charge_event)  # another event about the same payment
    assert (first["status"], first["outcome"], again["duplicate"]) == (200, "processed", True)
    assert third["status"] == 200
    with Session(engine) as s:
        gift = s.execute(select(Gift).where(Gift.source == "stripe")).scalars().one()
        assert (gift.amount_minor, gift.donor_id, gift.channel, gift.external_ref) == (2500, donor_id, "card", pi_id)
        assert s.execute(select(func.count()).select_from(PaymentEvent)).scalar_one() == 2


def test_bad_missing_or_stale_signatures_are_rejected_and_nothing_is_written(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    pi_id, _ = _card_gift(engine, stripe_provider)
    obj = _pi(stripe_provider, pi_id)
    forged = signed("payment_intent.succeeded", obj, secret="whsec_someone_else")
    assert _post(hooks, *forged)["status"] == 400
    body, headers = signed("payment_intent.succeeded", obj)
    assert _post(hooks, body, {})["status"] == 400
    tampered = body.replace(b'"livemode": false', b'"livemode": true')
    assert _post(hooks, tampered, headers)["status"] == 400
    stale = signed("payment_intent.succeeded", obj, timestamp=int(time.time()) - 3600)
    assert _post(hooks, *stale)["status"] == 400
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(PaymentEvent)).scalar_one() == 0
        assert ledger(s, "stripe") == []


def test_a_refund_event_before_the_payment_event_leaves_the_ledger_right(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    pi_id, _ = _card_gift(engine, stripe_provider, 2500)
    refund = stripe_provider.v1.refunds.create(params={"payment_intent": pi_id, "amount": 500}).to_dict()
    _post(hooks, *signed("charge.refund.updated", refund))  # arrives first
    _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, pi_id)))
    _post(hooks, *signed("charge.refund.updated", refund))  # and again
    with Session(engine) as s:
        assert ledger(s, "stripe") == [("gift", 2500, pi_id), ("refund", -2500, refund["id"]),
                                       ("gift", 2000, f"{pi_id}/rest/{refund['id']}")]
        assert net(s, "stripe") == 2000


def test_refund_started_in_donorcrm_reverses_the_gift(engine: Engine, stripe_provider: StripeProvider,
                                                      hooks: TestClient) -> None:
    pi_id, _ = _card_gift(engine, stripe_provider, 1800)
    _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, pi_id)))
    with session_scope(engine) as s:
        refund = service.refund_payment(s, stripe_provider, pi_id)
    assert refund.amount == Money(1800)
    with Session(engine) as s:
        assert ledger(s, "stripe") == [("gift", 1800, pi_id), ("refund", -1800, refund.refund_id)]


def _recurring(engine: Engine, provider: StripeProvider) -> tuple[int, str, str]:
    with session_scope(engine) as s:
        donor = factories.donor(s)
        commitment, started = service.start_recurring(
            s, provider, donor_id=donor.id, amount=Money(1500), frequency="monthly", description="Monthly gift",
            redirect_url="https://giving.example.org/thanks", payment_method_ref="pm_card_visa")
    assert started.subscription_id and started.mandate_id
    return int(commitment.id), started.customer_id, started.subscription_id  # type: ignore[arg-type]


def test_subscription_instalment_and_a_dispute_count_against_the_commitment(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    commitment_id, _, sub_id = _recurring(engine, stripe_provider)
    [invoice] = stripe_provider.v1.invoices.list(params={"subscription": sub_id}).to_dict()["data"]
    assert _post(hooks, *signed("invoice.payment_succeeded", invoice))["outcome"] == "processed"
    pi = _pi(stripe_provider, invoice["payment_intent"])
    dispute = {"id": "dp_1Test", "object": "dispute", "amount": pi["amount"], "currency": pi["currency"],
               "charge": pi["latest_charge"]["id"], "payment_intent": None, "status": "needs_response",
               "reason": "fraudulent", "created": int(time.time())}
    created = signed("charge.dispute.created", dispute)
    _post(hooks, *created)
    _post(hooks, *created)
    _post(hooks, *signed("charge.dispute.funds_withdrawn", dispute))  # another event, same dispute
    with Session(engine) as s:
        rows = s.execute(select(Gift).where(Gift.source == "stripe").order_by(Gift.id)).scalars().all()
        assert [(g.entry_type, g.amount_minor, g.commitment_id, g.category) for g in rows] == [
            ("gift", 1500, commitment_id, "individual_recurring"),
            ("chargeback", -1500, commitment_id, "individual_recurring")]
        assert rows[1].external_ref == "dp_1Test"
        assert s.get(Commitment, commitment_id).consecutive_failures == 1  # type: ignore[union-attr]
    won = signed("charge.dispute.closed", {**dispute, "status": "won"})
    _post(hooks, *won)
    with Session(engine) as s:
        assert net(s, "stripe") == 1500  # the money came back


def test_cancellation_is_mirrored_both_ways(engine: Engine, stripe_provider: StripeProvider,
                                            hooks: TestClient) -> None:
    mine, _, my_sub = _recurring(engine, stripe_provider)
    theirs, _, their_sub = _recurring(engine, stripe_provider)
    with session_scope(engine) as s:
        service.cancel_recurring(s, stripe_provider, mine)
    assert stripe_provider.v1.subscriptions.retrieve(my_sub).to_dict()["status"] == "canceled"
    cancelled = stripe_provider.v1.subscriptions.cancel(their_sub).to_dict()  # in Stripe's dashboard
    _post(hooks, *signed("customer.subscription.deleted", cancelled))
    with Session(engine) as s:
        assert [s.get(Commitment, i).status for i in (mine, theirs)] == [CommitmentStatus.CANCELLED] * 2  # type: ignore[union-attr]


def test_an_unreachable_stripe_parks_the_event_and_the_retry_books_once(
        engine: Engine, stripe_provider: StripeProvider, localstripe_url: str, hooks: TestClient) -> None:
    pi_id, _ = _card_gift(engine, stripe_provider, 3000)
    down = StripeProvider(STRIPE_KEY, webhook_secret=WEBHOOK_SECRET, api_base="http://127.0.0.1:9", timeout=1,
                          max_network_retries=0)
    from donorcrm.config import Settings
    from donorcrm.payments.types import Provider
    from donorcrm.payments.webhooks import create_app

    hooks_down = TestClient(create_app(engine, {Provider.STRIPE: down}, settings=Settings()))
    body, headers = signed("payment_intent.succeeded", _pi(stripe_provider, pi_id), event_id="evt_retry_1")
    assert _post(hooks_down, body, headers)["status"] == 503
    assert _post(hooks_down, body, headers)["status"] == 503
    with Session(engine) as s:
        row = s.execute(select(PaymentEvent)).scalars().one()
        assert (row.event_id, row.outcome, row.attempts) == ("evt_retry_1", "retry", 2)
        assert ledger(s, "stripe") == []
    assert [r.outcome for r in retry_parked(engine, stripe_provider)] == ["processed"]
    assert _post(hooks, body, headers)["duplicate"] is True  # Stripe's own redelivery
    with Session(engine) as s:
        assert ledger(s, "stripe") == [("gift", 3000, pi_id)]


def test_sync_books_missed_payments_once(engine: Engine, stripe_provider: StripeProvider) -> None:
    ids = [_card_gift(engine, stripe_provider, 1000 + i)[0] for i in range(3)]
    stripe_provider.v1.refunds.create(params={"payment_intent": ids[0]})
    first = sync(engine, stripe_provider, LONG_AGO)
    second = sync(engine, stripe_provider, LONG_AGO)
    assert (first.payments_seen, first.gifts_booked, first.reversals) == (3, 3, 1)
    assert (second.gifts_booked, second.reversals, second.duplicates) == (0, 0, 3)
    with Session(engine) as s:
        assert net(s, "stripe") == 1001 + 1002


def test_payout_links_payments_records_fees_and_reports_gaps(
        engine: Engine, stripe_provider: StripeProvider, localstripe_url: str, hooks: TestClient) -> None:
    a, _ = _card_gift(engine, stripe_provider, 2500)
    b, _ = _card_gift(engine, stripe_provider, 1000)
    c, _ = _card_gift(engine, stripe_provider, 700)
    for pid in (a, b, c):
        _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, pid)))
    foreign = stripe_provider.v1.payment_intents.create(params={
        "amount": 1250, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}).to_dict()
    refund = stripe_provider.v1.refunds.create(params={"payment_intent": a, "amount": 500}).to_dict()
    _post(hooks, *signed("charge.refund.updated", refund))
    fees = {a: 61, b: 40, foreign["id"]: 43}
    net_amount = 2500 + 1000 + 1250 - 500 - sum(fees.values())
    payout = stripe_provider.v1.payouts.create(params={"amount": net_amount, "currency": "eur", "status": "paid"})
    links = [{"source": _pi(stripe_provider, p)["latest_charge"]["id"], "fee": f} for p, f in fees.items()]
    links.append({"source": refund["id"], "fee": 0})
    requests.post(f"{localstripe_url}/_test/payouts/{payout.id}/transactions", json={"transactions": links},
                  headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=5).raise_for_status()
    first = import_payouts(engine, stripe_provider, LONG_AGO)
    import_payouts(engine, stripe_provider, LONG_AGO)
    assert (first.payouts, first.lines, first.unmatched, first.fees) == (1, 4, 1, 3)
    with Session(engine) as s:
        rec = reconcile(s, "stripe")
        assert [p for p, _, _ in rec.not_paid_out] == [c]
        assert [(k, o) for _, k, o, _ in rec.unknown_in_payouts] == [("payment", foreign["latest_charge"]["id"])]
        [check] = rec.payouts
        assert (check.amount, check.fees, check.difference) == (Money(net_amount), Money(144), Money(0))
        assert s.execute(select(ProviderPayment.payout_id).where(ProviderPayment.payment_id == b)).scalar_one() \
            == payout.id
        assert sorted(f.amount_minor for f in s.execute(select(ProviderFee)).scalars()) == [40, 43, 61]


def test_sepa_debit_subscription_books_when_the_debit_succeeds(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    pm = stripe_provider.v1.payment_methods.create(params={
        "type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013000"},
        "billing_details": {"name": "Jan de Vries", "email": "jan@example.org"}}).to_dict()
    with session_scope(engine) as s:
        donor = factories.donor(s)
        commitment, started = service.start_recurring(
            s, stripe_provider, donor_id=donor.id, amount=Money(2000), frequency="quarterly",
            description="Quarterly gift", redirect_url="https://giving.example.org/thanks",
            payment_method_ref=pm["id"], mandate_ref="mandate_1TestSepa")
    [invoice] = stripe_provider.v1.invoices.list(params={"subscription": started.subscription_id}).to_dict()["data"]
    deadline = time.monotonic() + 10  # localstripe settles SEPA debits asynchronously
    while _pi(stripe_provider, invoice["payment_intent"])["status"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.2)
    _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, invoice["payment_intent"])))
    with Session(engine) as s:
        gift = s.execute(select(Gift).where(Gift.source == "stripe")).scalars().one()
        assert (gift.amount_minor, gift.channel, gift.commitment_id) == (2000, "sepa_dd", commitment.id)
        assert service.subscription_of_commitment(s, commitment.id).mandate_id == "mandate_1TestSepa"  # type: ignore[arg-type,union-attr]
        plan = stripe_provider.v1.subscriptions.retrieve(started.subscription_id).to_dict()["items"]["data"][0]["plan"]
        assert (plan["interval"], plan["interval_count"]) == ("month", 3)


def test_an_inquiry_takes_no_money_and_stale_metadata_does_not_block_booking(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    pi = stripe_provider.v1.payment_intents.create(params={
        "amount": 900, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"donor_id": "987654", "campaign_id": "987654", "fund_id": "x"}}).to_dict()
    inquiry = {"id": "dp_inquiry", "object": "dispute", "amount": 900, "currency": "eur",
               "charge": pi["latest_charge"]["id"], "status": "warning_needs_response", "created": int(time.time())}
    assert _post(hooks, *signed("charge.dispute.created", inquiry))["status"] == 200
    with Session(engine) as s:
        gift = s.execute(select(Gift).where(Gift.source == "stripe")).scalars().one()
        assert (gift.amount_minor, gift.donor_id, gift.campaign_id, gift.entry_type) == (900, None, None, "gift")


def test_a_card_gift_on_a_fundraising_page_is_credited_to_the_page_and_a_closed_page_is_noted(
        engine: Engine, stripe_provider: StripeProvider, hooks: TestClient) -> None:
    from donorcrm.audit import AuditLog
    from donorcrm.campaigns import service as campaigns
    from donorcrm.campaigns.models import FundraisingPage, PageCredit, PageStatus

    with session_scope(engine) as s:
        owner = factories.donor(s).id
        campaigns.create_campaign(s, "SWIM26", "Swim for refugees", "peer_to_peer")
        campaigns.create_page(s, "SWIM26", "team-noor", "Team Noor swims", owner_donor_id=owner)
        campaigns.review_page(s, "team-noor", approve=True)
    paid_id, _ = _card_gift(engine, stripe_provider, 2000, page="team-noor", page_anonymous=True)
    late_id, _ = _card_gift(engine, stripe_provider, 1500, page="team-noor")
    assert _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, paid_id)))["status"] == 200
    with session_scope(engine) as s:  # the page closes between checkout and payment of the second gift
        s.execute(update(FundraisingPage).values(status=PageStatus.REJECTED))
    assert _post(hooks, *signed("payment_intent.succeeded", _pi(stripe_provider, late_id)))["status"] == 200
    with Session(engine) as s:
        gifts = {g.external_ref: g for g in s.execute(select(Gift).where(Gift.source == "stripe")).scalars()}
        assert {ref: g.amount_minor for ref, g in gifts.items()} == {paid_id: 2000, late_id: 1500}  # both booked
        credits = s.execute(select(PageCredit)).scalars().all()
        assert [(c.gift_id, c.anonymous) for c in credits] == [(gifts[paid_id].id, True)]
        skipped = s.execute(select(AuditLog).where(AuditLog.action == "payment.page_credit_skipped")).scalars().all()
        assert [a.entity_id for a in skipped] == [str(gifts[late_id].id)]
