"""The mutating steps, each as a scenario: what must exist before it, the use-case call, and its right answer.

`act` is the whole client request: calling it again is the client's retry (over HTTP: the same request with the
same Idempotency-Key, which the idempotency layer runs afresh after a 5xx). `expect` checks the right answer in
hexpay and counts the objects at the gateway, returning the numbers it checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from application.use_cases.orders import GetOrder
from application.use_cases.payment_methods import ListPaymentMethods, SavePaymentMethod, SavePaymentMethodCommand
from application.use_cases.payments import (
    CapturePayment,
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.refunds import RefundPayment, RefundPaymentCommand
from domain.order import OrderStatus
from domain.payment import CaptureMethod, PaymentStatus
from tests.fakes.faulty_gateway import Step
from tests.faults.conftest import SHOPPER, FaultWorld

AMOUNT = 10_000
REFUNDED = 3_000
Context = dict[str, str]


@dataclass(frozen=True)
class Scenario:
    step: Step
    prepare: Callable[[FaultWorld], Awaitable[Context]]
    act: Callable[[FaultWorld, Context], Awaitable[Any]]
    expect: Callable[[FaultWorld, Context], Awaitable[dict[str, int]]]
    reconcilable: bool = True  # reconciliation repairs it without the client's retry

    def __str__(self) -> str:
        return self.step.value


async def _paid_order(world: FaultWorld, *, manual: bool = False) -> Context:
    view = await world.order(AMOUNT)
    card = await world.saved_card()
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(CreatePaymentCommand(
        SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True,
        capture_method=CaptureMethod.MANUAL if manual else CaptureMethod.AUTOMATIC))
    return {"order": view.order.id, "payment": intent.payment.id, "card": card}


async def _only_payment(world: FaultWorld, order_id: str) -> str:
    async with world.uow() as uow:
        payments = await uow.payments.list_for_order(order_id)
    assert len(payments) == 1, f"order {order_id} has {len(payments)} payments"
    return payments[0].id


async def _expect_paid(world: FaultWorld, ctx: Context) -> dict[str, int]:
    payment_id = ctx.get("payment") or await _only_payment(world, ctx["order"])
    payment = await GetPayment(world.uow)(payment_id)
    order = (await GetOrder(world.uow)(ctx["order"])).order
    intents = world.ledger.intents_of(payment_id)
    charges = world.ledger.successful_charges(payment_id)
    assert (len(intents), charges, world.ledger.money_taken()) == (1, 1, AMOUNT)
    assert payment.status is PaymentStatus.SUCCEEDED and payment.amount_received == AMOUNT
    assert order.status is OrderStatus.PAID
    return {"intents": len(intents), "charges": charges, "money_taken": world.ledger.money_taken()}


# ---- create: a confirming create with a saved card (the charge happens in the create call) -----------------------
async def _prepare_create(world: FaultWorld) -> Context:
    view = await world.order(AMOUNT)
    return {"order": view.order.id, "card": await world.saved_card()}


async def _act_create(world: FaultWorld, ctx: Context) -> Any:
    return await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(CreatePaymentCommand(
        SHOPPER, ctx["order"], world.account.id, payment_method_id=ctx["card"], confirm=True))


# ---- confirm ------------------------------------------------------------------------------------------------------
async def _prepare_confirm(world: FaultWorld) -> Context:
    view = await world.order(AMOUNT)
    card = await world.saved_card()
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id))
    return {"order": view.order.id, "payment": intent.payment.id, "card": card}


async def _act_confirm(world: FaultWorld, ctx: Context) -> Any:
    return await ConfirmPayment(world.uow, world.registry, world.clock, world.ids)(
        ConfirmPaymentCommand(SHOPPER, ctx["payment"], payment_method_id=ctx["card"]))


# ---- capture ------------------------------------------------------------------------------------------------------
async def _prepare_capture(world: FaultWorld) -> Context:
    return await _paid_order(world, manual=True)


async def _act_capture(world: FaultWorld, ctx: Context) -> Any:
    return await CapturePayment(world.uow, world.registry, world.clock)(ctx["payment"])


# ---- refund -------------------------------------------------------------------------------------------------------
async def _prepare_refund(world: FaultWorld) -> Context:
    return await _paid_order(world)


async def _act_refund(world: FaultWorld, ctx: Context) -> Any:
    return await RefundPayment(world.uow, world.registry, world.clock, world.ids)(RefundPaymentCommand(
        ctx["payment"], amount=REFUNDED, reason="requested_by_customer", request_key="client-refund-key-1"))


async def _expect_refunded(world: FaultWorld, ctx: Context) -> dict[str, int]:
    payment = await GetPayment(world.uow)(ctx["payment"])
    order = (await GetOrder(world.uow)(ctx["order"])).order
    at_gateway = world.ledger.refunds()
    assert [(amount, status) for _, amount, status in at_gateway] == [(REFUNDED, "succeeded")], at_gateway
    assert payment.amount_refunded == REFUNDED and order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.amount_refunded == REFUNDED
    return {"refunds_at_gateway": len(at_gateway), "refunded": sum(a for _, a, _ in at_gateway),
            "charges": world.ledger.successful_charges(ctx["payment"])}


# ---- attach -------------------------------------------------------------------------------------------------------
async def _prepare_attach(world: FaultWorld) -> Context:
    first = await world.saved_card()  # the gateway customer exists: this step is the attach alone
    return {"first": first, "token": world.card()}


async def _act_attach(world: FaultWorld, ctx: Context) -> Any:
    return await SavePaymentMethod(world.uow, world.registry, world.clock, world.ids)(
        SavePaymentMethodCommand(SHOPPER, world.account.id, ctx["token"]))


async def _expect_attached(world: FaultWorld, ctx: Context) -> dict[str, int]:
    saved = await ListPaymentMethods(world.uow)(SHOPPER)
    tokens = sorted(m.gateway_payment_method_id for m in saved)
    assert world.ledger.attached_methods() == 2 and len(saved) == 2, (world.ledger.attached_methods(), tokens)
    assert ctx["token"] in tokens and world.ledger.customers() == 1
    return {"attached_at_gateway": world.ledger.attached_methods(), "saved_at_hexpay": len(saved),
            "gateway_customers": world.ledger.customers()}


SCENARIOS = (
    Scenario(Step.CREATE, _prepare_create, _act_create, _expect_paid),
    Scenario(Step.CONFIRM, _prepare_confirm, _act_confirm, _expect_paid),
    Scenario(Step.CAPTURE, _prepare_capture, _act_capture, _expect_paid),
    Scenario(Step.REFUND, _prepare_refund, _act_refund, _expect_refunded),
    Scenario(Step.ATTACH, _prepare_attach, _act_attach, _expect_attached, reconcilable=False),
)
