from __future__ import annotations

import pytest

from application.use_cases.orders import GetOrder
from application.use_cases.payments import CreatePaymentCommand, CreatePaymentForOrder
from application.use_cases.refunds import RefundPayment, RefundPaymentCommand
from domain.errors import RefundExceedsRefundable, Unprocessable, ValidationFailed
from domain.order import OrderStatus
from domain.refund import RefundStatus
from tests.unit.use_cases.conftest import SHOPPER, World
from tests.unit.use_cases.test_payments import VISA, saved


async def paid_payment(world: World, amount: int = 10_000) -> tuple[str, str]:
    view = await world.order(amount=amount)
    card = await saved(world, VISA)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True))
    return view.order.id, intent.payment.id


def refund(world: World) -> RefundPayment:
    return RefundPayment(world.uow, world.registry, world.clock, world.ids)


async def test_partial_then_full_refund_moves_the_order(world: World) -> None:
    order_id, payment_id = await paid_payment(world)

    part = await refund(world)(RefundPaymentCommand(payment_id, amount=3000, reason="requested_by_customer"))
    assert part.status is RefundStatus.SUCCEEDED and part.gateway_refund_id
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.PARTIALLY_REFUNDED

    rest = await refund(world)(RefundPaymentCommand(payment_id))  # defaults to what is left
    assert rest.amount == 7000 and rest.status is RefundStatus.SUCCEEDED
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.REFUNDED


async def test_more_than_refundable_is_refused_and_changes_nothing(world: World) -> None:
    _order_id, payment_id = await paid_payment(world)
    await refund(world)(RefundPaymentCommand(payment_id, amount=6000))
    with pytest.raises(RefundExceedsRefundable):
        await refund(world)(RefundPaymentCommand(payment_id, amount=4001))
    async with world.uow() as uow:
        payment = await uow.payments.get(payment_id)
    assert payment is not None and len(payment.refunds) == 1 and payment.amount_refunded == 6000


async def test_an_unpaid_payment_cannot_be_refunded(world: World) -> None:
    view = await world.order()
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    with pytest.raises(Unprocessable):
        await refund(world)(RefundPaymentCommand(intent.payment.id, amount=100))


async def test_unknown_reason_and_non_positive_amounts_are_validation_errors(world: World) -> None:
    _, payment_id = await paid_payment(world)
    with pytest.raises(ValidationFailed):
        await refund(world)(RefundPaymentCommand(payment_id, reason="because"))
    with pytest.raises(ValidationFailed):
        await refund(world)(RefundPaymentCommand(payment_id, amount=0))
