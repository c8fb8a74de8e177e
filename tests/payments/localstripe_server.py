"""Run localstripe for the tests: bound to 127.0.0.1 on the given port, state in memory only.

Usage: python localstripe_server.py PORT

Plain `localstripe` listens on all interfaces and pickles its store to /tmp after every write; this
wrapper turns both off. It also fills two gaps of localstripe that the payout import needs, and says so:
- list filters `created[gte]` (payment intents, payouts) and `payout` (balance transactions), which
  localstripe rejects with 400;
- POST /_test/payouts/{id}/transactions {"transactions": [{"source": "ch_...", "fee": 25}]}: put charge and
  refund balance transactions into a payout with a fee, because localstripe neither links balance
  transactions to payouts nor charges fees.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources

resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]

from localstripe.server import app  # noqa: E402  (after the patches: importing builds the store)

_PAYOUT_TXNS: dict[str, list[str]] = {}
_generic_list = resources.StripeObject._api_list_all.__func__  # type: ignore[attr-defined]
_txn_list = resources.BalanceTransaction._api_list_all.__func__  # type: ignore[attr-defined]


def _created_filter(li, created):  # type: ignore[no-untyped-def]
    if isinstance(created, dict):
        gte = int(created.get("gte", 0))
        li._list = [o for o in li._list if getattr(o, "created", 0) >= gte]
    return li


def _with_created(cls):  # type: ignore[no-untyped-def]
    original = cls._api_list_all.__func__

    @classmethod  # type: ignore[misc]
    def list_all(klass, url, created=None, **kwargs):  # type: ignore[no-untyped-def]
        return _created_filter(original(klass, url, **kwargs), created)

    cls._api_list_all = list_all


for _cls in (resources.PaymentIntent, resources.Payout):
    _with_created(_cls)


@classmethod  # type: ignore[misc]
def _txn_list_all(cls, url, payout=None, type=None, created=None, **kwargs):  # type: ignore[no-untyped-def]
    li = _txn_list(cls, url, **kwargs)
    if payout is not None:
        ids = set(_PAYOUT_TXNS.get(payout, []))
        li._list = [t for t in li._list if t.id in ids]
    if type is not None:
        li._list = [t for t in li._list if t.type == type]
    return _created_filter(li, created)


resources.BalanceTransaction._api_list_all = _txn_list_all


async def _link_payout(request: web.Request) -> web.Response:
    payout_id = request.match_info["id"]
    data = await request.json()
    txns = [v for k, v in resources.store.items() if k.startswith("balance_transaction:")]
    linked = _PAYOUT_TXNS.setdefault(payout_id, [])
    for item in data["transactions"]:
        txn = next((t for t in txns if t.source == item["source"]), None)
        if txn is None:
            return web.json_response({"error": f"no balance transaction for {item['source']}"}, status=404)
        txn.fee = int(item.get("fee", 0))
        txn.fee_details = [{"amount": txn.fee, "currency": txn.currency, "type": "stripe_fee",
                            "description": "Stripe processing fees"}] if txn.fee else []
        linked.append(txn.id)
    return web.json_response({"linked": linked})


app.router.add_post("/_test/payouts/{id}/transactions", _link_payout)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
