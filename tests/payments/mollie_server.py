"""A small local HTTP server that speaks Mollie's v2 API shapes, for the real mollie-api-python client.

Objects are built from the JSON fixtures in tests/fixtures/payments/mollie (written after Mollie's public
API reference), with every `_links` href rewritten to this server, because the client only follows links
under its own endpoint. Tests drive what happens at "Mollie" through the methods of MollieState (a donor
pays, a bank charges back, a settlement is paid out) and can make the next calls fail or hang.

Covered: payments (create, get, list with pagination), customers, customer payments, mandates,
subscriptions (create, get, list, cancel), payment refunds (create, get, list), payment chargebacks,
settlements (list, get, payments, refunds, chargebacks), API-key auth, Idempotency-Key replay, errors in
Mollie's JSON error shape.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "payments" / "mollie"
MOLLIE = "https://api.mollie.com"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _money(value: str, currency: str = "EUR") -> dict[str, str]:
    return {"value": f"{Decimal(value):.2f}", "currency": currency}


class MollieError(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class MollieState:
    """Everything "Mollie" knows, plus the switches tests use."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.base = ""
        self.lock = threading.RLock()
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.chargebacks: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.mandates: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.settlements: dict[str, dict[str, Any]] = {}
        self.settled: dict[str, dict[str, list[str]]] = {}
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[str] = []  # "500" or "timeout" for the next calls, in order
        self.hang_seconds = 3.0
        self._seq = itertools.count(1000)

    # --- building objects from fixtures -------------------------------------------------------------------
    def _fixture(self, name: str) -> dict[str, Any]:
        return json.loads((FIXTURES / f"{name}.json").read_text())

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):x}Tst"

    def _links(self, obj: dict[str, Any], replace_id: tuple[str, str] | None = None) -> dict[str, Any]:
        """Point every link at this server (and at the new object's ids)."""
        text = json.dumps(obj)
        if replace_id:
            text = text.replace(replace_id[0], replace_id[1])
        return json.loads(text.replace(MOLLIE, self.base))

    def new_payment(self, data: dict[str, Any], customer_id: str | None = None) -> dict[str, Any]:
        pid = self._id("tr_")
        p = self._fixture("payment")
        p = self._links(p, ("tr_7UhSN1zuXS", pid))
        p["_links"]["checkout"]["href"] = f"{self.base}/checkout/{pid}"
        p.update(id=pid, createdAt=_now(), amount=data["amount"], description=data.get("description", ""),
                 method=data.get("method"), metadata=data.get("metadata"), redirectUrl=data.get("redirectUrl"),
                 webhookUrl=data.get("webhookUrl"), sequenceType=data.get("sequenceType", "oneoff"), status="open")
        if customer_id:
            p["customerId"] = customer_id
        if data.get("mandateId"):
            p["mandateId"] = data["mandateId"]
        self.payments[pid] = p
        return p

    # --- what tests make happen -----------------------------------------------------------------------------
    def pay(self, payment_id: str, method: str = "ideal", status: str = "paid") -> dict[str, Any]:
        """The donor completes (or fails) the checkout; a paid first payment creates a valid mandate."""
        with self.lock:
            p = self.payments[payment_id]
            p["status"], p["method"] = status, method
            if status == "paid":
                p["paidAt"] = _now()
                p["amountRefunded"] = _money("0")
                p["amountRemaining"] = dict(p["amount"])
                p["settlementAmount"] = dict(p["amount"])
                p["_links"].pop("checkout", None)
                if p.get("sequenceType") == "first" and p.get("customerId"):
                    mandate = self._new_mandate(p["customerId"], "directdebit" if method != "creditcard" else method)
                    p["mandateId"] = mandate["id"]
            else:
                p[f"{status}At"] = _now()
            return p

    def _new_mandate(self, customer_id: str, method: str) -> dict[str, Any]:
        mid = self._id("mdt_")
        m = self._links(self._fixture("mandate"), ("mdt_h3gAaD5zP", mid))
        m = json.loads(json.dumps(m).replace("cst_8wmqcHMN4U", customer_id))
        m.update(id=mid, method=method, createdAt=_now())
        self.mandates[mid] = m
        return m

    def charge_subscription(self, subscription_id: str, status: str = "paid") -> dict[str, Any]:
        """Mollie collects one instalment of a subscription."""
        with self.lock:
            s = self.subscriptions[subscription_id]
            p = self.new_payment({"amount": s["amount"], "description": s["description"], "sequenceType": "recurring",
                                  "webhookUrl": s.get("webhookUrl"), "mandateId": s.get("mandateId")},
                                 customer_id=s["customerId"])
            p["subscriptionId"] = subscription_id
            p["_links"]["subscription"] = {
                "href": f"{self.base}/v2/customers/{s['customerId']}/subscriptions/{subscription_id}",
                "type": "application/hal+json"}
            return self.pay(p["id"], method="directdebit", status=status)

    def chargeback(self, payment_id: str, amount: str | None = None, reversed_: bool = False) -> dict[str, Any]:
        with self.lock:
            p = self.payments[payment_id]
            cid = self._id("chb_")
            c = self._links(self._fixture("chargeback"), ("chb_n9z0tp", cid))
            c = json.loads(json.dumps(c).replace("tr_7UhSN1zuXS", payment_id))
            value = amount or p["amount"]["value"]
            c.update(id=cid, amount=_money(value), settlementAmount=_money(f"-{Decimal(value)}"), createdAt=_now(),
                     reversedAt=_now() if reversed_ else None)
            self.chargebacks[cid] = c
            charged = sum(Decimal(x["amount"]["value"]) for x in self.chargebacks.values()
                          if x["paymentId"] == payment_id)
            p["amountChargedBack"] = _money(str(charged))
            p["_links"]["chargebacks"] = {"href": f"{self.base}/v2/payments/{payment_id}/chargebacks",
                                          "type": "application/hal+json"}
            return c

    def dashboard_refund(self, payment_id: str, amount: str) -> dict[str, Any]:
        """A refund made in Mollie's dashboard, not through donorcrm."""
        with self.lock:
            return self._refund(payment_id, {"amount": _money(amount)})

    def cancel_subscription_at_mollie(self, subscription_id: str) -> None:
        with self.lock:
            self.subscriptions[subscription_id].update(status="canceled", canceledAt=_now())

    def settle(self, payment_ids: list[str], refund_ids: tuple[str, ...] = (), chargeback_ids: tuple[str, ...] = (),
               cost_per_payment: str = "0.35") -> dict[str, Any]:
        """Pay out a settlement with these payments, refunds and chargebacks; costs are per payment."""
        with self.lock:
            sid = self._id("stl_")
            s = self._links(self._fixture("settlement"), ("stl_jDk30akdN", sid))
            ids = list(payment_ids)
            revenue = sum(Decimal(self.payments[p]["amount"]["value"]) for p in ids)
            revenue -= sum(Decimal(self.refunds[r]["amount"]["value"]) for r in refund_ids)
            revenue -= sum(Decimal(self.chargebacks[c]["amount"]["value"]) for c in chargeback_ids)
            costs = Decimal(cost_per_payment) * len(ids)
            period = s["periods"]["2026"]["11"]
            period["revenue"][0].update(count=len(ids), amountNet=_money(str(revenue)), amountGross=_money(str(revenue)))
            period["costs"][0].update(count=len(ids), amountGross=_money(str(costs)),
                                      amountNet=_money(str(costs)), amountVat=_money("0"))
            s.update(id=sid, reference=f"1234567.2611.{len(self.settlements) + 1:02d}", amount=_money(str(revenue - costs)),
                     createdAt=_now(), settledAt=_now(), status="paidout")
            self.settlements[sid] = s
            self.settled[sid] = {"payments": ids, "refunds": list(refund_ids), "chargebacks": list(chargeback_ids)}
            for p in ids:
                self.payments[p]["settlementId"] = sid
            return s

    def foreign_payment(self, amount: str) -> dict[str, Any]:
        """A paid payment made outside donorcrm (another shop on the same Mollie account)."""
        p = self.new_payment({"amount": _money(amount), "description": "Webshop order"})
        return self.pay(p["id"])

    # --- API handlers ---------------------------------------------------------------------------------------
    def _refund(self, payment_id: str, data: dict[str, Any]) -> dict[str, Any]:
        p = self.payments.get(payment_id)
        if p is None:
            raise MollieError(404, "Not Found", "No payment exists with token " + payment_id + ".")
        if p["status"] != "paid":
            raise MollieError(422, "Unprocessable Entity", "The payment cannot be refunded")
        remaining = Decimal(p["amountRemaining"]["value"])
        amount = Decimal(data["amount"]["value"])
        if amount > remaining:
            raise MollieError(422, "Unprocessable Entity", "The amount is higher than the amount remaining")
        rid = self._id("re_")
        r = self._links(self._fixture("refund"), ("re_4qqhO89gsT", rid))
        r = json.loads(json.dumps(r).replace("tr_7UhSN1zuXS", payment_id))
        r.update(id=rid, amount=_money(str(amount)), settlementAmount=_money(f"-{amount}"), createdAt=_now(),
                 description=data.get("description", ""), status="pending")
        self.refunds[rid] = r
        p["amountRemaining"] = _money(str(remaining - amount))
        p["amountRefunded"] = _money(str(Decimal(p["amountRefunded"]["value"]) + amount))
        p["_links"]["refunds"] = {"href": f"{self.base}/v2/payments/{payment_id}/refunds",
                                  "type": "application/hal+json"}
        return r

    def _list(self, name: str, items: list[dict[str, Any]], path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """Mollie lists: newest first, `from` cursor and `limit`, `_links.next` for the next page."""
        items = sorted(items, key=lambda x: (x.get("createdAt") or "", x["id"]), reverse=True)
        if "from" in query:
            ids = [x["id"] for x in items]
            items = items[ids.index(query["from"][0]):] if query["from"][0] in ids else []
        limit = int(query.get("limit", ["50"])[0])
        page, rest = items[:limit], items[limit:]
        links: dict[str, Any] = {"self": {"href": f"{self.base}{path}", "type": "application/hal+json"},
                                 "previous": None, "next": None}
        if rest:
            links["next"] = {"href": f"{self.base}{path}?from={rest[0]['id']}&limit={limit}",
                             "type": "application/hal+json"}
        return {"count": len(page), "_embedded": {name: page}, "_links": links}

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any],
               headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
        with self.lock:
            self.requests.append((method, path))
            if headers.get("authorization") != f"Bearer {self.api_key}":
                raise MollieError(401, "Unauthorized Request", "Missing authentication, or failed to authenticate")
            key = headers.get("idempotency-key")
            if method in ("POST", "DELETE") and key and (method, path, key) in self.idempotent:  # type: ignore[comparison-overlap]
                return self.idempotent[(method, path, key)]  # type: ignore[index]
            result = self._route(method, path, query, body)
            if method in ("POST", "DELETE") and key:
                self.idempotent[(method, path, key)] = result  # type: ignore[index]
            return result

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        parts = path.strip("/").split("/")
        if parts[0] != "v2":
            raise MollieError(404, "Not Found", "Unknown API version")
        parts = parts[1:]
        copy_of = copy.deepcopy
        match (method, parts):
            case ("POST", ["payments"]):
                return 201, copy_of(self.new_payment(body))
            case ("GET", ["payments"]):
                return 200, self._list("payments", list(self.payments.values()), path, query)
            case ("GET", ["payments", pid]):
                return 200, copy_of(self._get(self.payments, pid, "payment"))
            case ("POST", ["payments", pid, "refunds"]):
                return 201, copy_of(self._refund(pid, body))
            case ("GET", ["payments", pid, "refunds"]):
                self._get(self.payments, pid, "payment")
                return 200, self._list("refunds", [r for r in self.refunds.values() if r["paymentId"] == pid], path, query)
            case ("GET", ["payments", pid, "refunds", rid]):
                return 200, copy_of(self._get(self.refunds, rid, "refund"))
            case ("GET", ["payments", pid, "chargebacks"]):
                self._get(self.payments, pid, "payment")
                return 200, self._list("chargebacks", [c for c in self.chargebacks.values() if c["paymentId"] == pid],
                                       path, query)
            case ("POST", ["customers"]):
                cid = self._id("cst_")
                c = self._links(self._fixture("customer"), ("cst_8wmqcHMN4U", cid))
                c.update(id=cid, name=body.get("name"), email=body.get("email"), metadata=body.get("metadata"),
                         createdAt=_now())
                self.customers[cid] = c
                return 201, copy_of(c)
            case ("GET", ["customers", cid]):
                return 200, copy_of(self._get(self.customers, cid, "customer"))
            case ("POST", ["customers", cid, "payments"]):
                self._get(self.customers, cid, "customer")
                return 201, copy_of(self.new_payment(body, customer_id=cid))
            case ("GET", ["customers", cid, "mandates", mid]):
                return 200, copy_of(self._get(self.mandates, mid, "mandate"))
            case ("GET", ["customers", cid, "mandates"]):
                return 200, self._list("mandates", [m for m in self.mandates.values() if cid in m["_links"]["customer"]["href"]],
                                       path, query)
            case ("POST", ["customers", cid, "subscriptions"]):
                self._get(self.customers, cid, "customer")
                valid = [m for m in self.mandates.values() if m["status"] == "valid"
                         and m["_links"]["customer"]["href"].endswith(cid)]
                if not valid:
                    raise MollieError(422, "Unprocessable Entity", "The customer has no valid mandates")
                sid = self._id("sub_")
                s = self._links(self._fixture("subscription"), ("sub_rVKGtNd6s3", sid))
                s = json.loads(json.dumps(s).replace("cst_8wmqcHMN4U", cid))
                s.update(id=sid, amount=body["amount"], interval=body["interval"], description=body["description"],
                         startDate=body.get("startDate"), nextPaymentDate=body.get("startDate"),
                         mandateId=body.get("mandateId") or valid[0]["id"], metadata=body.get("metadata"),
                         webhookUrl=body.get("webhookUrl"), createdAt=_now(), customerId=cid, status="active")
                self.subscriptions[sid] = s
                return 201, copy_of(s)
            case ("GET", ["customers", cid, "subscriptions", sid]):
                return 200, copy_of(self._get(self.subscriptions, sid, "subscription"))
            case ("DELETE", ["customers", cid, "subscriptions", sid]):
                s = self._get(self.subscriptions, sid, "subscription")
                if s["status"] == "canceled":
                    raise MollieError(422, "Unprocessable Entity", "The subscription has been canceled")
                s.update(status="canceled", canceledAt=_now())
                return 200, copy_of(s)
            case ("GET", ["settlements"]):
                return 200, self._list("settlements", list(self.settlements.values()), path, query)
            case ("GET", ["settlements", sid]):
                return 200, copy_of(self._get(self.settlements, sid, "settlement"))
            case ("GET", ["settlements", sid, what]) if what in ("payments", "refunds", "chargebacks"):
                self._get(self.settlements, sid, "settlement")
                store = {"payments": self.payments, "refunds": self.refunds, "chargebacks": self.chargebacks}[what]
                return 200, self._list(what, [store[i] for i in self.settled[sid][what]], path, query)
        raise MollieError(404, "Not Found", f"The resource {path} does not exist")

    @staticmethod
    def _get(store: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in store:
            raise MollieError(404, "Not Found", f"No {what} exists with token {key}.")
        return store[key]


class _Handler(BaseHTTPRequestHandler):
    state: MollieState
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API; the client reuses its connection

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with state.lock:
            fault = state.failures.pop(0) if state.failures else None
        if fault == "timeout":
            time.sleep(state.hang_seconds)
            return self._send(504, {"status": 504, "title": "Gateway Timeout", "detail": "late"})
        if fault == "500":
            return self._send(500, {"status": 500, "title": "Internal Server Error", "detail": "Mollie had a hiccup"})
        try:
            body = json.loads(raw) if raw else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = state.handle(method, url.path, parse_qs(url.query), body, headers)
        except MollieError as exc:
            status, payload = exc.status, {"status": exc.status, "title": exc.title, "detail": exc.detail,
                                           "_links": {"documentation": {"href": "https://docs.mollie.com/errors",
                                                                        "type": "text/html"}}}
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any] | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/hal+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")


class MollieServer:
    """Start with `with MollieServer("test_key") as server:`; `server.url` is the endpoint for the client."""

    def __init__(self, api_key: str) -> None:
        self.state = MollieState(api_key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.state.base = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mollie-fake", daemon=True)

    def __enter__(self) -> MollieServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


