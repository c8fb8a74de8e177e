"""End to end: the webhook app under uvicorn receives events that localstripe itself signs and sends."""

from __future__ import annotations

import socket
import threading
import time

import requests
import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.config import Settings
from donorcrm.db import session_scope
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.payments import service
from donorcrm.payments.models import PaymentEvent
from donorcrm.payments.stripe_provider import StripeProvider
from donorcrm.payments.types import Provider
from donorcrm.payments.webhooks import create_app
from tests import factories
from tests.payments.conftest import STRIPE_KEY, WEBHOOK_SECRET


def test_uvicorn_app_books_a_payment_from_localstripes_own_signed_webhook(
        engine: Engine, stripe_provider: StripeProvider, localstripe_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(engine, {Provider.STRIPE: stripe_provider}, settings=Settings())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    hook = f"{localstripe_url}/_config/webhooks/donorcrm-test"
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["providers"] == ["stripe"]
        requests.post(hook, data={"url": f"http://127.0.0.1:{port}/stripe", "secret": WEBHOOK_SECRET,
                                  "events[]": "payment_intent.succeeded"},
                      headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=5).raise_for_status()
        with session_scope(engine) as s:
            started, _ = service.start_one_off(
                s, stripe_provider, amount=Money(4200), description="Gift", donor_id=factories.donor(s).id,
                redirect_url="https://giving.example.org/thanks", payment_method_ref="pm_card_visa")
        deadline = time.monotonic() + 15  # localstripe waits a second before it sends
        booked: list[Gift] = []
        while not booked and time.monotonic() < deadline:
            time.sleep(0.2)
            with Session(engine) as s:
                booked = list(s.execute(select(Gift).where(Gift.external_ref == started.payment_id)).scalars())
        assert [g.amount_minor for g in booked] == [4200]
        with Session(engine) as s:
            # (localstripe may also deliver events of payments from earlier tests: it sends a second later)
            ours = select(PaymentEvent).where(PaymentEvent.object_id == started.payment_id)
            assert [e.event_type for e in s.execute(ours).scalars()] == ["payment_intent.succeeded"]
    finally:
        # localstripe cannot forget a webhook: point it at a closed port so later tests send nowhere.
        requests.post(hook, data={"url": "http://127.0.0.1:9/", "secret": "x"},
                      headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=5)
        server.should_exit = True
        thread.join(timeout=10)
