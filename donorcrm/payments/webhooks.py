"""The webhook endpoint: a small Starlette (ASGI) app for Stripe and Mollie calls.

Run it behind the charity's web server (TLS terminates there):

    DONORCRM_DATABASE_URL=postgresql://... DONORCRM_STRIPE_API_KEY=... DONORCRM_STRIPE_WEBHOOK_SECRET=... \\
    DONORCRM_MOLLIE_API_KEY=... uvicorn --factory donorcrm.payments.webhooks:create_app --host 127.0.0.1 --port 8081

or `donorcrm payments serve`. Routes: POST /stripe, POST /mollie, GET /health, and the public crowdfunding
pages GET /c/{slug} (HTML, embeddable) and GET /c/{slug}.json. Configure the public URLs
(e.g. https://giving.example.org/hooks/stripe) in the providers' dashboards and set
DONORCRM_PAYMENTS_WEBHOOK_BASE_URL to the common prefix so payments created by donorcrm name the Mollie URL.

Answers: 200 when the call is handled or a duplicate (also for unknown Mollie ids, so nothing leaks);
400 for a bad or missing Stripe signature (nothing is written); 503 when the provider could not be asked
(the event is parked and the provider will call again); 404 for a provider that is not configured.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from donorcrm.config import Settings, get_settings
from donorcrm.db import get_engine
from donorcrm.errors import WebhookSignatureError
from donorcrm.payments.events import handle_webhook
from donorcrm.payments.provider import PaymentProvider, get_provider
from donorcrm.payments.types import Provider

log = logging.getLogger("donorcrm.payments.webhooks")

MAX_BODY = 512 * 1024  # Stripe events are a few kB; anything larger is not a provider call


def _configured(settings: Settings) -> dict[Provider, PaymentProvider]:
    found: dict[Provider, PaymentProvider] = {}
    if settings.stripe_api_key and settings.stripe_webhook_secret:
        found[Provider.STRIPE] = get_provider(Provider.STRIPE, settings)
    if settings.mollie_api_key:
        found[Provider.MOLLIE] = get_provider(Provider.MOLLIE, settings)
    return found


def create_app(engine: Engine | None = None, providers: dict[Provider, PaymentProvider] | None = None,
               settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url if settings.database_url else None)
    providers = providers if providers is not None else _configured(settings)

    async def receive(request: Request) -> Response:
        try:
            which = Provider(request.path_params["provider"])
        except ValueError:
            return PlainTextResponse("unknown provider", status_code=404)
        provider = providers.get(which)
        if provider is None:
            return PlainTextResponse("provider not configured", status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            result = await run_in_threadpool(handle_webhook, engine, provider, body, headers)
        except WebhookSignatureError as exc:
            log.warning("%s webhook rejected: %s", which.value, exc)
            return PlainTextResponse("invalid signature", status_code=400)
        except Exception:  # never show internals to the caller; the provider will retry
            log.exception("%s webhook failed", which.value)
            return PlainTextResponse("error", status_code=500)
        return JSONResponse({"outcome": result.outcome, "duplicate": result.duplicate},
                            status_code=result.http_status)

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True, "providers": sorted(p.value for p in providers)})

    from donorcrm.campaigns.public import routes as campaign_pages

    return Starlette(routes=[
        Route("/health", health, methods=["GET"]),
        *campaign_pages,  # GET /c/{slug}: the public crowdfunding pages live beside the webhooks
        Route("/{provider}", receive, methods=["POST"]),
    ])
