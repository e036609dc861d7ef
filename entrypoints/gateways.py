"""The built-in gateway kinds, registered with the plugin registry (third-party kinds come from the
`hexpay.gateways` entry-point group)."""

from __future__ import annotations

from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from adapters.stripe import StripePaymentGateway
from application.ports.gateway import GatewayKindInfo
from domain.gateway_account import GatewayAccount


def build_gateway_registry(sandbox_network: SandboxNetwork) -> EntryPointGatewayRegistry:
    registry = EntryPointGatewayRegistry()
    registry.register(GatewayKindInfo(kind="stripe", factory=StripePaymentGateway,
                                      description="Stripe, through the official SDK"))

    def sandbox(account: GatewayAccount) -> SandboxPaymentGateway:
        return SandboxPaymentGateway(account, sandbox_network)

    registry.register(GatewayKindInfo(kind="sandbox", factory=sandbox, requires_secret_key=False,
                                      description="in-process gateway with Stripe test-mode behaviour"))
    registry.load_entry_points()
    return registry
