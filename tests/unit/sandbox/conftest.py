"""A sandbox network on a fixed clock with readable ids, and one account's gateway on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret

ACCOUNT = "gw_unit"
WEBHOOK_SECRET = "whsec_unit_current"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def account(account_id: str = ACCOUNT, webhook_secret: str = WEBHOOK_SECRET) -> GatewayAccount:
    return GatewayAccount(
        id=account_id, name="Sandbox", kind="sandbox", publishable_key="pk_test_unit",
        credentials=GatewayCredentials(secret_key=Secret("sk_test_unit"), webhook_secret=Secret(webhook_secret)),
        is_active=True, created_at=START,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def network(clock: FixedClock) -> SandboxNetwork:
    return SandboxNetwork(public_base_url="http://127.0.0.1:8000", now=clock.now,
                          new_id=SequentialIdGenerator().new_id, later_after=None)


@pytest.fixture
def gateway(network: SandboxNetwork) -> SandboxPaymentGateway:
    return SandboxPaymentGateway(account(), network)


@pytest.fixture
def customer(network: SandboxNetwork, gateway: SandboxPaymentGateway) -> str:
    return str(network.create_customer(ACCOUNT, email="shopper@example.com")["id"])
