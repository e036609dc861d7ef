"""Reconciliation converges on the gateway's truth when webhooks were lost."""

from __future__ import annotations

from datetime import timedelta

from application.use_cases.orders import GetOrder
from application.use_cases.payments import (
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.reconcile import Reconcile
from domain.order import OrderStatus
from domain.payment import PaymentStatus
from tests.unit.use_cases.conftest import SHOPPER, World
from tests.unit.use_cases.test_payments import THREE_DS, saved


async def test_a_3ds_payment_whose_webhooks_were_lost_is_settled_by_reconciliation(world: World) -> None:
    view = await world.order(amount=3100)
    card = await saved(world, THREE_DS)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card))
    pending = await ConfirmPayment(world.uow, world.registry, world.clock, world.ids)(
        ConfirmPaymentCommand(SHOPPER, intent.payment.id))
    assert pending.status is PaymentStatus.REQUIRES_ACTION and pending.gateway_payment_id
    world.network.authenticate(pending.gateway_payment_id, success=True)
    world.webhooks()  # lost: never delivered

    reconcile = Reconcile(world.uow, world.registry, world.clock, world.ids)
    too_soon = await reconcile(older_than=timedelta(minutes=10))
    assert (too_soon.checked, too_soon.changed) == (0, 0)

    world.clock.advance(11 * 60)
    result = await reconcile(older_than=timedelta(minutes=10))
    assert (result.checked, result.changed) == (1, 1)
    assert (await GetPayment(world.uow)(intent.payment.id)).status is PaymentStatus.SUCCEEDED
    assert (await GetOrder(world.uow)(view.order.id)).order.status is OrderStatus.PAID

    world.clock.advance(11 * 60)
    settled = await reconcile(older_than=timedelta(minutes=10))
    assert settled.checked == 0  # final payments without pending refunds are left alone
