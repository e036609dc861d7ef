"""The gateway contract suite's harness for SandboxPaymentGateway: a fresh SandboxNetwork per test.

The sandbox does everything the suite asks, so every capability is declared. Its clock is the real one (the
webhook-verification cases sign with the wall clock, as they do for every adapter) and what Stripe does "a moment
later" happens only when the network is told to, so no timer fires during a test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret
from tests.contract.gateway_harness import DeliveredWebhook

CAPABILITIES = frozenset({
    "saved_cards", "decline_at_attach", "payment_method_rules", "three_d_secure", "redirect_3ds",
    "decline_codes", "manual_capture", "partial_capture", "refunds", "refund_limits", "idempotency",
    "webhooks", "webhook_events", "search",
})


class SandboxHarness:
    capabilities = CAPABILITIES

    def __init__(self, network: SandboxNetwork, account: GatewayAccount) -> None:
        self.network = network
        self.account = account
        self.webhook_secret = account.credentials.webhook_secret.reveal()
        self.gateway = SandboxPaymentGateway(account, network)

    async def tokenize_card(self, number: str, exp_month: int = 12, exp_year: int = 2034) -> str:
        return self.network.tokenize(number, exp_month, exp_year)

    async def complete_3ds(self, gateway_payment_id: str, success: bool) -> None:
        self.network.authenticate(gateway_payment_id, success)

    async def sent_webhooks(self) -> list[DeliveredWebhook]:
        return [DeliveredWebhook(body, headers) for body, headers in self.network.drain_webhooks(self.account.id)]


def sandbox_account(account_id: str = "gw_sandbox_contract", webhook_secret: str = "whsec_sandbox_contract"
                    ) -> GatewayAccount:
    return GatewayAccount(
        id=account_id, name="Sandbox", kind="sandbox", publishable_key="pk_test_sandbox",
        credentials=GatewayCredentials(secret_key=Secret("sk_test_sandbox"), webhook_secret=Secret(webhook_secret)),
        is_active=True, created_at=datetime.now(UTC),
    )


async def make_harness() -> AsyncIterator[SandboxHarness]:
    """The contract suite's factory: an async generator, used like a pytest yield-fixture."""
    yield SandboxHarness(SandboxNetwork(later_after=None), sandbox_account())
