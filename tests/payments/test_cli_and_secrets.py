"""The payments CLI against the local Mollie server, and keys kept out of reprs and logs."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from typer.testing import CliRunner

from donorcrm.config import Settings
from donorcrm.db import session_scope
from donorcrm.errors import ValidationError
from donorcrm.money import Money
from donorcrm.payments import service
from donorcrm.payments.cli import app
from donorcrm.payments.mollie_provider import MollieProvider
from donorcrm.payments.stripe_provider import StripeProvider
from tests import factories
from tests.payments.conftest import MOLLIE_KEY, STRIPE_KEY, WEBHOOK_SECRET, signed
from tests.payments.mollie_server import MollieServer


@pytest.fixture()
def env(engine: Engine, mollie: MollieServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONORCRM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DONORCRM_MOLLIE_API_KEY", MOLLIE_KEY)
    monkeypatch.setenv("DONORCRM_MOLLIE_API_ENDPOINT", mollie.url)


def test_sync_and_payouts_commands_report_as_json(env: None, engine: Engine, mollie: MollieServer,
                                                  mollie_provider: MollieProvider) -> None:
    with session_scope(engine) as s:
        started, _ = service.start_one_off(s, mollie_provider, amount=Money(2000), description="Gift",
                                           donor_id=factories.donor(s).id, redirect_url="https://x.example/")
    mollie.state.pay(started.payment_id)
    mollie.state.settle([started.payment_id])
    runner = CliRunner()
    synced = runner.invoke(app, ["sync", "--provider", "mollie", "--since", "2020-01-01", "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["gifts_booked"] == 1
    again = runner.invoke(app, ["sync", "--provider", "mollie", "--since", "2020-01-01", "--json"])
    assert json.loads(again.output)["gifts_booked"] == 0
    payouts = runner.invoke(app, ["payouts", "--provider", "mollie", "--since", "2020-01-01", "--json"])
    assert payouts.exit_code == 0, payouts.output
    data = json.loads(payouts.output)
    assert data["imported"]["payouts"] == 1 and data["not_paid_out"] == [] and data["unknown_in_payouts"] == []
    assert data["payouts"][0]["difference"] == "EUR 0.00"
    assert MOLLIE_KEY not in synced.output + payouts.output


def test_missing_key_and_bad_date_are_user_errors(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONORCRM_MOLLIE_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["sync", "--provider", "mollie"])
    assert result.exit_code != 0 and isinstance(result.exception, ValidationError)
    monkeypatch.setenv("DONORCRM_MOLLIE_API_KEY", MOLLIE_KEY)
    result = CliRunner().invoke(app, ["sync", "--provider", "mollie", "--since", "1-11-2026"])
    assert isinstance(result.exception, ValidationError)
    result = CliRunner().invoke(app, ["sync", "--provider", "paypal"])
    assert isinstance(result.exception, ValidationError)


def test_keys_stay_out_of_reprs_and_logs(engine: Engine, localstripe_url: str, caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONORCRM_STRIPE_API_KEY", STRIPE_KEY)
    monkeypatch.setenv("DONORCRM_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    settings = Settings.from_env()
    provider = StripeProvider(STRIPE_KEY, webhook_secret=WEBHOOK_SECRET, api_base="http://127.0.0.1:9", timeout=1,
                              max_network_retries=0)
    hooks = TestClient(create_app_for(engine, provider))
    caplog.set_level(logging.DEBUG)
    hooks.post("/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    body, headers = signed("payment_intent.succeeded", {"id": "pi_unreachable", "object": "payment_intent"})
    assert hooks.post("/stripe", content=body, headers=headers).status_code == 503
    text = caplog.text + repr(settings) + repr(provider) + repr(MollieProvider(MOLLIE_KEY, endpoint="http://x"))
    assert STRIPE_KEY not in text and WEBHOOK_SECRET not in text and MOLLIE_KEY not in text


def create_app_for(engine: Engine, provider: StripeProvider):  # type: ignore[no-untyped-def]
    from donorcrm.payments.types import Provider
    from donorcrm.payments.webhooks import create_app

    return create_app(engine, {Provider.STRIPE: provider}, settings=Settings())
