"""Reconciliation converges on the gateway's truth: lost webhooks, lost creations, timed-out refunds, and several
reconcilers running at once. Postgres's SKIP LOCKED version is tests/faults/test_reconcile_postgres.py."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from application.use_cases.payments import (
    ConfirmPayment,
    ConfirmPaymentCommand,
    CreatePaymentCommand,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.reconcile import Reconcile
from application.use_cases.refunds import RefundPayment, RefundPaymentCommand
from domain.errors import GatewayUnavailable
from domain.payment import PaymentStatus
from domain.refund import RefundStatus
from tests.fakes.faulty_gateway import Fault, Step
from tests.fakes.measurements import Measure
from tests.fakes.truth import all_events
from tests.faults.conftest import SHOPPER, THREE_DS, FaultWorld


async def three_ds_payments(world: FaultWorld, count: int) -> list[str]:
    """`count` payments waiting for 3-D Secure, their gateway ids."""
    card = await world.saved_card(THREE_DS)
    pending = []
    for _ in range(count):
        view = await world.order(2_000)
        intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
            CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card))
        payment = await ConfirmPayment(world.uow, world.registry, world.clock, world.ids)(
            ConfirmPaymentCommand(SHOPPER, intent.payment.id))
        assert payment.status is PaymentStatus.REQUIRES_ACTION and payment.gateway_payment_id
        pending.append(payment.gateway_payment_id)
    return pending


async def test_payments_whose_webhooks_were_all_lost_settle_by_reconciliation(
    world: FaultWorld, measure: Measure
) -> None:
    intents = await three_ds_payments(world, 12)
    for gateway_id in intents[:5]:
        world.network.authenticate(gateway_id, success=True)
    for gateway_id in intents[5:9]:
        world.network.authenticate(gateway_id, success=False)
    dropped = world.drop_webhooks()  # intents[9:] stay in requires_action: the shopper walked away

    first = await world.reconcile()
    second = await world.reconcile()

    agreement = await world.agreement()
    assert agreement.problems == [], agreement.problems
    statuses = Counter(i.status for i in world.ledger.intents())
    assert statuses == {"succeeded": 5, "requires_payment_method": 4, "requires_action": 3}
    moves = Counter(e.type for e in await all_events(world.uow) if e.type in ("PaymentSucceeded", "PaymentFailed"))
    assert moves == {"PaymentSucceeded": 5, "PaymentFailed": 4}
    assert (first.checked, first.failed) == (12, 0)
    assert second.checked == 7  # the live ones are watched again; their state no longer moves
    measure("lost webhooks", webhooks_dropped=dropped, first_checked=first.checked, first_changed=first.changed,
            second_checked=second.checked, succeeded=moves["PaymentSucceeded"], failed=moves["PaymentFailed"],
            checked=dict(agreement.counts))


async def test_a_creation_whose_answer_was_lost_is_found_by_its_metadata(world: FaultWorld, measure: Measure) -> None:
    view = await world.order(4_200)
    card = await world.saved_card()
    world.plan.arm(Step.CREATE, Fault.ANSWER_LOST)
    with pytest.raises(GatewayUnavailable):
        await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
            CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True))
    async with world.uow() as uow:
        [orphan] = await uow.payments.list_for_order(view.order.id)
    assert orphan.gateway_payment_id is None
    world.drop_webhooks()

    result = await world.reconcile()

    found = await GetPayment(world.uow)(orphan.id)
    [intent] = world.ledger.intents()
    assert found.gateway_payment_id == intent.gateway_payment_id and intent.payment_id == orphan.id
    assert found.status is PaymentStatus.SUCCEEDED and world.plan.reads["find_payment"] == 1
    assert (await world.agreement()).problems == []
    measure("lost creation", checked=result.checked, changed=result.changed, intents=len(world.ledger.intents()),
            charges=world.ledger.successful_charges(), find_payment_calls=world.plan.reads["find_payment"])


async def test_a_refund_whose_request_timed_out_is_replayed_with_the_same_key(
    world: FaultWorld, measure: Measure
) -> None:
    view = await world.order(9_000)
    card = await world.saved_card()
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True))
    world.plan.arm(Step.REFUND, Fault.ANSWER_LOST)
    with pytest.raises(GatewayUnavailable):
        await RefundPayment(world.uow, world.registry, world.clock, world.ids)(
            RefundPaymentCommand(intent.payment.id, amount=2_500))
    assert len(world.ledger.refunds()) == 1  # the gateway did refund; hexpay does not know its id
    world.drop_webhooks()

    first = await world.reconcile()
    second = await world.reconcile()

    payment = await GetPayment(world.uow)(intent.payment.id)
    [refund] = payment.refunds
    [(gateway_refund_id, amount, status)] = world.ledger.refunds()
    assert (refund.gateway_refund_id, refund.amount) == (gateway_refund_id, 2_500)
    assert refund.status is RefundStatus.SUCCEEDED
    assert (amount, status) == (2_500, "succeeded") and world.plan.attempts[Step.REFUND] == 2
    assert (first.changed, second.checked) == (1, 0)
    assert (await world.agreement()).problems == []
    measure("timed-out refund", refund_requests=world.plan.attempts[Step.REFUND],
            refunds_at_gateway=len(world.ledger.refunds()), refunded=amount, first_changed=first.changed,
            second_checked=second.checked)


async def test_reconcilers_running_at_once_share_the_work_and_change_each_payment_once(
    world: FaultWorld, measure: Measure
) -> None:
    intents = await three_ds_payments(world, 20)
    for gateway_id in intents:
        world.network.authenticate(gateway_id, success=True)
    world.drop_webhooks()
    world.clock.advance(11 * 60)
    world.plan.latency = 0.001
    reads_before = world.plan.reads["retrieve_payment"]

    def reconciler() -> Reconcile:
        return Reconcile(world.uow, world.registry, world.clock, world.ids)

    results = await asyncio.gather(*(reconciler()(limit=5) for _ in range(4)))

    events = await all_events(world.uow)
    succeeded = Counter(e.data["payment_id"] for e in events if e.type == "PaymentSucceeded")
    reads = world.plan.reads["retrieve_payment"] - reads_before
    assert sum(r.changed for r in results) == 20 and sum(r.failed for r in results) == 0
    assert len(succeeded) == 20 and set(succeeded.values()) == {1}
    assert [r.checked for r in results] == [5, 5, 5, 5] and reads == 20  # each payment read by one of them
    assert (await world.agreement()).problems == []
    measure("4 reconcilers", checked=[r.checked for r in results], changed=[r.changed for r in results],
            gateway_reads=reads, payment_succeeded_events=sum(succeeded.values()))
