"""The sandbox's webhook sender: Stripe-shaped events, signed in Stripe's scheme, kept and delivered per account.

Each event is signed when it is sent (drained or delivered), with the account's secret of that moment and the
current time, as Stripe signs each delivery attempt afresh. Delivery runs in background tasks, never inside the
gateway call that caused it: the receiver may need the very row lock that call's transaction still holds, and a
receiver that is down must not fail the payment. A failed delivery is retried a few times, then given up (logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

# deliver(account_id, body, headers): POSTs one webhook to the account's callback; raises when it was not accepted.
WebhookSender = Callable[[str, bytes, dict[str, str]], Awaitable[None]]
SignedWebhook = tuple[bytes, dict[str, str]]

OUTBOX_CAPACITY = 1000  # per account: the oldest undrained events go first when nobody drains (make run)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(slots=True)
class _Event:
    """An event as published, encoded to its JSON body the first time it is sent (drained or delivered): one
    nobody takes (the outbox keeps the last OUTBOX_CAPACITY) is never encoded, as Stripe's events cost the
    receiving service nothing until they arrive. The document is a snapshot: every as_stripe() builds new dicts,
    and the nested ones it shares with a sandbox object (an intent's last_payment_error and next_action) are
    replaced on each change, never changed in place."""

    account_id: str
    event_id: str
    type: str
    document: dict[str, Any] | None  # None once encoded
    encoded: bytes = b""

    @property
    def body(self) -> bytes:
        if self.document is not None:
            # compact, as json.dumps with separators, at a tenth of its CPU
            self.encoded, self.document = msgspec.json.encode(self.document), None
        return self.encoded


class WebhookOutbox:
    def __init__(
        self,
        *,
        secret_of: Callable[[str], str],
        now: Callable[[], int],
        deliver: WebhookSender | None = None,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
    ) -> None:
        self._secret_of = secret_of
        self._now = now
        self._deliver = deliver
        self._retry_delays = tuple(retry_delays)
        self._undrained: dict[str, deque[_Event]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

    def set_sender(self, deliver: WebhookSender | None) -> None:
        self._deliver = deliver

    def publish(self, account_id: str, event: dict[str, Any]) -> None:
        item = _Event(account_id, event["id"], event["type"], event)
        self._undrained.setdefault(account_id, deque(maxlen=OUTBOX_CAPACITY)).append(item)
        if self._deliver is not None:
            self._start_delivery(item)

    def drain(self, account_id: str) -> list[SignedWebhook]:
        """Every event of the account not drained before, in the order they happened, signed now."""
        pending = self._undrained.pop(account_id, deque())
        return [(item.body, self._headers(item)) for item in pending]

    async def wait_for_deliveries(self) -> None:
        """Until every delivery started so far on this event loop has finished (succeeded or given up)."""
        loop = asyncio.get_running_loop()
        while mine := [task for task in self._deliveries if task.get_loop() is loop and not task.done()]:
            await asyncio.gather(*mine, return_exceptions=True)

    def _headers(self, item: _Event) -> dict[str, str]:
        return {
            SIGNATURE_HEADER: sign(item.body, self._secret_of(item.account_id), self._now()),
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
        }

    def _start_delivery(self, item: _Event) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Called outside any event loop: the event stays in the outbox, there is nobody to send it.
            return
        task = loop.create_task(self._send(item))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _send(self, item: _Event) -> None:
        deliver = self._deliver
        for attempt, delay in enumerate((0.0, *self._retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            if deliver is None:
                return
            try:
                await deliver(item.account_id, item.body, self._headers(item))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sandbox webhook %s (%s) for account %s: attempt %d failed: %s",
                            item.event_id, item.type, item.account_id, attempt, type(exc).__name__)
        log.error("sandbox webhook %s (%s) for account %s given up", item.event_id, item.type, item.account_id)
