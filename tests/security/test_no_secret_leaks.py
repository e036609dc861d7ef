"""Every log line and every response body of a whole e2e flow, searched for secrets.

The flow touches every path a secret travels: registering and re-keying gateway accounts (Stripe and sandbox),
tokenising and saving cards, intents with client secrets, 3-D Secure, declines, signed webhooks (and forged ones),
refunds, captures, cancels, bad tokens, the event feed, gateway failures (503s). Two nets:
- the raw log records (message, arguments, extra fields, exception text), before any redaction, at INFO (the
  default level): nothing in hexpay logs a secret at all;
- the lines as production writes them (JsonFormatter + Redactor with the configured secrets), at DEBUG, where
  libraries log the most: no secret survives.
Response bodies never carry a secret key, a webhook secret, the JWT secret, the admin token or a card number; the
client_secret appears only where the API hands it to the shopper (the intent answer).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from dependency_injector import providers

from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign
from entrypoints.http.app import create_app
from entrypoints.http.logs import JsonFormatter, Redactor
from tests.e2e.client import ADMIN_TOKEN, JWT_SECRET, SECRET_KEY, WEBHOOK_SECRET, Hexpay
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.faulty_gateway import Fault, FaultPlan, Step
from tests.fakes.measurements import Measure
from tests.faults.http_world import faulty_registry

CARDS = ("4242424242424242", "4000002760003184", "4000000000000002", "4000000000000341", "5555555555554444")
STRIPE_SECRET_KEY = "sk_test_stripe_account_" + "q" * 24
STRIPE_WEBHOOK_SECRET = "whsec_stripe_account_" + "r" * 24
ROTATED_WEBHOOK_SECRET = "whsec_rotated_" + "t" * 24


class Capture(logging.Handler):
    def __init__(self, formatter: JsonFormatter) -> None:
        super().__init__(logging.DEBUG)
        self.raw: list[str] = []
        self.lines: list[str] = []
        self._json = formatter

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage(), repr(record.args), repr(vars(record))]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        self.raw.append("\n".join(parts))
        self.lines.append(self._json.format(record))


@asynccontextmanager
async def captured(level: int) -> AsyncIterator[Capture]:
    capture = Capture(JsonFormatter(Redactor((ADMIN_TOKEN, JWT_SECRET))))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture)
    root.setLevel(level)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)


async def whole_flow(api: Hexpay, plan: FaultPlan, bodies: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Everything a shop does in a day; returns the secrets the flow handed out (client secrets, tokens)."""
    handed_out: dict[str, Any] = {"client_secrets": [], "tokens": []}
    gateway = await api.sandbox_gateway()
    stripe = await api.admin.post("/api/v1/admin/gateways/", {
        "name": "Stripe", "kind": "stripe", "is_active": False,
        "config": {"secret_key": STRIPE_SECRET_KEY, "publishable_key": "pk_test_stripe",
                   "webhook_secret": STRIPE_WEBHOOK_SECRET}})
    assert stripe.status_code == 201, stripe.text
    await api.admin.get("/api/v1/admin/gateways/")
    await api.admin.get(f"/api/v1/admin/gateways/{stripe.json()['id']}")
    await api.admin.patch(f"/api/v1/admin/gateways/{stripe.json()['id']}",
                          {"config": {"webhook_secret": ROTATED_WEBHOOK_SECRET}})
    await api.anonymous.get("/api/v1/store/payments/gateways/")

    alice = api.shopper("alice", "alice@example.com")
    handed_out["tokens"].append(alice.token)
    for number in CARDS:
        await api.save_card(alice, gateway["id"], number)  # the declining ones are refused at attach
    cards = (await alice.get("/api/v1/me/payment-methods/")).json()["data"]
    by_last4 = {card["card"]["last4"]: card["id"] for card in cards}

    paid = await api.order("alice", amount=4_200)
    intent = (await api.intent(alice, paid["id"], gateway["id"], payment_method_id=by_last4["4242"])).json()
    handed_out["client_secrets"].append(intent["client_secret"])
    await api.confirm(alice, intent["payment_id"])
    await api.delivered()
    await api.admin.post(f"/api/v1/admin/payments/{intent['payment_id']}/refunds/", {"amount": 1_000},
                         key="refund-1")

    three_ds = await api.order("alice", amount=2_100)
    pending = (await api.intent(alice, three_ds["id"], gateway["id"], payment_method_id=by_last4["3184"],
                                confirm=True, return_url="https://shop.example/back")).json()
    handed_out["client_secrets"].append(pending["client_secret"])
    await api.anonymous.get(f"/sandbox/3ds/{pending['gateway_payment_id']}")
    await api.anonymous.post(f"/sandbox/v1/payment_intents/{pending['gateway_payment_id']}/authenticate",
                             {"success": True})

    declined = await api.order("alice", amount=1_300)
    attempt = (await api.intent(alice, declined["id"], gateway["id"], payment_method_id=by_last4["0341"])).json()
    handed_out["client_secrets"].append(attempt["client_secret"])
    await api.confirm(alice, attempt["payment_id"])
    await api.admin.post(f"/api/v1/admin/orders/{declined['id']}/cancel/")

    manual = await api.order("alice", amount=3_300)
    held = (await api.intent(alice, manual["id"], gateway["id"], payment_method_id=by_last4["4444"],
                             capture_method="manual", confirm=True)).json()
    handed_out["client_secrets"].append(held["client_secret"])
    plan.arm(Step.CAPTURE, Fault.SERVER_ERROR)
    await api.admin.post(f"/api/v1/admin/payments/{held['payment_id']}/capture/", key="capture-1")  # 503
    await api.admin.post(f"/api/v1/admin/payments/{held['payment_id']}/capture/", key="capture-1")
    await api.delivered()

    forged = b'{"id":"evt_forged","object":"event","type":"payment_intent.succeeded"}'
    await api.http.post(gateway["webhook_path"], content=forged,
                        headers={SIGNATURE_HEADER: sign(forged, "whsec_guess", int(time.time()))})
    await api.bearer("not-a-token").get("/api/v1/me/orders/")
    await api.bearer(ADMIN_TOKEN).get("/api/v1/me/orders/")
    await alice.get("/api/v1/me/orders/")
    await alice.get(f"/api/v1/me/invoices/{paid['invoice']['id']}")
    await alice.get(f"/api/store/payments/{intent['payment_id']}/")
    await api.admin.get("/api/v1/admin/events/", limit=500)
    await api.admin.post("/api/v1/admin/reconcile/")
    await api.http.get("/metrics")
    await api.delivered()
    assert len(bodies) > 40
    return handed_out


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG], ids=["INFO", "DEBUG"])
async def test_no_secret_in_any_log_line_or_response_body(sqlite_url: str, level: int, measure: Measure) -> None:
    container = e2e_container(e2e_settings(sqlite_url))
    plan = FaultPlan()
    container.gateway_registry.override(providers.Singleton(faulty_registry, network=container.sandbox_network,
                                                            plan=plan))
    app = create_app(container)
    bodies: list[tuple[str, bytes]] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        bodies.append((str(response.request.url.path), response.content))

    try:
        async with captured(level) as logs:
            async with Hexpay.over(app, container) as api:
                api.http.event_hooks["response"].append(keep)
                handed_out = await whole_flow(api, plan, bodies)
            await container.sandbox_network().wait_for_deliveries()
    finally:
        await container.engine().dispose()

    never_anywhere = [SECRET_KEY, WEBHOOK_SECRET, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, ROTATED_WEBHOOK_SECRET,
                      JWT_SECRET, ADMIN_TOKEN, *CARDS]
    not_in_logs = [*never_anywhere, *handed_out["client_secrets"], *handed_out["tokens"]]
    assert len(handed_out["client_secrets"]) == 4 and all(handed_out["client_secrets"])
    formatted = "\n".join(logs.lines)
    for secret in not_in_logs:
        assert secret not in formatted, f"a written log line holds {secret[:12]}..."
    if level == logging.INFO:
        raw = "\n".join(logs.raw)
        for secret in not_in_logs:
            assert secret not in raw, f"a log record holds {secret[:12]}... before redaction"
    for path, body in bodies:
        for secret in never_anywhere:
            assert secret.encode() not in body, f"the answer of {path} holds {secret[:12]}..."
        for client_secret in handed_out["client_secrets"]:
            if client_secret.encode() in body:
                assert path.endswith("/payments/intent/"), f"{path} answers a client_secret"
    measure(f"secret leaks at {logging.getLevelName(level)}", log_records=len(logs.raw),
            response_bodies=len(bodies), secrets_searched=len(not_in_logs), found=0,
            bytes_searched=sum(len(b) for _, b in bodies) + len(formatted))
