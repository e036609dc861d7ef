"""The gateway contract suite's harness for StripePaymentGateway, on localstripe.

One localstripe per test session (tests.integration.localstripe_server); per test: its data reset, a webhook
receiver on 127.0.0.1 registered as localstripe's webhook endpoint, and a fresh adapter bound to it through
api_base, exactly as a real account is configured.

localstripe runs with the gaps listed in tests/integration/localstripe_patches.py filled (parameters it refuses,
confirm with a payment method, Stripe's decline codes at payment time, partial capture, refund limits, payment
method rules). What it
still cannot do like Stripe is left out of `capabilities`, so the suite runs those cases on the sandbox only:
- "idempotency": it ignores Idempotency-Key; the same key twice creates two objects.
- "webhook_events": it sends payment_intent.succeeded and payment_intent.payment_failed only (and events hexpay
  ignores, such as customer.created); nothing for requires_action, amount_capturable_updated, canceled or refunds.
- "redirect_3ds": 3-D Secure is always the use_stripe_sdk handoff, never a redirect_to_url next action.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web

from adapters.stripe import StripePaymentGateway
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret
from tests.contract.gateway_harness import DeliveredWebhook
from tests.integration.localstripe_server import PUBLISHABLE_KEY, SECRET_KEY, LocalStripeServer, shared_localstripe

CAPABILITIES = frozenset({
    "saved_cards", "decline_at_attach", "three_d_secure", "decline_codes", "manual_capture", "partial_capture",
    "refunds", "refund_limits", "payment_method_rules", "webhooks", "search",
})
WEBHOOK_NAME = "hexpay"  # one registration, re-pointed at each test's receiver
# localstripe posts each event one second after it happens (webhooks.py: asyncio.sleep(1)).
_DELIVERY_WAIT_SECONDS = 5.0


class WebhookReceiver:
    """The account's webhook endpoint: a tiny HTTP server on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.deliveries: list[DeliveredWebhook] = []
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/callback", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else ()  # aiohttp exposes the bound port only here
        port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/callback"

    async def _receive(self, request: web.Request) -> web.Response:
        self.deliveries.append(DeliveredWebhook(body=await request.read(), headers=dict(request.headers)))
        self.arrived.set()
        return web.json_response({"received": True})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class LocalStripeHarness:
    capabilities = CAPABILITIES

    def __init__(self, server: LocalStripeServer, http: httpx.AsyncClient, receiver: WebhookReceiver) -> None:
        self._server = server
        self._http = http
        self._receiver = receiver
        self._drained = 0
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        self.account = GatewayAccount(
            id="gw_localstripe", name="Stripe on localstripe", kind="stripe", publishable_key=PUBLISHABLE_KEY,
            credentials=GatewayCredentials(secret_key=Secret(SECRET_KEY), webhook_secret=Secret(self.webhook_secret),
                                           api_base=server.api_base),
            is_active=True, created_at=datetime.now(UTC),
        )
        self.gateway = StripePaymentGateway(self.account)

    # ---- set-up ---------------------------------------------------------------------------------------------
    async def reset(self) -> None:
        await self._checked(self._http.delete("/_config/data"))
        await self._checked(self._http.post(f"/_config/webhooks/{WEBHOOK_NAME}",
                                            data={"url": self._receiver.url, "secret": self.webhook_secret}))

    async def aclose(self) -> None:
        await self.gateway.aclose()

    @staticmethod
    async def _checked(request: Any) -> dict[str, Any]:
        response: httpx.Response = await request
        response.raise_for_status()
        return response.json() if response.content.strip() else {}

    # ---- the shopper's side ----------------------------------------------------------------------------------
    async def tokenize_card(self, number: str, exp_month: int = 12, exp_year: int = 2034) -> str:
        body = await self._checked(self._http.post("/v1/payment_methods", auth=(SECRET_KEY, ""), data={
            "type": "card", "card[number]": number, "card[exp_month]": str(exp_month),
            "card[exp_year]": str(exp_year), "card[cvc]": "123"}))
        return str(body["id"])

    async def complete_3ds(self, gateway_payment_id: str, success: bool) -> None:
        intent = await self._checked(self._http.get(f"/v1/payment_intents/{gateway_payment_id}",
                                                    auth=(SECRET_KEY, "")))
        # Stripe.js authenticates with the publishable key and the intent's client_secret, as done here.
        await self._checked(self._http.post(f"/v1/payment_intents/{gateway_payment_id}/_authenticate", data={
            "key": PUBLISHABLE_KEY, "client_secret": intent["client_secret"], "success": str(success).lower()}))

    # ---- the gateway's webhook sender ------------------------------------------------------------------------
    async def sent_webhooks(self) -> list[DeliveredWebhook]:
        """Waits until every event localstripe has recorded since the reset was delivered, then drains.

        A delivery about data of an earlier test (scheduled before the reset, sent after) is dropped: its event
        no longer exists at localstripe.
        """
        expected = await self._recorded_event_ids()
        deadline = time.monotonic() + _DELIVERY_WAIT_SECONDS
        while not expected <= self._delivered_ids() and (left := deadline - time.monotonic()) > 0:
            self._receiver.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._receiver.arrived.wait(), left)
        fresh = self._receiver.deliveries[self._drained:]
        self._drained = len(self._receiver.deliveries)
        return [d for d in fresh if _event_id(d) in expected]

    async def _recorded_event_ids(self) -> set[str]:
        listed = await self._checked(self._http.get("/v1/events", params={"limit": "1000"}, auth=(SECRET_KEY, "")))
        return {str(event["id"]) for event in listed.get("data", [])}

    def _delivered_ids(self) -> set[str]:
        return {event_id for d in self._receiver.deliveries if (event_id := _event_id(d))}


def _event_id(delivery: DeliveredWebhook) -> str | None:
    try:
        event_id = json.loads(delivery.body).get("id")
    except (ValueError, AttributeError):
        return None
    return event_id if isinstance(event_id, str) else None


@contextlib.asynccontextmanager
async def stripe_harness() -> AsyncIterator[LocalStripeHarness]:
    """A harness on a clean localstripe; skips (fails in CI) when localstripe cannot be started."""
    from tests.conftest import skip_or_fail

    try:
        server = await asyncio.to_thread(shared_localstripe)
    except RuntimeError as exc:
        skip_or_fail(f"localstripe could not be started: {exc}")
        raise  # skip_or_fail always raises; this keeps type checkers informed
    receiver = WebhookReceiver()
    await receiver.start()
    async with httpx.AsyncClient(base_url=server.api_base, timeout=10) as http:
        harness = LocalStripeHarness(server, http, receiver)
        try:
            await harness.reset()
            yield harness
        finally:
            await harness.aclose()
            await receiver.stop()


async def make_harness() -> AsyncIterator[LocalStripeHarness]:
    """The contract suite's factory: an async generator, to be used like a pytest yield-fixture."""
    async with stripe_harness() as harness:
        yield harness
