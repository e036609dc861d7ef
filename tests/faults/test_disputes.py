"""Disputes: the sandbox card 4000000000000259 is disputed after it is charged; charge.dispute.created and
.closed are recorded on the payment and published in the event feed, in any delivery order; a lost dispute
takes the money back from the order, a won one leaves it paid."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from application.use_cases.orders import GetOrder
from application.use_cases.payments import CreatePaymentCommand, CreatePaymentForOrder, GetPayment
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.order import OrderStatus
from domain.payment import PaymentStatus
from tests.fakes.measurements import Measure
from tests.fakes.truth import all_events
from tests.faults.conftest import DISPUTED, SHOPPER, FaultWorld


@pytest.mark.parametrize("won", [False, True], ids=["lost", "won"])
async def test_a_dispute_is_recorded_published_and_a_lost_one_takes_the_money_back(
    world: FaultWorld, won: bool, measure: Measure
) -> None:
    view = await world.order(7_700)
    card = await world.saved_card(DISPUTED)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True))
    assert intent.payment.status is PaymentStatus.SUCCEEDED
    assert world.network.run_deferred() == 1  # the shopper's bank opens the dispute a moment later
    [(dispute_id, _, amount, status)] = world.ledger.disputes()
    assert (amount, status) == (7_700, "needs_response")
    world.network.close_dispute(dispute_id, won=won)

    deliveries = world.network.drain_webhooks(world.account.id) * 2  # every event twice, shuffled
    random.Random(259).shuffle(deliveries)
    handle = HandleGatewayWebhook(world.uow, world.registry, world.clock, world.ids)
    outcomes = Counter([(await handle(world.account.id, body, headers)).outcome for body, headers in deliveries])

    payment = await GetPayment(world.uow)(intent.payment.id)
    order = (await GetOrder(world.uow)(view.order.id)).order
    [dispute] = payment.disputes
    final = "won" if won else "lost"
    assert (dispute.gateway_dispute_id, dispute.status, dispute.amount, dispute.reason) == (
        dispute_id, final, 7_700, "fraudulent")
    feed = Counter(e.type for e in await all_events(world.uow) if e.type.startswith("Dispute"))
    assert feed == {"DisputeOpened": 1, "DisputeClosed": 1}
    if won:
        assert (order.status, order.amount_refunded, payment.refundable_amount) == (OrderStatus.PAID, 0, 7_700)
    else:
        assert (order.status, order.amount_refunded, payment.refundable_amount) == (OrderStatus.REFUNDED, 7_700, 0)
        assert payment.amount_lost_to_disputes == 7_700
    agreement = await world.agreement(disputes=True)
    assert agreement.problems == [], agreement.problems
    measure(f"dispute {final}", deliveries=len(deliveries), outcomes=dict(outcomes), feed=dict(feed),
            order=order.status.value, order_refunded=order.amount_refunded, refundable=payment.refundable_amount)
