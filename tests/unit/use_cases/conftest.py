"""Use cases wired on the memory adapters and the sandbox gateway: the fast, in-process world."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from adapters.clock import FixedClock
from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.ids import SequentialIdGenerator
from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from application.ports.gateway import GatewayKindInfo
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases.gateway_accounts import RegisterGatewayAccount, RegisterGatewayAccountCommand
from application.use_cases.orders import CreateOrder, CreateOrderCommand, OrderLineInput, OrderView
from application.use_cases.payment_methods import Shopper
from domain.gateway_account import GatewayAccount

WEBHOOK_SECRET = "whsec_unit_test_secret"
SHOPPER = Shopper(reference="user-42", email="ada@example.com")


@dataclass
class World:
    uow: UnitOfWorkFactory
    store: MemoryStore
    clock: FixedClock
    ids: SequentialIdGenerator
    network: SandboxNetwork
    registry: EntryPointGatewayRegistry
    account: GatewayAccount

    async def order(self, amount: int = 2500, currency: str = "usd", reference: str = SHOPPER.reference) -> OrderView:
        return await CreateOrder(self.uow, self.clock, self.ids)(CreateOrderCommand(
            customer_reference=reference, currency=currency,
            lines=(OrderLineInput("Teapot", 1, amount),)))

    def card(self, number: str) -> str:
        return self.network.tokenize(number=number, exp_month=12, exp_year=2034, cvc="123")

    def webhooks(self) -> list[tuple[bytes, dict[str, str]]]:
        return self.network.drain_webhooks(self.account.id)


@pytest.fixture
async def world() -> World:
    store = MemoryStore()
    return await build_world(MemoryUnitOfWorkFactory(store), store)


async def build_world(uow: UnitOfWorkFactory, store: MemoryStore) -> World:
    """The world on any store (tests/integration builds it on Postgres; `store` is then an unused MemoryStore)."""
    clock = FixedClock()
    ids = SequentialIdGenerator()
    network = SandboxNetwork(public_base_url="http://127.0.0.1:8000", now=clock.now)
    registry = EntryPointGatewayRegistry()
    registry.register(GatewayKindInfo(kind="sandbox",
                                      factory=lambda account: SandboxPaymentGateway(account, network)))
    account = await RegisterGatewayAccount(uow, registry, clock, ids)(RegisterGatewayAccountCommand(
        name="Sandbox", kind="sandbox", secret_key="sk_test_unit", publishable_key="pk_test_unit",
        webhook_secret=WEBHOOK_SECRET))
    return World(uow=uow, store=store, clock=clock, ids=ids, network=network, registry=registry, account=account)
