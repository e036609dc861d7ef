"""A world for fault injection: memory store behind a FaultyUnitOfWorkFactory, the sandbox behind FaultyGateway.

The sandbox, not localstripe, is the gateway here: these tests count objects and charges after retries, and
only a gateway that honours idempotency keys as Stripe does makes that count meaningful (localstripe ignores
them, so every retry there would create a second object whatever hexpay did).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

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
from application.use_cases.payment_methods import SavePaymentMethod, SavePaymentMethodCommand, Shopper
from application.use_cases.reconcile import Reconcile, ReconcileResult
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.gateway_account import GatewayAccount
from tests.fakes.faulty_gateway import FaultPlan, FaultyGateway
from tests.fakes.faulty_uow import FaultyUnitOfWorkFactory
from tests.fakes.gateway_ledger import GatewayLedger
from tests.fakes.measurements import measure, pytest_terminal_summary  # noqa: F401 - fixture and hook
from tests.fakes.truth import Agreement, compare_with_gateway

WEBHOOK_SECRET = "whsec_fault_injection"
SHOPPER = Shopper(reference="shopper-faults", email="faults@example.com")
VISA, THREE_DS, DISPUTED = "4242424242424242", "4000002760003184", "4000000000000259"


@dataclass
class FaultWorld:
    uow: FaultyUnitOfWorkFactory
    store: MemoryStore
    clock: FixedClock
    ids: SequentialIdGenerator
    network: SandboxNetwork
    registry: EntryPointGatewayRegistry
    plan: FaultPlan
    account: GatewayAccount
    ledger: GatewayLedger
    order_ids: list[str] = field(default_factory=list)

    async def order(self, amount: int = 10_000, currency: str = "usd") -> OrderView:
        view = await CreateOrder(self.uow, self.clock, self.ids)(CreateOrderCommand(
            customer_reference=SHOPPER.reference, currency=currency, lines=(OrderLineInput("Teapot", 1, amount),)))
        self.order_ids.append(view.order.id)
        return view

    def card(self, number: str = VISA) -> str:
        return self.network.tokenize(number=number, exp_month=12, exp_year=2034, cvc="123")

    async def saved_card(self, number: str = VISA) -> str:
        method = await SavePaymentMethod(self.uow, self.registry, self.clock, self.ids)(
            SavePaymentMethodCommand(SHOPPER, self.account.id, self.card(number)))
        return method.id

    async def deliver_webhooks(self) -> list[str]:
        handle = HandleGatewayWebhook(self.uow, self.registry, self.clock, self.ids)
        return [(await handle(self.account.id, body, headers)).outcome
                for body, headers in self.network.drain_webhooks(self.account.id)]

    def drop_webhooks(self) -> int:
        return len(self.network.drain_webhooks(self.account.id))

    async def reconcile(self, after: timedelta = timedelta(minutes=11)) -> ReconcileResult:
        self.clock.advance(after.total_seconds())
        return await Reconcile(self.uow, self.registry, self.clock, self.ids)(older_than=timedelta(minutes=10))

    async def agreement(self, *, disputes: bool = False) -> Agreement:
        return await compare_with_gateway(self.uow, self.ledger, self.order_ids, disputes=disputes)


async def make_world(database: UnitOfWorkFactory | None = None) -> FaultWorld:
    """On the memory store, or on the database given (a SqlAlchemyUnitOfWorkFactory)."""
    clock, ids, store = FixedClock(), SequentialIdGenerator(), MemoryStore()
    uow = FaultyUnitOfWorkFactory(database or MemoryUnitOfWorkFactory(store))
    network = SandboxNetwork(public_base_url="http://127.0.0.1:8000", now=clock.now, later_after=None)
    plan = FaultPlan(on_performed=uow.fail_next_commit)
    registry = EntryPointGatewayRegistry()
    registry.register(GatewayKindInfo(
        kind="sandbox", factory=lambda account: FaultyGateway(SandboxPaymentGateway(account, network), plan)))
    account = await RegisterGatewayAccount(uow, registry, clock, ids)(RegisterGatewayAccountCommand(
        name="Sandbox", kind="sandbox", secret_key="sk_test_faults", publishable_key="pk_test_faults",
        webhook_secret=WEBHOOK_SECRET))
    return FaultWorld(uow=uow, store=store, clock=clock, ids=ids, network=network, registry=registry, plan=plan,
                      account=account, ledger=GatewayLedger(network, account.id))


@pytest.fixture
async def world() -> FaultWorld:
    return await make_world()
