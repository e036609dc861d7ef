from __future__ import annotations

from typing import Any

import pytest

from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.sandbox import SandboxNetwork, SandboxPaymentGateway
from application.ports.gateway import GatewayKindInfo
from application.use_cases.orders import CancelOrder, GetOrder
from application.use_cases.payment_methods import SavePaymentMethod, SavePaymentMethodCommand
from application.use_cases.payments import (
    CancelPayment,
    CapturePayment,
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.errors import AmountNotAllowed, Conflict, IllegalTransition, NotFound
from domain.gateway_account import GatewayAccount
from domain.invoice import InvoiceStatus
from domain.order import OrderStatus
from domain.payment import CaptureMethod, PaymentSnapshot, PaymentStatus
from tests.unit.use_cases.conftest import SHOPPER, World

VISA, THREE_DS, DECLINES_ON_CHARGE = "4242424242424242", "4000002760003184", "4000000000000341"


async def saved(world: World, number: str) -> str:
    method = await SavePaymentMethod(world.uow, world.registry, world.clock, world.ids)(
        SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(number)))
    return method.id


def create(world: World) -> CreatePaymentForOrder:
    return CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)


def confirm(world: World) -> ConfirmPayment:
    return ConfirmPayment(world.uow, world.registry, world.clock, world.ids)


async def deliver_webhooks(world: World) -> list[str]:
    handle = HandleGatewayWebhook(world.uow, world.registry, world.clock, world.ids)
    return [(await handle(world.account.id, body, headers)).outcome for body, headers in world.webhooks()]


async def test_pay_an_order_without_3ds_pays_order_and_invoice(world: World) -> None:
    view = await world.order(amount=2500)
    card = await saved(world, VISA)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    assert intent.created and intent.payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert intent.payment.client_secret and intent.payment.gateway_payment_id

    paid = await confirm(world)(ConfirmPaymentCommand(SHOPPER, intent.payment.id, payment_method_id=card))

    assert paid.status is PaymentStatus.SUCCEEDED and paid.amount_received == 2500
    after = await GetOrder(world.uow)(view.order.id)
    assert after.order.status is OrderStatus.PAID
    assert (after.invoice.status, after.invoice.amount_paid, after.invoice.amount_remaining) == (
        InvoiceStatus.PAID, 2500, 0)
    # The webhooks of what already settled change nothing more.
    assert set(await deliver_webhooks(world)) <= {"unchanged", "ignored"}


async def test_3ds_payment_requires_action_then_the_webhook_pays_the_order(world: World) -> None:
    view = await world.order()
    card = await saved(world, THREE_DS)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id,
                                                      payment_method_id=card))
    pending = await confirm(world)(ConfirmPaymentCommand(SHOPPER, intent.payment.id))
    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert pending.next_action is not None and pending.next_action.type == "redirect_to_url"
    assert pending.next_action.url and pending.gateway_payment_id in pending.next_action.url
    world.webhooks()  # the requires_action event, already settled by the confirm answer

    world.network.authenticate(pending.gateway_payment_id, success=True)
    assert "applied" in await deliver_webhooks(world)

    assert (await GetPayment(world.uow)(intent.payment.id)).status is PaymentStatus.SUCCEEDED
    assert (await GetOrder(world.uow)(view.order.id)).order.status is OrderStatus.PAID


async def test_a_decline_is_an_answer_and_a_retry_with_another_card_succeeds(world: World) -> None:
    view = await world.order()
    bad, good = await saved(world, DECLINES_ON_CHARGE), await saved(world, VISA)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))

    declined = await confirm(world)(ConfirmPaymentCommand(SHOPPER, intent.payment.id, payment_method_id=bad))
    assert declined.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert declined.last_payment_error is not None
    assert declined.last_payment_error.code == "card_declined"
    assert (await GetOrder(world.uow)(view.order.id)).order.status is OrderStatus.PENDING_PAYMENT

    paid = await confirm(world)(ConfirmPaymentCommand(SHOPPER, intent.payment.id, payment_method_id=good))
    assert paid.id == declined.id and paid.status is PaymentStatus.SUCCEEDED
    assert paid.last_payment_error is None
    assert paid.gateway_payment_id is not None
    at_gateway = world.network.retrieve_payment_intent(world.account.id, paid.gateway_payment_id)
    assert (at_gateway["status"], at_gateway["amount_received"]) == ("succeeded", 2500)


async def test_the_live_payment_is_returned_instead_of_a_second_one(world: World) -> None:
    view = await world.order()
    first = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    again = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    assert not again.created and again.payment.id == first.payment.id
    assert again.payment.gateway_payment_id == first.payment.gateway_payment_id


async def test_a_paid_order_cannot_be_paid_again_nor_canceled(world: World) -> None:
    view = await world.order()
    card = await saved(world, VISA)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id,
                                                      payment_method_id=card, confirm=True))
    assert intent.payment.status is PaymentStatus.SUCCEEDED
    # the live payment is final now, so a new intent would be a second charge: refused
    with pytest.raises(Conflict):
        await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    with pytest.raises(Conflict):
        await CancelOrder(world.uow, world.registry, world.clock)(view.order.id)


