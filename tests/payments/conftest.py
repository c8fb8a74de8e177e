"""Local provider servers for the payment tests: localstripe (real stripe SDK) and a Mollie v2 fake
(real mollie-api-python). Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from donorcrm.config import Settings
from donorcrm.gifts.models import Gift
from donorcrm.payments.mollie_provider import MollieProvider
from donorcrm.payments.stripe_provider import StripeProvider
from donorcrm.payments.types import Provider
from donorcrm.payments.webhooks import create_app
from tests.payments.mollie_server import MollieServer

STRIPE_KEY = "sk_test_donorcrm_local"
WEBHOOK_SECRET = "whsec_donorcrm_local_test_secret"
MOLLIE_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
WRAPPER = Path(__file__).with_name("localstripe_server.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe in a subprocess on a free loopback port, run from a temporary directory."""
    port = _free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(WRAPPER), str(port)], cwd=workdir, stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("localstripe did not start: " + (workdir / "server.log").read_text()) from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture()
def stripe_provider(localstripe_url: str) -> StripeProvider:
    """An adapter on an emptied localstripe (tests that list payments or payouts see only their own)."""
    requests.delete(f"{localstripe_url}/_config/data", timeout=5).raise_for_status()
    return StripeProvider(STRIPE_KEY, webhook_secret=WEBHOOK_SECRET, api_base=localstripe_url, timeout=5)


@pytest.fixture()
def mollie() -> Iterator[MollieServer]:
    with MollieServer(MOLLIE_KEY) as server:
        yield server


@pytest.fixture()
def mollie_provider(mollie: MollieServer) -> MollieProvider:
    return MollieProvider(MOLLIE_KEY, endpoint=mollie.url, timeout=1)


@pytest.fixture()
def hooks(engine: Engine, request: pytest.FixtureRequest) -> TestClient:
    """The webhook app on the test database, with whichever providers the test asked for."""
    providers: dict[Provider, Any] = {}
    if "stripe_provider" in request.fixturenames:
        providers[Provider.STRIPE] = request.getfixturevalue("stripe_provider")
    if "mollie_provider" in request.fixturenames:
        providers[Provider.MOLLIE] = request.getfixturevalue("mollie_provider")
    return TestClient(create_app(engine, providers, settings=Settings()))


def signed(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, secret: str = WEBHOOK_SECRET,
           timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A Stripe event body and its Stripe-Signature header, signed with Stripe's own scheme."""
    body = json.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": event_type,
        "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
        "data": {"object": obj},
    })
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def ledger(session: Session, source: str) -> list[tuple[str, int, str | None]]:
    rows = session.execute(select(Gift).where(Gift.source == source).order_by(Gift.id)).scalars().all()
    return [(g.entry_type, g.amount_minor, g.external_ref) for g in rows]


def net(session: Session, source: str) -> int:
    return int(session.execute(select(func.coalesce(func.sum(Gift.amount_minor), 0))
                               .where(Gift.source == source)).scalar_one())
