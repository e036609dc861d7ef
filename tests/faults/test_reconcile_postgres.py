"""Several reconcilers at once on Postgres: SELECT ... FOR UPDATE SKIP LOCKED hands each stale payment to one of
them (their batches are disjoint), each payment is read from the gateway once, and each change is applied once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from cryptography.fernet import Fernet

from adapters.clock import FixedClock
from adapters.crypto import AeadSecretBox
from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.ids import SortableIdGenerator
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from application.ports.gateway import GatewayKindInfo
from application.use_cases.gateway_accounts import RegisterGatewayAccount, RegisterGatewayAccountCommand
from application.use_cases.orders import CreateOrder, CreateOrderCommand, OrderLineInput
from application.use_cases.payment_methods import SavePaymentMethod, SavePaymentMethodCommand
from application.use_cases.payments import (
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
)
from application.use_cases.reconcile import Reconcile
from tests.fakes.faulty_gateway import FaultPlan, FaultyGateway
from tests.fakes.gateway_ledger import GatewayLedger
from tests.fakes.measurements import Measure
from tests.fakes.truth import all_events, compare_with_gateway
from tests.faults.conftest import SHOPPER, THREE_DS

PAYMENTS, RECONCILERS, BATCH = 30, 5, 4


async def test_reconcilers_at_once_on_postgres_take_disjoint_batches_and_change_each_payment_once(
    postgres_url: str, measure: Measure
) -> None:
    engine = create_engine(postgres_url)
    try:
        clock, ids = FixedClock(), SortableIdGenerator()
        uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([Fernet.generate_key().decode()]))
        network = SandboxNetwork(now=clock.now, later_after=None)
        plan = FaultPlan()
        registry = EntryPointGatewayRegistry()
        registry.register(GatewayKindInfo(
            kind="sandbox", factory=lambda account: FaultyGateway(SandboxPaymentGateway(account, network), plan)))
        account = await RegisterGatewayAccount(uow, registry, clock, ids)(RegisterGatewayAccountCommand(
            name="Sandbox", kind="sandbox", secret_key="sk_test_pg", publishable_key="pk_test_pg",
            webhook_secret="whsec_pg_reconcile"))
        card = await SavePaymentMethod(uow, registry, clock, ids)(SavePaymentMethodCommand(
            SHOPPER, account.id, network.tokenize(THREE_DS, 12, 2034, "123")))
        order_ids = []
        for _ in range(PAYMENTS):
            view = await CreateOrder(uow, clock, ids)(CreateOrderCommand(
                customer_reference=SHOPPER.reference, currency="eur", lines=(OrderLineInput("Tea", 1, 1_500),)))
            order_ids.append(view.order.id)
            intent = await CreatePaymentForOrder(uow, registry, clock, ids)(CreatePaymentCommand(
                SHOPPER, view.order.id, account.id, payment_method_id=card.id))
            pending = await ConfirmPayment(uow, registry, clock, ids)(ConfirmPaymentCommand(SHOPPER, intent.payment.id))
            assert pending.gateway_payment_id is not None
            network.authenticate(pending.gateway_payment_id, success=True)
        network.drain_webhooks(account.id)  # every webhook lost
        clock.advance(11 * 60)
        plan.latency = 0.002  # the gateway takes time, so the reconcilers overlap
        reads_before = plan.reads["retrieve_payment"]

        async def reconciler() -> list[int]:
            batches = []
            while (result := await Reconcile(uow, registry, clock, ids)(older_than=timedelta(minutes=10),
                                                                           limit=BATCH)).checked:
                batches.append(result.checked)
                assert result.failed == 0
            return batches

        batches = await asyncio.gather(*(reconciler() for _ in range(RECONCILERS)))

        reads = plan.reads["retrieve_payment"] - reads_before
        succeeded = Counter(e.data["payment_id"] for e in await all_events(uow) if e.type == "PaymentSucceeded")
        agreement = await compare_with_gateway(uow, GatewayLedger(network, account.id), order_ids)
        assert sum(map(sum, batches)) == PAYMENTS and reads == PAYMENTS  # disjoint batches, one read each
        assert sum(1 for b in batches if b) > 1  # the work was shared, not done by one reconciler
        assert len(succeeded) == PAYMENTS and set(succeeded.values()) == {1}
        assert agreement.problems == [], agreement.problems
        measure("reconcilers on Postgres", reconcilers=RECONCILERS, batches=batches, gateway_reads=reads,
                payment_succeeded_events=sum(succeeded.values()), checks=agreement.counts["checks"])
    finally:
        await engine.dispose()
