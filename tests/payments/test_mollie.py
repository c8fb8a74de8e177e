"""Mollie through the real mollie-api-python client against the local v2 server."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from donorcrm.commitments.models import Commitment, CommitmentStatus
from donorcrm.db import session_scope
from donorcrm.donors.models import DonorCreate
from donorcrm.errors import InvalidState
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.payments import service
from donorcrm.payments.events import retry_parked
from donorcrm.payments.models import PaymentEvent, ProviderFee, ProviderPayment, ProviderSubscription
from donorcrm.payments.mollie_provider import MollieProvider
from donorcrm.payments.payouts import import_payouts, reconcile
from donorcrm.payments.sync import sync
from donorcrm.payments.types import PaymentStatus
from tests import factories
from tests.payments.conftest import MOLLIE_KEY, ledger, net
from tests.payments.mollie_server import MollieServer

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _call(hooks: TestClient, payment_id: str) -> dict:
    resp = hooks.post("/mollie", content=f"id={payment_id}",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    return {"status": resp.status_code, **resp.json()}


def _one_off(engine: Engine, provider: MollieProvider, cents: int = 2500, **kw: object) -> tuple[str, int]:
    with session_scope(engine) as s:
        donor_id = kw.pop("donor_id", None) or factories.donor(s).id
        started, donor_id = service.start_one_off(
            s, provider, amount=Money(cents), description="December appeal", donor_id=donor_id,
            redirect_url="https://giving.example.org/thanks", method="ideal", **kw)  # type: ignore[arg-type]
    return started.payment_id, donor_id


def test_one_off_for_a_new_donor_is_booked_once_however_often_mollie_calls(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    with session_scope(engine) as s:
        started, donor_id = service.start_one_off(
            s, mollie_provider, amount=Money(2500), description="Crowdfunding",
            new_donor=DonorCreate(first_name="Fatima", last_name="El Amrani", email="fatima@example.org"),
            redirect_url="https://giving.example.org/thanks", method="ideal", category="individual_crowdfunding")
    assert started.checkout_url.startswith(mollie.url)  # type: ignore[union-attr]
    assert _call(hooks, started.payment_id)["outcome"] == "processed"  # still open: nothing to book
    mollie.state.pay(started.payment_id)
    first = _call(hooks, started.payment_id)
    again = _call(hooks, started.payment_id)
    assert (first["status"], first["duplicate"]) == (200, False)
    assert (again["status"], again["duplicate"]) == (200, True)
    with Session(engine) as s:
        gifts = s.execute(select(Gift).where(Gift.source == "mollie")).scalars().all()
        assert [(g.amount_minor, g.donor_id, g.channel, g.category, g.external_ref) for g in gifts] == [
            (2500, donor_id, "ideal", "individual_crowdfunding", started.payment_id)]
        events = s.execute(select(PaymentEvent)).scalars().all()
        assert len(events) == 2 and {e.outcome for e in events} == {"processed"}


def test_a_forged_or_unknown_id_invents_no_money(engine: Engine, mollie: MollieServer,
                                                  mollie_provider: MollieProvider, hooks: TestClient) -> None:
    assert _call(hooks, "tr_doesnotexist")["outcome"] == "ignored"
    assert hooks.post("/mollie", content="id=", headers={"Content-Type": "application/x-www-form-urlencoded"}
                      ).status_code == 400
    assert hooks.post("/mollie", content="nothing").status_code == 400
    with Session(engine) as s:
        assert ledger(s, "mollie") == []
        assert [e.outcome for e in s.execute(select(PaymentEvent)).scalars()] == ["ignored"]


def test_refunds_from_dashboard_and_from_donorcrm_reverse_the_gift_once(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    pid, _ = _one_off(engine, mollie_provider, 2500)
    mollie.state.pay(pid)
    refund = mollie.state.dashboard_refund(pid, "5.00")  # before donorcrm heard of the payment at all
    _call(hooks, pid)
    _call(hooks, pid)
    with Session(engine) as s:
        assert ledger(s, "mollie") == [("gift", 2500, pid), ("refund", -2500, refund["id"]),
                                       ("gift", 2000, f"{pid}/rest/{refund['id']}")]
    with session_scope(engine) as s:
        service.refund_payment(s, mollie_provider, pid)  # the rest, from donorcrm
    _call(hooks, pid)  # Mollie's call about that refund changes nothing more
    with Session(engine) as s:
        assert net(s, "mollie") == 0
        assert [t for t, _, _ in ledger(s, "mollie")] == ["gift", "refund", "gift", "refund"]


def test_recurring_first_payment_mandate_subscription_instalments_and_chargeback(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    with session_scope(engine) as s:
        donor = factories.donor(s)
        commitment, started = service.start_recurring(
            s, mollie_provider, donor_id=donor.id, amount=Money(1000), frequency="monthly",
            description="Monthly gift", redirect_url="https://giving.example.org/thanks", method="ideal")
        commitment_id = commitment.id
    assert started.subscription_id is None and started.checkout_url
    mollie.state.pay(started.first_payment_id)  # type: ignore[arg-type]
    _call(hooks, started.first_payment_id)  # type: ignore[arg-type]
    with Session(engine) as s:
        sub = s.execute(select(ProviderSubscription)).scalars().one()
        assert sub.subscription_id in mollie.state.subscriptions and sub.mandate_id in mollie.state.mandates
        assert sub.customer_id == started.customer_id and sub.status == "active"
    instalment = mollie.state.charge_subscription(sub.subscription_id)  # type: ignore[arg-type]
    _call(hooks, instalment["id"])
    chargeback = mollie.state.chargeback(instalment["id"])
    _call(hooks, instalment["id"])
    _call(hooks, instalment["id"])  # a repeated call does not count the failure twice
    with Session(engine) as s:
        rows = s.execute(select(Gift).where(Gift.source == "mollie").order_by(Gift.id)).scalars().all()
        assert [(g.entry_type, g.amount_minor, g.commitment_id, g.category) for g in rows] == [
            ("gift", 1000, commitment_id, "individual_recurring"),
            ("gift", 1000, commitment_id, "individual_recurring"),
            ("chargeback", -1000, commitment_id, "individual_recurring")]
        assert rows[2].external_ref == chargeback["id"]
        assert s.get(Commitment, commitment_id).consecutive_failures == 1  # type: ignore[union-attr]
    assert len(mollie.state.subscriptions) == 1


def test_cancellation_is_mirrored_both_ways(engine: Engine, mollie: MollieServer,
                                            mollie_provider: MollieProvider, hooks: TestClient) -> None:
    ids = []
    for _ in range(2):
        with session_scope(engine) as s:
            donor = factories.donor(s)
            commitment, started = service.start_recurring(
                s, mollie_provider, donor_id=donor.id, amount=Money(1500), description="Monthly gift",
                redirect_url="https://giving.example.org/thanks")
            ids.append(commitment.id)
        mollie.state.pay(started.first_payment_id, method="directdebit")  # type: ignore[arg-type]
        _call(hooks, started.first_payment_id)  # type: ignore[arg-type]
    with session_scope(engine) as s:
        service.cancel_recurring(s, mollie_provider, ids[0], reason="donor asked by phone")
        theirs = service.subscription_of_commitment(s, ids[1]).subscription_id  # type: ignore[union-attr]
    mine = [k for k, v in mollie.state.subscriptions.items() if v["status"] == "canceled"]
    assert len(mine) == 1
    mollie.state.cancel_subscription_at_mollie(theirs)  # type: ignore[arg-type]
    report = sync(engine, mollie_provider, LONG_AGO)  # Mollie sends no webhook for this: sync reads it
    assert report.subscriptions_ended == 1 and report.gifts_booked == 0 and report.duplicates == 2
    with Session(engine) as s:
        assert [s.get(Commitment, i).status for i in ids] == [CommitmentStatus.CANCELLED] * 2  # type: ignore[union-attr]


def test_provider_errors_and_timeouts_park_the_call_and_a_retry_books_once(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    pid, _ = _one_off(engine, mollie_provider, 4000)
    mollie.state.pay(pid)
    mollie.state.failures = ["500"]
    assert _call(hooks, pid)["status"] == 503
    mollie.state.failures, mollie.state.hang_seconds = ["timeout"], 1.5  # longer than the client waits
    assert _call(hooks, pid)["status"] == 503
    with Session(engine) as s:
        assert ledger(s, "mollie") == []
        parked = s.execute(select(PaymentEvent)).scalars().one()
        assert (parked.outcome, parked.attempts) == ("retry", 2)
    results = retry_parked(engine, mollie_provider)
    assert [r.outcome for r in results] == ["processed"]
    assert retry_parked(engine, mollie_provider) == []
    assert _call(hooks, pid)["duplicate"] is True  # Mollie's own retry arrives later still
    with Session(engine) as s:
        assert ledger(s, "mollie") == [("gift", 4000, pid)]


def test_a_failing_subscription_start_rolls_back_and_the_retry_creates_one(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    with session_scope(engine) as s:
        donor = factories.donor(s)
        commitment, started = service.start_recurring(
            s, mollie_provider, donor_id=donor.id, amount=Money(1000), description="Monthly gift",
            redirect_url="https://giving.example.org/thanks")
    mollie.state.pay(started.first_payment_id)  # type: ignore[arg-type]
    # fetch payment ok, refunds none, then customer lookup ok and the subscription POST fails
    mollie.state.failures = []
    original = mollie.state._route

    def flaky(method, path, query, body):  # type: ignore[no-untyped-def]
        if method == "POST" and path.endswith("/subscriptions") and not getattr(flaky, "failed", False):
            flaky.failed = True  # type: ignore[attr-defined]
            original(method, path, query, body)  # Mollie created it, but the answer is lost
            from tests.payments.mollie_server import MollieError

            raise MollieError(502, "Bad Gateway", "lost answer")
        return original(method, path, query, body)

    mollie.state._route = flaky  # type: ignore[method-assign]
    assert _call(hooks, started.first_payment_id)["status"] == 503  # type: ignore[arg-type]
    with Session(engine) as s:
        assert ledger(s, "mollie") == []  # the gift rolled back with the failed step
    mollie.state.idempotent.clear()  # the lost answer was never stored for replay: worst case
    assert _call(hooks, started.first_payment_id)["outcome"] == "processed"  # type: ignore[arg-type]
    with Session(engine) as s:
        assert [t for t, _, _ in ledger(s, "mollie")] == ["gift"]
        assert s.execute(select(ProviderSubscription)).scalars().one().subscription_id is not None
    assert commitment.id is not None


def test_settlement_links_payments_records_costs_and_reports_gaps(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    a, _ = _one_off(engine, mollie_provider, 2500)
    b, _ = _one_off(engine, mollie_provider, 1000)
    c, _ = _one_off(engine, mollie_provider, 700)
    for pid in (a, b, c):
        mollie.state.pay(pid)
        _call(hooks, pid)
    refund = mollie.state.dashboard_refund(a, "5.00")
    _call(hooks, a)
    foreign = mollie.state.foreign_payment("12.50")  # in the settlement, never seen by donorcrm
    settlement = mollie.state.settle([a, b, foreign["id"]], refund_ids=(refund["id"],), cost_per_payment="0.35")
    amount = 2500 + 1000 + 1250 - 500 - 3 * 35
    first = import_payouts(engine, mollie_provider, LONG_AGO)
    again = import_payouts(engine, mollie_provider, LONG_AGO)
    assert (first.payouts, first.lines, first.unmatched) == (1, 4, 1)
    assert again.fees == 0  # nothing new on a second import
    with Session(engine) as s:
        rec = reconcile(s, "mollie")
        assert [p for p, _, _ in rec.not_paid_out] == [c]
        assert [(k, o) for _, k, o, _ in rec.unknown_in_payouts] == [("payment", foreign["id"])]
        [check] = rec.payouts
        assert check.amount == Money(amount) and check.fees == Money(105) and check.difference == Money(0)
        assert s.execute(select(ProviderPayment.payout_id).where(ProviderPayment.payment_id == a)).scalar_one() \
            == settlement["id"]
        assert [f.amount_minor for f in s.execute(select(ProviderFee)).scalars()] == [105]


def test_sync_books_what_webhooks_missed_and_is_idempotent(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider) -> None:
    paid = [_one_off(engine, mollie_provider, 1000 + i)[0] for i in range(3)]
    for pid in paid:
        mollie.state.pay(pid)
    open_one, _ = _one_off(engine, mollie_provider, 999)
    mollie.state.dashboard_refund(paid[0], "10.00")
    small_pages = MollieProvider(MOLLIE_KEY, endpoint=mollie.url, timeout=2)
    import donorcrm.payments.mollie_provider as mp

    old_page, mp._PAGE = mp._PAGE, 2  # walk the pagination links of the list endpoint
    try:
        first = sync(engine, small_pages, LONG_AGO)
        second = sync(engine, small_pages, LONG_AGO)
    finally:
        mp._PAGE = old_page
    assert (first.payments_seen, first.gifts_booked, first.reversals) == (4, 3, 1)
    assert (second.gifts_booked, second.reversals, second.duplicates) == (0, 0, 4)
    with Session(engine) as s:
        assert net(s, "mollie") == 1001 + 1002
        status = s.execute(select(ProviderPayment.status).where(ProviderPayment.payment_id == open_one)).scalar_one()
        assert status == PaymentStatus.OPEN


def test_the_same_call_delivered_concurrently_books_once(engine: Engine, mollie: MollieServer,
                                                         mollie_provider: MollieProvider) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from donorcrm.payments.events import handle_webhook

    pid, _ = _one_off(engine, mollie_provider, 3300)
    mollie.state.pay(pid)
    body = f"id={pid}".encode()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: handle_webhook(engine, mollie_provider, body, {}), range(4)))
    assert [r.http_status for r in results] == [200] * 4
    assert sum(1 for r in results if r.http_status == 200 and not r.duplicate) == 1
    retry_parked(engine, mollie_provider)
    with Session(engine) as s:
        assert ledger(s, "mollie") == [("gift", 3300, pid)]
        outcomes = [e.outcome for e in s.execute(select(PaymentEvent)).scalars()]
        assert "retry" not in outcomes


def test_a_failed_first_payment_ends_the_commitment_without_a_subscription(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    with session_scope(engine) as s:
        commitment, started = service.start_recurring(
            s, mollie_provider, donor_id=factories.donor(s).id, amount=Money(1000), description="Monthly gift",
            redirect_url="https://giving.example.org/thanks")
    mollie.state.pay(started.first_payment_id, status="failed")  # type: ignore[arg-type]
    _call(hooks, started.first_payment_id)  # type: ignore[arg-type]
    with Session(engine) as s:
        assert s.get(Commitment, commitment.id).status == CommitmentStatus.CANCELLED  # type: ignore[union-attr]
        assert ledger(s, "mollie") == []
    assert mollie.state.subscriptions == {}


def test_a_refund_that_fails_after_it_was_booked_gives_the_gift_back(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    pid, _ = _one_off(engine, mollie_provider, 2500)
    mollie.state.pay(pid)
    refund = mollie.state.dashboard_refund(pid, "25.00")
    _call(hooks, pid)
    mollie.state.refunds[refund["id"]]["status"] = "failed"  # the donor's bank account was closed
    _call(hooks, pid)
    _call(hooks, pid)
    with Session(engine) as s:
        assert ledger(s, "mollie") == [("gift", 2500, pid), ("refund", -2500, refund["id"]),
                                       ("gift", 2500, f"{refund['id']}/reversed")]


def _approved_page(s: Session, owner_id: int) -> str:
    from donorcrm.campaigns import service as campaigns

    campaigns.create_campaign(s, "RUN26", "Refugee run 2026", "peer_to_peer")
    campaigns.create_page(s, "RUN26", "amal-runs", "Amal runs 10 km", owner_donor_id=owner_id)
    campaigns.review_page(s, "amal-runs", approve=True)
    return "amal-runs"


def test_a_gift_on_a_fundraising_page_is_credited_to_the_page_once_paid(
        engine: Engine, mollie: MollieServer, mollie_provider: MollieProvider, hooks: TestClient) -> None:
    from donorcrm.campaigns import service as campaigns
    from donorcrm.campaigns.models import PageCredit

    with session_scope(engine) as s:
        owner = factories.donor(s).id
        slug = _approved_page(s, owner)
        campaigns.create_page(s, "RUN26", "not-yet", "Waiting for review", owner_donor_id=owner)
    payment_id, donor_id = _one_off(engine, mollie_provider, 4000, page=slug, page_message="Go Amal!")
    with session_scope(engine) as s, pytest.raises(InvalidState, match="pending"):
        service.start_one_off(s, mollie_provider, amount=Money(500), description="x", donor_id=donor_id,
                              redirect_url="https://giving.example.org/thanks", page="not-yet")
    with Session(engine) as s:
        assert campaigns.page_progress(s, slug).raised_minor == 0  # nothing before the money is there
    mollie.state.pay(payment_id)
    assert _call(hooks, payment_id)["duplicate"] is False
    assert _call(hooks, payment_id)["duplicate"] is True
    with Session(engine) as s:
        gift = s.execute(select(Gift).where(Gift.external_ref == payment_id)).scalars().one()
        assert gift.campaign_id == campaigns.get_campaign(s, "RUN26").id
        credits = s.execute(select(PageCredit)).scalars().all()
        assert [(c.gift_id, c.soft_credit_donor_id, c.message, c.anonymous) for c in credits] == [
            (gift.id, owner, "Go Amal!", False)]
        assert (campaigns.page_progress(s, slug).raised_minor, campaigns.page_progress(s, slug).gifts) == (4000, 1)
