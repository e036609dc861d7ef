"""Gateways stamp events in whole seconds. A 3-D Secure that fails in the same second as the confirm reports
requires_action and then payment_failed with one stamp; delivered the other way round, the older report must not
win because it looks "further along". Found by the load campaign (make load); pinned here deterministically."""

from __future__ import annotations

import json

import pytest

from application.use_cases.payments import CreatePaymentCommand, CreatePaymentForOrder, GetPayment
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.payment import PaymentStatus
from tests.fakes.measurements import Measure
from tests.faults.conftest import SHOPPER, THREE_DS, make_world


@pytest.mark.parametrize("order", ["as_sent", "reversed"])
async def test_a_3ds_failure_in_the_same_second_as_the_confirm_settles_as_failed_in_any_order(
    order: str, measure: Measure
) -> None:
    world = await make_world()
    card = await world.saved_card(THREE_DS)
    view = await world.order(2_000)
    world.clock.advance(0.5)  # the intent is created half a second before the next whole second
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card))
    assert intent.payment.gateway_payment_id
    world.drop_webhooks()
    world.clock.advance(0.6)  # the browser confirms and the bank refuses 3-D Secure, both in the next second
    world.network.confirm_payment_intent(world.account.id, intent.payment.gateway_payment_id)
    world.network.authenticate(intent.payment.gateway_payment_id, success=False)
    deliveries = world.network.drain_webhooks(world.account.id)
    types = [json.loads(body)["type"] for body, _ in deliveries]
    assert types == ["payment_intent.requires_action", "payment_intent.payment_failed"]
    stamps = {json.loads(body)["created"] for body, _ in deliveries}
    assert len(stamps) == 1  # one whole second for both
    if order == "reversed":
        deliveries.reverse()

    handle = HandleGatewayWebhook(world.uow, world.registry, world.clock, world.ids)
    outcomes = [(await handle(world.account.id, body, headers)).outcome for body, headers in deliveries]

    payment = await GetPayment(world.uow)(intent.payment.id)
    [at_gateway] = world.ledger.intents()
    assert at_gateway.status == "requires_payment_method"
    assert payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD, (order, outcomes)
    assert payment.last_payment_error is not None
    assert (await world.agreement()).problems == []
    measure(f"same-second 3DS failure, {order}", outcomes=outcomes, status=payment.status.value,
            gateway=at_gateway.status)


