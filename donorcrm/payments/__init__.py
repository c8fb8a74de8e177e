"""Online giving through payment providers (Stripe, Mollie).

Owns: the provider interface and its two adapters (``stripe_provider``, ``mollie_provider``), the tables
that mirror provider objects (events, payments, subscriptions, payouts, payout lines, fees), the service
that turns provider state into ledger rows exactly once, the webhook ASGI app and the ``payments`` CLI.
No SDK object leaves an adapter: the rest of donorcrm sees ``donorcrm.payments.types`` only.
"""