async def test_manual_capture_of_part_of_the_authorization(world: World) -> None:
    view = await world.order(amount=5000)
    card = await saved(world, VISA)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id,
                                                      payment_method_id=card, confirm=True,
                                                      capture_method=CaptureMethod.MANUAL))
    assert intent.payment.status is PaymentStatus.REQUIRES_CAPTURE
    assert intent.payment.amount_capturable == 5000
    assert (await GetOrder(world.uow)(view.order.id)).order.status is OrderStatus.PENDING_PAYMENT

    captured = await CapturePayment(world.uow, world.registry, world.clock)(intent.payment.id, 3000)
    assert captured.status is PaymentStatus.SUCCEEDED and captured.amount_received == 3000
    after = await GetOrder(world.uow)(view.order.id)
    assert after.order.status is OrderStatus.PAID and after.invoice.amount_paid == 3000


async def test_cancel_order_cancels_its_live_payment_and_voids_the_invoice(world: World) -> None:
    view = await world.order()
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    canceled = await CancelOrder(world.uow, world.registry, world.clock)(view.order.id)
    assert canceled.order.status is OrderStatus.CANCELED and canceled.invoice.status is InvoiceStatus.VOID
    assert (await GetPayment(world.uow)(intent.payment.id)).status is PaymentStatus.CANCELED
    with pytest.raises(Conflict):
        await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))


async def test_cancel_payment_then_cancel_is_idempotent_and_capture_is_refused(world: World) -> None:
    view = await world.order()
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    cancel = CancelPayment(world.uow, world.registry, world.clock)
    assert (await cancel(intent.payment.id)).status is PaymentStatus.CANCELED
    assert (await cancel(intent.payment.id)).status is PaymentStatus.CANCELED
    with pytest.raises(IllegalTransition):
        await CapturePayment(world.uow, world.registry, world.clock)(intent.payment.id)


async def test_amounts_the_gateway_would_refuse_fail_before_any_call(world: World) -> None:
    view = await world.order(amount=49)  # below Stripe's 0.50 usd minimum
    with pytest.raises(AmountNotAllowed):
        await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    async with world.uow() as uow:
        assert await uow.payments.list_for_order(view.order.id) == []


async def test_another_shopper_cannot_pay_or_read_my_order(world: World) -> None:
    from application.use_cases.payment_methods import Shopper

    view = await world.order()
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    stranger = Shopper("intruder")
    with pytest.raises(NotFound):
        await create(world)(CreatePaymentCommand(stranger, view.order.id, world.account.id))
    with pytest.raises(NotFound):
        await confirm(world)(ConfirmPaymentCommand(stranger, intent.payment.id))
    with pytest.raises(NotFound):
        await GetPayment(world.uow)(intent.payment.id, customer_reference="intruder")


class _AnswerOvertakenByItsWebhook(SandboxPaymentGateway):
    """The sandbox, whose events about a confirm reach hexpay (and are settled) before its answer does."""

    def __init__(self, account: GatewayAccount, network: SandboxNetwork, world: World) -> None:
        super().__init__(account, network)
        self.world = world
        self.overtaken: list[str] = []

    async def confirm_payment(self, **kwargs: Any) -> PaymentSnapshot:
        snapshot = await super().confirm_payment(**kwargs)
        self.overtaken += await deliver_webhooks(self.world)
        return snapshot


async def published(world: World) -> list[str]:
    async with world.uow.reader() as uow:
        return [event.type for event in await uow.events.list_after(None, 10_000)]


async def test_an_answer_overtaken_by_its_webhook_settles_once_on_the_payment_as_it_now_is(world: World) -> None:
    await answer_overtaken_by_its_webhook(world)


async def answer_overtaken_by_its_webhook(world: World) -> None:
    """The confirm's answer is settled on the payment as the attempt left it, without reading it again; here the
    webhook settled it first, so that version check fails and the answer is settled again on a fresh read: the
    payment, order and invoice paid once, each event published once, nothing lost of the webhook's work. (DESIGN.md:
    a webhook and a client confirm racing each other serialise.) Also run on Postgres, by
    tests/integration/test_answer_overtaken.py."""
    view = await world.order(amount=2500)
    card = await saved(world, VISA)
    intent = await create(world)(CreatePaymentCommand(SHOPPER, view.order.id, world.account.id,
                                                      payment_method_id=card))
    world.webhooks()  # the creation's events, settled already
    gateways: list[_AnswerOvertakenByItsWebhook] = []
    registry = EntryPointGatewayRegistry()

    def overtaken(account: GatewayAccount) -> _AnswerOvertakenByItsWebhook:
        gateways.append(_AnswerOvertakenByItsWebhook(account, world.network, world))
        return gateways[-1]

    registry.register(GatewayKindInfo(kind="sandbox", factory=overtaken))
    published_before = len(await published(world))

    paid = await ConfirmPayment(world.uow, registry, world.clock, world.ids)(
        ConfirmPaymentCommand(SHOPPER, intent.payment.id))

    assert "applied" in gateways[0].overtaken  # the webhook did settle the success first
    assert (paid.status, paid.amount_received) == (PaymentStatus.SUCCEEDED, 2500)
    after = await GetOrder(world.uow)(view.order.id)
    assert after.order.status is OrderStatus.PAID
    assert (after.invoice.status, after.invoice.amount_paid) == (InvoiceStatus.PAID, 2500)
    new = (await published(world))[published_before:]
    assert sorted(set(new)) == sorted(new), new  # no event twice
    assert {"PaymentSucceeded", "OrderPaid", "InvoicePaid"} <= set(new), new
