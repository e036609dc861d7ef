"""What the gateway contract suite needs from each adapter under test, beyond the PaymentGateway port.

A harness stands in for the parts of a gateway a server never calls itself: the shopper's browser
(tokenising a card, completing 3-D Secure) and the gateway's webhook sender. A team adding its own gateway
adapter writes one harness and runs tests/contract/test_gateway_contract.py against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from application.ports.gateway import PaymentGateway

# Stripe's test cards, which every harness must understand.
CARD_VISA = "4242424242424242"
CARD_3DS_REQUIRED = "4000002760003184"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_DECLINES_ON_CHARGE = "4000000000000341"  # attaches to a customer, declines when charged


@dataclass(frozen=True)
class DeliveredWebhook:
    body: bytes
    headers: dict[str, str]


class GatewayHarness(Protocol):
    gateway: PaymentGateway
    # Capability names the suite checks before a case that not every adapter can do, e.g.
    # "idempotency" (the same key returns the same object), "webhook_events" (the gateway sends signed
    # events for what changed), "search" (find_payment by metadata), "decline_at_attach".
    capabilities: frozenset[str]
    webhook_secret: str

    async def tokenize_card(self, number: str, exp_month: int = 12, exp_year: int = 2034) -> str:
        """What Stripe.js does in the browser: a card number becomes a gateway payment method id."""

    async def complete_3ds(self, gateway_payment_id: str, success: bool) -> None:
        """What the shopper does on the bank's 3-D Secure page."""

    async def sent_webhooks(self) -> list[DeliveredWebhook]:
        """The webhooks the gateway has sent since the last call (drained)."""

