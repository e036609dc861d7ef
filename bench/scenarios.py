"""The five scenarios: what each request looks like, for the recording, the load client and pgbench.

create_payment        POST /api/store/payments/intent/ for a pending order, unique Idempotency-Key, 10% replays
confirm_payment       POST /api/store/payments/{id}/confirm/ of a payment opened by create_payment (card on file)
webhook               POST /api/store/payments/callback/{gateway}: payment_intent.succeeded for a 3-D Secure
                      payment waiting in requires_action; 30% of deliveries repeat an event, all shuffled
list_payment_methods  GET /api/v1/me/payment-methods/ of a customer with a saved card
get_payment           GET /api/store/payments/{id}/ of one of the caller's paid orders
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from adapters.stripe_wire.mapping import ORDER_ID_KEY, PAYMENT_ID_KEY
from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign
from bench import naming
from bench.naming import SQL
from bench.seed import LINKED_CUSTOMERS

SCENARIOS = ("create_payment", "confirm_payment", "webhook", "list_payment_methods", "get_payment")
# Each scenario's plan variants, in the order the bare handler tries them, and their pgbench weights.
VARIANTS: dict[str, tuple[tuple[str, int], ...]] = {
    "create_payment": (("create", 9), ("replay", 1)),
    "confirm_payment": (("confirm", 1),),
    "webhook": (("new", 7), ("duplicate", 3)),
    "list_payment_methods": (("list", 1),),
    "get_payment": (("get", 1),),
}
REPLAY_SHARE = 0.10
DUPLICATE_SHARE = 0.30


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    meta: dict[str, Any] = field(default_factory=dict)


def create_request(token: str, order_id: str, gateway_id: str, payment_method_id: str, key: str) -> Request:
    body = json.dumps({"order_id": order_id, "gateway_id": gateway_id, "payment_method_id": payment_method_id},
                      separators=(",", ":")).encode()
    return Request("POST", "/api/store/payments/intent/",
                   {"Authorization": f"Bearer {token}", "Idempotency-Key": key, "Content-Type": "application/json"},
                   body, {"order_id": order_id, "key": key})


def confirm_request(token: str, payment_id: str, key: str) -> Request:
    return Request("POST", f"/api/store/payments/{payment_id}/confirm/",
                   {"Authorization": f"Bearer {token}", "Idempotency-Key": key}, b"", {"payment_id": payment_id})


def list_request(token: str) -> Request:
    return Request("GET", "/api/v1/me/payment-methods/", {"Authorization": f"Bearer {token}"})


def get_request(token: str, payment_id: str) -> Request:
    return Request("GET", f"/api/store/payments/{payment_id}/", {"Authorization": f"Bearer {token}"},
                   meta={"payment_id": payment_id})


class WebhookEvents:
    """payment_intent.succeeded for payment n of a pool, made from the one the sandbox sent for the template
    payment (same shape and size), each signed as the gateway signs a delivery."""

    def __init__(self, template: dict[str, Any], gateway_id: str, secret: str) -> None:
        self.gateway_id, self.secret = gateway_id, secret
        self._text = json.dumps(template, separators=(",", ":"))
        obj = template["data"]["object"]
        self._ids = (template["id"], obj["id"], obj["metadata"][PAYMENT_ID_KEY], obj["metadata"][ORDER_ID_KEY])

    def body(self, n: int, event_id: str) -> bytes:
        text = self._text
        for old, new in zip(self._ids, (event_id, naming.gateway_payment_id(n), naming.payment_id(n),
                                        naming.order_id(n)), strict=True):
            text = text.replace(old, new)
        return text.encode()

    def request(self, n: int, event_id: str, now: int | None = None) -> Request:
        body = self.body(n, event_id)
        signature = sign(body, self.secret, int(time.time()) if now is None else now)
        return Request("POST", f"/api/store/payments/callback/{self.gateway_id}",
                       {SIGNATURE_HEADER: signature, "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
                       body, {"event_id": event_id, "n": n})

    def context(self, n: int, event_id: str) -> dict[str, Any]:
        return {"gateway_id": self.gateway_id, "event_id": event_id, "event_type": "payment_intent.succeeded",
                "gateway_payment_id": naming.gateway_payment_id(n), "payment_id": naming.payment_id(n),
                "order_id": naming.order_id(n)}


def shopper_context(reference: str) -> dict[str, Any]:
    return {"reference": reference, "caller": f"shopper:{reference}"}


# ---- pgbench: how each script names its request, over pgbench variables ---------------------------------------
def _shopper_sql(c: str) -> dict[str, str]:
    return {"reference": SQL["reference"](c), "caller": f"('shopper:' || {SQL['reference'](c)})"}


def history_customer_sql(m: str) -> str:
    return f"(1 + (({m} - 1) % {LINKED_CUSTOMERS}))"


def pgbench_context(variant: str, gateway_id: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(preamble lines, ctx role -> SQL, new-id prefix -> SQL) of one pgbench script.

    Variables given with -D: start (first order of the run's pool), hist (paid orders), rlo (the first paid order
    that still has an idempotency record). Sequences hand each transaction a fresh order (one extra SELECT)."""
    gw = "'" + gateway_id + "'"
    if variant == "create":
        pre = ["SELECT nextval('bench_orders') AS n \\gset", "\\set c 1 + (:n % " + str(LINKED_CUSTOMERS) + ")"]
        ctx = {**_shopper_sql(":c"), "order_id": SQL["order_id"](":n"), "gateway_id": gw,
               "payment_method_id": SQL["payment_method_id"](":c"), "key": "('k_p' || :n)"}
        new = {"pay": naming.sql_payment_id("p", ":n"), "pi": naming.sql_id("pi", "p", ":n", 23)}
        return pre, ctx, new
    if variant == "replay":
        pre = ["\\set m random(:rlo, :hist)", f"\\set c {history_customer_sql(':m')}"]
        ctx = {**_shopper_sql(":c"), "order_id": SQL["order_id"](":m"), "gateway_id": gw,
               "payment_method_id": SQL["payment_method_id"](":c"), "key": "('k_s' || :m)"}
        return pre, ctx, {}
    if variant == "confirm":
        pre = ["SELECT nextval('bench_payments') AS n \\gset", "\\set c 1 + (:n % " + str(LINKED_CUSTOMERS) + ")"]
        ctx = {**_shopper_sql(":c"), "payment_id": naming.sql_payment_id("p", ":n"), "key": "('kc_p' || :n)"}
        return pre, ctx, {}
    if variant in ("new", "duplicate"):
        if variant == "new":
            pre = ["SELECT nextval('bench_orders') AS n \\gset"]
            event = naming.sql_event_id("p", ":n")
        else:
            pre = ["\\set n random(1, :hist)"]
            event = naming.sql_event_id("s", ":n")
        ctx = {"gateway_id": gw, "event_id": event, "event_type": "'payment_intent.succeeded'",
               "gateway_payment_id": SQL["gateway_payment_id"](":n"), "payment_id": SQL["payment_id"](":n"),
               "order_id": SQL["order_id"](":n")}
        return pre, ctx, {}
    if variant == "list":
        return [f"\\set c random(1, {LINKED_CUSTOMERS})"], _shopper_sql(":c"), {}
    if variant == "get":
        pre = ["\\set m random(1, :hist)", f"\\set c {history_customer_sql(':m')}"]
        return pre, {**_shopper_sql(":c"), "payment_id": SQL["payment_id"](":m")}, {}
    raise ValueError(variant)
