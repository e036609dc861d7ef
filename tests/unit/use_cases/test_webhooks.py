"""Webhooks through the use case: exactly once per event, any order, never trusting a disagreeing amount.

The sandbox signs its events with Stripe's scheme; synthetic events below are signed the same way."""

from __future__ import annotations

import json
import random

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.stripe_wire.signature import sign
from application.use_cases.orders import GetOrder
from application.use_cases.payments import (
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.errors import InvalidSignature, NotFound
from domain.order import OrderStatus
from domain.payment import PaymentStatus
from tests.unit.use_cases.conftest import SHOPPER, WEBHOOK_SECRET, World
from tests.unit.use_cases.test_payments import THREE_DS, saved
from tests.unit.use_cases.test_settle_report import CountingReads


def handle(world: World) -> HandleGatewayWebhook:
    return HandleGatewayWebhook(world.uow, world.registry, world.clock, world.ids)


def signed(world: World, event: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    timestamp = int(world.clock.now().timestamp())
    return body, {"Stripe-Signature": sign(body, WEBHOOK_SECRET, timestamp)}


def intent_event(event_id: str, type_: str, *, intent_id: str, payment_id: str, status: str, amount: int,
                 received: int, created: int, currency: str = "usd",
                 error: dict[str, str] | None = None) -> dict[str, object]:
    return {"id": event_id, "object": "event", "type": type_, "created": created, "livemode": False,
            "data": {"object": {"id": intent_id, "object": "payment_intent", "status": status, "amount": amount,
                                "amount_received": received, "amount_capturable": 0, "currency": currency,
                                "capture_method": "automatic", "last_payment_error": error, "next_action": None,
                                "metadata": {"hexpay_payment_id": payment_id}}}}


async def open_intent(world: World) -> tuple[str, str, str]:
    view = await world.order(amount=2500)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    assert intent.payment.gateway_payment_id is not None
    world.webhooks()
    return view.order.id, intent.payment.id, intent.payment.gateway_payment_id


async def test_the_same_event_twice_takes_effect_once(world: World) -> None:
    order_id, payment_id, pi = await open_intent(world)
    created = int(world.clock.now().timestamp()) + 5
    body, headers = signed(world, intent_event("evt_1", "payment_intent.succeeded", intent_id=pi,
                                               payment_id=payment_id, status="succeeded", amount=2500,
                                               received=2500, created=created))
    first = await handle(world)(world.account.id, body, headers)
    second = await handle(world)(world.account.id, body, headers)
    assert (first.duplicate, first.outcome) == (False, "applied")
    assert second.duplicate
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.PAID
    async with world.uow() as uow:
        events = await uow.events.list_after(None, 500)
    assert [e.type for e in events].count("OrderPaid") == 1


async def test_a_late_payment_failed_after_succeeded_changes_nothing(world: World) -> None:
    order_id, payment_id, pi = await open_intent(world)
    t = int(world.clock.now().timestamp())
    succeeded = intent_event("evt_ok", "payment_intent.succeeded", intent_id=pi, payment_id=payment_id,
                             status="succeeded", amount=2500, received=2500, created=t + 10)
    failed = intent_event("evt_fail", "payment_intent.payment_failed", intent_id=pi, payment_id=payment_id,
                          status="requires_payment_method", amount=2500, received=0, created=t + 5,
                          error={"code": "card_declined", "decline_code": "generic_decline", "message": "no"})
    assert (await handle(world)(world.account.id, *signed(world, succeeded))).outcome == "applied"
    assert (await handle(world)(world.account.id, *signed(world, failed))).outcome == "stale"
    payment = await GetPayment(world.uow)(payment_id)
    assert payment.status is PaymentStatus.SUCCEEDED and payment.last_payment_error is None
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.PAID


async def test_an_event_whose_amount_disagrees_is_recorded_and_never_pays_the_order(world: World) -> None:
    order_id, payment_id, pi = await open_intent(world)
    forged = intent_event("evt_forged", "payment_intent.succeeded", intent_id=pi, payment_id=payment_id,
                          status="succeeded", amount=100, received=100,
                          created=int(world.clock.now().timestamp()) + 1)
    result = await handle(world)(world.account.id, *signed(world, forged))
    assert result.outcome == "anomaly" and not result.duplicate
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.PENDING_PAYMENT
    async with world.uow() as uow:
        entry = await uow.webhook_inbox.get(world.account.id, "evt_forged")
        events = [e.type for e in await uow.events.list_after(None, 500)]
    assert entry is not None and entry.outcome == "anomaly"
    assert "SettlementAnomalyDetected" in events and "OrderPaid" not in events


async def test_a_bad_signature_is_refused_and_stores_nothing(world: World) -> None:
    _, payment_id, pi = await open_intent(world)
    body, headers = signed(world, intent_event("evt_x", "payment_intent.succeeded", intent_id=pi,
                                               payment_id=payment_id, status="succeeded", amount=2500,
                                               received=2500, created=int(world.clock.now().timestamp())))
    with pytest.raises(InvalidSignature):
        await handle(world)(world.account.id, body.replace(b"2500", b"2600"), headers)
    async with world.uow() as uow:
        assert await uow.webhook_inbox.get(world.account.id, "evt_x") is None


async def test_unknown_types_and_unknown_payments_are_recorded_without_effect(world: World) -> None:
    t = int(world.clock.now().timestamp())
    unknown_type = {"id": "evt_u", "object": "event", "type": "customer.created", "created": t,
                    "data": {"object": {"id": "cus_1", "object": "customer"}}}
    assert (await handle(world)(world.account.id, *signed(world, unknown_type))).outcome == "ignored"
    stranger = intent_event("evt_s", "payment_intent.succeeded", intent_id="pi_nobody", payment_id="pay_nobody",
                            status="succeeded", amount=2500, received=2500, created=t)
    assert (await handle(world)(world.account.id, *signed(world, stranger))).outcome == "unknown_payment"


async def test_a_gateway_can_be_named_by_its_kind_when_it_is_the_only_one(world: World) -> None:
    _, payment_id, pi = await open_intent(world)
    event = intent_event("evt_k", "payment_intent.processing", intent_id=pi, payment_id=payment_id,
                         status="processing", amount=2500, received=0, created=int(world.clock.now().timestamp()))
    assert not (await handle(world)("sandbox", *signed(world, event))).duplicate
    with pytest.raises(NotFound):
        await handle(world)("stripe", *signed(world, event))


async def test_sandbox_events_delivered_shuffled_and_duplicated_settle_like_in_order(world: World) -> None:
    """A 3-D Secure payment with a failed first authentication, its real events replayed in chaos."""
    rng = random.Random(7)
    view = await world.order(amount=4200)
    card = await saved(world, THREE_DS)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card))
    pi = intent.payment.gateway_payment_id
    assert pi is not None
    confirm = ConfirmPayment(world.uow, world.registry, world.clock, world.ids)
    await confirm(ConfirmPaymentCommand(SHOPPER, intent.payment.id))
    world.clock.advance(2)
    world.network.authenticate(pi, success=False)
    world.clock.advance(2)
    await confirm(ConfirmPaymentCommand(SHOPPER, intent.payment.id, payment_method_id=card))
    world.clock.advance(2)
    world.network.authenticate(pi, success=True)
    deliveries = world.webhooks()
    assert len(deliveries) >= 4
    chaos = deliveries + rng.sample(deliveries, k=len(deliveries) // 2)
    rng.shuffle(chaos)
    results = [await handle(world)(world.account.id, body, headers) for body, headers in chaos]

    assert sum(not r.duplicate for r in results) == len({json.loads(b)["id"] for b, _ in deliveries})
    payment = await GetPayment(world.uow)(intent.payment.id)
    assert payment.status is PaymentStatus.SUCCEEDED and payment.amount_received == 4200
    assert (await GetOrder(world.uow)(view.order.id)).order.status is OrderStatus.PAID


class CountingUnitsOfWork(MemoryUnitOfWorkFactory):
    """The world's store, every unit of work counting its reads of orders and invoices into one list."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.counters: list[CountingReads] = []

    def __call__(self) -> MemoryUnitOfWork:
        uow = super().__call__()
        self.counters.append(CountingReads(uow))
        return uow

    def reads(self) -> int:
        return sum(counter.reads for counter in self.counters)


async def test_an_event_that_does_not_succeed_settles_without_reading_order_or_invoice(world: World) -> None:
    """A decline reported alone moves the payment and reads neither order nor invoice (a round trip fewer under
    the payment's lock); the success after it reads both, at once, and pays them."""
    order_id, payment_id, pi = await open_intent(world)
    counting = CountingUnitsOfWork(world.store)
    receive = HandleGatewayWebhook(counting, world.registry, world.clock, world.ids)
    t = int(world.clock.now().timestamp())
    declined = intent_event("evt_declined", "payment_intent.payment_failed", intent_id=pi, payment_id=payment_id,
                            status="requires_payment_method", amount=2500, received=0, created=t + 5,
                            error={"code": "card_declined", "decline_code": "generic_decline", "message": "no"})
    assert (await receive(world.account.id, *signed(world, declined))).outcome == "applied"
    assert counting.reads() == 0
    assert (await GetPayment(world.uow)(payment_id)).last_payment_error is not None
    succeeded = intent_event("evt_paid", "payment_intent.succeeded", intent_id=pi, payment_id=payment_id,
                             status="succeeded", amount=2500, received=2500, created=t + 10)
    assert (await receive(world.account.id, *signed(world, succeeded))).outcome == "applied"
    assert counting.reads() == 1
    assert (await GetOrder(world.uow)(order_id)).order.status is OrderStatus.PAID
