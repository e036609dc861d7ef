"""The load campaign: many payments paid at once over real HTTP on Postgres, their webhooks delivered concurrently,
duplicated and shuffled while the shoppers' confirms race them; then refunds, refunds failing later and disputes.

What it proves, by counting: every event the gateway sent was taken exactly once (none lost, none applied twice,
however often and in whatever order it came), and afterwards every payment, refund, dispute, order, invoice and
the event feed equal the gateway's own books. Bounded in count (Size) and in time (Size.seconds).

Paths, chosen per payment by its index: the shopper's browser confirms at the gateway directly (as Stripe.js does
with the client_secret), or the shop's client confirms through hexpay, or both at once. Cards: succeeding, 3-D
Secure passed or failed, declining when charged, manual capture, a refund that fails a moment later, a dispute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.sandbox import SandboxApiError, SandboxNetwork
from tests.e2e.client import ADMIN_TOKEN, mint_token

VISA, THREE_DS, DECLINES_ON_CHARGE = "4242424242424242", "4000002760003184", "4000000000000341"
REFUND_FAILS, DISPUTED = "4000000000005126", "4000000000000259"
# Per payment index modulo 10: (card, capture method, 3-D Secure outcome)
PLAN = [(VISA, "automatic", None), (VISA, "automatic", None), (VISA, "automatic", None),
        (VISA, "automatic", None), (THREE_DS, "automatic", True), (THREE_DS, "automatic", False),
        (DECLINES_ON_CHARGE, "automatic", None), (REFUND_FAILS, "automatic", None),
        (DISPUTED, "automatic", None), (VISA, "manual", None)]
PATHS = ("browser", "client", "both")


@dataclass(frozen=True)
class Size:
    payments: int
    shoppers: int
    concurrency: int  # requests in flight at once
    seconds: float  # the whole campaign must finish within this
    max_copies: int = 3  # each event is delivered 1..max_copies times
    seed: int = 6


@dataclass
class Tally:
    deliveries: int = 0
    taken: Counter[str] = field(default_factory=Counter)  # event id -> deliveries answered duplicate=false
    duplicates: int = 0
    retried: Counter[int] = field(default_factory=Counter)  # non-2xx answers, retried as the gateway would
    events: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    client_answers: Counter[str] = field(default_factory=Counter)


class Campaign:
    def __init__(self, base_url: str, network: SandboxNetwork, size: Size) -> None:
        self.base_url, self.network, self.size = base_url, network, size
        self.random = random.Random(size.seed)
        self.tally = Tally()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60.0,
                                      limits=httpx.Limits(max_connections=size.concurrency * 2))
        self.gate = asyncio.Semaphore(size.concurrency)
        self.gateway: dict[str, Any] = {}
        self.payments: list[dict[str, Any]] = []  # {payment_id, gateway_payment_id, order_id, kind, path, ...}
        self._admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    # ---- plumbing ------------------------------------------------------------------------------------------
    async def call(self, method: str, path: str, token: str | None, body: Any = None,
                   key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        async with self.gate:
            return await self.http.request(method, path, json=body, headers=headers)

    def admin_token(self) -> str:
        return ADMIN_TOKEN

    @staticmethod
    def shopper_token(index: int) -> str:
        return mint_token(f"load-shopper-{index}", email=f"load{index}@example.com")

    # ---- setup: gateway, cards, orders, intents (not the race) -----------------------------------------------
    async def setup(self) -> None:
        response = await self.call("POST", "/api/v1/admin/gateways/", ADMIN_TOKEN, {
            "name": "Load", "kind": "sandbox",
            "config": {"secret_key": "sk_test_load", "publishable_key": "pk_test_load",
                       "webhook_secret": "whsec_load_" + "l" * 24}})
        assert response.status_code == 201, response.text
        self.gateway = response.json()
        cards: dict[tuple[int, str], str] = {}

        async def save(shopper: int, number: str) -> None:
            token = self.network.tokenize(number, 12, 2034, "123")
            saved = await self.call("POST", "/api/v1/me/payment-methods/", self.shopper_token(shopper), {
                "gateway": self.gateway["id"], "gateway_payment_method_data": {"payment_method_id": token}})
            assert saved.status_code in (200, 201), saved.text
            cards[(shopper, number)] = saved.json()["id"]

        numbers = sorted({card for card, _, _ in PLAN})
        for shopper in range(self.size.shoppers):  # one shopper's cards in order: the first is the default
            await asyncio.gather(*(save(shopper, number) for number in numbers))

        async def open_payment(index: int) -> dict[str, Any]:
            shopper = index % self.size.shoppers
            card, capture, three_ds = PLAN[index % len(PLAN)]
            order = await self.call("POST", "/api/v1/admin/orders/", ADMIN_TOKEN, {
                "customer": {"reference": f"load-shopper-{shopper}"}, "currency": "usd",
                "lines": [{"description": f"Load item {index}", "quantity": 1, "unit_amount": 1_000 + index}]})
            assert order.status_code == 201, order.text
            intent = await self.call("POST", "/api/store/payments/intent/", self.shopper_token(shopper), {
                "order_id": order.json()["id"], "gateway_id": self.gateway["id"],
                "payment_method_id": cards[(shopper, card)], "capture_method": capture,
                "return_url": "https://shop.example/back"}, key=f"intent-{index}")
            assert intent.status_code == 201, intent.text
            return {"index": index, "shopper": shopper, "card": card, "capture": capture, "three_ds": three_ds,
                    "path": PATHS[index % len(PATHS)], "order_id": order.json()["id"],
                    "payment_id": intent.json()["payment_id"],
                    "gateway_payment_id": intent.json()["gateway_payment_id"]}

        self.payments = list(await asyncio.gather(*(open_payment(i) for i in range(self.size.payments))))
        self.network.drain_webhooks(self.gateway["id"])  # the setup's events: not part of the race

    # ---- the race ------------------------------------------------------------------------------------------
    async def browser_confirm(self, payment: dict[str, Any]) -> str:
        """Stripe.js confirming with the client_secret: straight to the gateway, hexpay hears of it by webhook."""
        try:
            intent = self.network.confirm_payment_intent(self.gateway["id"], payment["gateway_payment_id"])
            return str(intent["status"])
        except SandboxApiError as error:  # a decline, or the shop's client confirmed first
            return f"refused:{error.code or error.type}"

    async def client_confirm(self, payment: dict[str, Any], attempt: int) -> str:
        response = await self.call("POST", f"/api/store/payments/{payment['payment_id']}/confirm/",
                                   self.shopper_token(payment["shopper"]), {},
                                   key=f"confirm-{payment['index']}-{attempt}")
        self.tally.client_answers[f"confirm {response.status_code}"] += 1
        assert response.status_code in (200, 409), response.text  # 409: in use, or already past confirmation
        return str(response.json().get("status", response.json().get("code")))

    async def pay(self, payment: dict[str, Any]) -> None:
        await asyncio.sleep(self.random.random() * 0.05)
        path = payment["path"]
        calls = []
        if path in ("browser", "both"):
            calls.append(self.browser_confirm(payment))
        if path in ("client", "both"):
            calls.append(self.client_confirm(payment, 1))
            if payment["index"] % 4 == 1:  # a double click: the same request twice, the same key
                calls.append(self.client_confirm(payment, 1))
        await asyncio.gather(*calls)
        if payment["three_ds"] is not None:
            with contextlib.suppress(SandboxApiError):  # not in requires_action: nothing to authenticate
                self.network.authenticate(payment["gateway_payment_id"], payment["three_ds"])
        if payment["capture"] == "manual":
            await self.capture_when_authorised(payment)

    async def capture_when_authorised(self, payment: dict[str, Any]) -> None:
        """The shop captures once hexpay says the funds are held (it may learn that by webhook)."""
        for _ in range(400):
            seen = await self.call("GET", f"/api/v1/admin/payments/{payment['payment_id']}", ADMIN_TOKEN)
            if seen.json()["status"] == "requires_capture":
                break
            await asyncio.sleep(0.05)
        captured = await self.call("POST", f"/api/v1/admin/payments/{payment['payment_id']}/capture/", ADMIN_TOKEN,
                                   {}, key=f"capture-{payment['index']}")
        self.tally.client_answers[f"capture {captured.status_code}"] += 1
        assert captured.status_code == 200, captured.text

    async def refund_and_dispute(self) -> None:
        """After the payments: refunds through hexpay and at the gateway's dashboard, refunds failing a moment
        later, disputes opened and closed (half lost)."""
        account = self.gateway["id"]
        jobs = []
        for payment in self.payments:
            intent = self.network.retrieve_payment_intent(account, payment["gateway_payment_id"])
            if intent["status"] != "succeeded":
                continue
            if payment["card"] == REFUND_FAILS or payment["index"] % 10 == 1:
                jobs.append(self.refund_through_hexpay(payment))
            elif payment["index"] % 10 == 2:
                self.network.create_refund(account, payment_intent=payment["gateway_payment_id"], amount=100)
        await asyncio.gather(*jobs)
        self.network.run_deferred()  # refunds fail, disputes open
        for number, dispute_id in enumerate(sorted(self.network.account(account).disputes)):
            self.network.close_dispute(dispute_id, won=number % 2 == 0)

    async def refund_through_hexpay(self, payment: dict[str, Any]) -> None:
        for _ in range(400):  # hexpay refunds what it knows has succeeded: wait for the webhook if need be
            response = await self.call("POST", f"/api/v1/admin/payments/{payment['payment_id']}/refunds/",
                                       ADMIN_TOKEN, {"amount": 300}, key=f"refund-{payment['index']}")
            if response.status_code != 422:
                break
            await asyncio.sleep(0.05)
        self.tally.client_answers[f"refund {response.status_code}"] += 1
        assert response.status_code == 201, response.text

    # ---- the gateway's webhook sender, hostile edition -------------------------------------------------------
    async def deliver_until(self, done: asyncio.Event) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        while True:
            batch = self.network.drain_webhooks(self.gateway["id"])
            copies = [delivery for delivery in batch for _ in range(self.random.randint(1, self.size.max_copies))]
            self.random.shuffle(copies)
            for body, headers in copies:
                event_id = json.loads(body)["id"]
                self.tally.events.setdefault(event_id, (body, headers))
                task = asyncio.create_task(self.deliver(body, headers))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if done.is_set() and not batch and not in_flight:
                return
            await asyncio.sleep(0.02)

    async def deliver(self, body: bytes, headers: dict[str, str]) -> None:
        event_id = json.loads(body)["id"]
        for attempt in range(50):
            async with self.gate:
                response = await self.http.post(self.gateway["webhook_path"], content=body, headers=headers)
            self.tally.deliveries += 1
            if response.status_code == 200:
                if response.json()["duplicate"]:
                    self.tally.duplicates += 1
                else:
                    self.tally.taken[event_id] += 1
                return
            self.tally.retried[response.status_code] += 1  # the gateway retries what was not accepted
            await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError(f"event {event_id} was never accepted")

    async def replay_everything(self) -> int:
        """Every event ever sent, once more, shuffled: each must now be a duplicate."""
        events = list(self.tally.events.values())
        self.random.shuffle(events)
        before = self.tally.duplicates
        await asyncio.gather(*(self.deliver(body, headers) for body, headers in events))
        return self.tally.duplicates - before

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        await self.setup()
        setup_seconds = time.monotonic() - started
        done = asyncio.Event()
        deliverer = asyncio.create_task(self.deliver_until(done))
        try:
            await asyncio.gather(*(self.pay(payment) for payment in self.payments))
            await self.refund_and_dispute()
        finally:
            done.set()
            await deliverer
        race_seconds = time.monotonic() - started - setup_seconds
        replayed = await self.replay_everything()
        await self.http.aclose()
        return {"setup_s": round(setup_seconds, 1), "race_s": round(race_seconds, 1),
                "total_s": round(time.monotonic() - started, 1), "replayed_as_duplicates": replayed}
