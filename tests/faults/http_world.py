"""The real app over HTTP with faults injected under it: FaultyGateway around the sandbox, a unit of work whose
commits can fail, a clock the test moves (reconciliation looks for what stayed untouched too long) and webhooks
held until the test delivers them through the callback route, so every step happens when the test says."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dependency_injector import providers

from adapters.clock import FixedClock
from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory
from adapters.stripe import StripePaymentGateway
from application.ports.gateway import GatewayKindInfo
from domain.gateway_account import GatewayAccount
from entrypoints.container import Container
from entrypoints.http.app import create_app
from tests.e2e.client import Hexpay
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.faulty_gateway import FaultPlan, FaultyGateway
from tests.fakes.faulty_uow import FaultyUnitOfWorkFactory
from tests.fakes.gateway_ledger import GatewayLedger
from tests.fakes.truth import Agreement, compare_with_gateway


def faulty_registry(network: SandboxNetwork, plan: FaultPlan) -> EntryPointGatewayRegistry:
    registry = EntryPointGatewayRegistry()

    def sandbox(account: GatewayAccount) -> FaultyGateway:
        return FaultyGateway(SandboxPaymentGateway(account, network), plan)

    registry.register(GatewayKindInfo(kind="sandbox", factory=sandbox, requires_secret_key=False))
    registry.register(GatewayKindInfo(kind="stripe", factory=StripePaymentGateway))  # never called: no network
    return registry


@dataclass
class HttpWorld:
    api: Hexpay
    container: Container
    plan: FaultPlan
    uow: FaultyUnitOfWorkFactory
    clock: FixedClock
    network: SandboxNetwork
    gateway: dict[str, Any] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)

    @property
    def ledger(self) -> GatewayLedger:
        return GatewayLedger(self.network, self.gateway["id"])

    async def deliver_webhooks(self) -> Counter[int]:
        """POST every event the gateway holds to its callback route, as the gateway would; statuses counted."""
        statuses: Counter[int] = Counter()
        for body, headers in self.network.drain_webhooks(self.gateway["id"]):
            response = await self.api.http.post(self.gateway["webhook_path"], content=body, headers=headers)
            statuses[response.status_code] += 1
        return statuses

    async def reconcile(self, minutes: float = 11) -> dict[str, int]:
        self.clock.advance(minutes * 60)
        response = await self.api.admin.post("/api/v1/admin/reconcile/")
        assert response.status_code == 200, response.text
        result: dict[str, int] = response.json()
        return result

    async def agreement(self) -> Agreement:
        return await compare_with_gateway(self.uow, self.ledger, self.order_ids)


@asynccontextmanager
async def http_world(database_url: str) -> AsyncIterator[HttpWorld]:
    settings = e2e_settings(database_url)
    container = e2e_container(settings)
    clock = FixedClock(datetime.now(UTC))
    plan = FaultPlan()
    container.clock.override(providers.Object(clock))
    container.sandbox_network.override(providers.Singleton(
        SandboxNetwork, public_base_url=settings.public_base_url, deliver=None, later_after=None))
    container.gateway_registry.override(providers.Singleton(
        faulty_registry, network=container.sandbox_network, plan=plan))
    uow = FaultyUnitOfWorkFactory(SqlAlchemyUnitOfWorkFactory(container.engine(), container.secret_box()))
    plan.on_performed = uow.fail_next_commit
    container.uow_factory.override(providers.Object(uow))
    app = create_app(container)
    try:
        async with Hexpay.over(app, container) as api:
            world = HttpWorld(api=api, container=container, plan=plan, uow=uow, clock=clock,
                              network=container.sandbox_network())
            world.gateway = await api.sandbox_gateway()
            yield world
    finally:
        await container.engine().dispose()
