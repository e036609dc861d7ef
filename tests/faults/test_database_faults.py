"""The database fails in the middle of a request: at each commit of each mutating step in turn.

A dry run counts the commits a step makes; then for every k, a fresh world fails commit k. The client sees the
failure; its retry gets the right answer with exactly one object and one charge at the gateway; and after the
webhooks and a reconciliation run, hexpay equals the gateway's books.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from application.use_cases.payments import CreatePaymentCommand, CreatePaymentForOrder, GetPayment
from application.use_cases.webhooks import HandleGatewayWebhook
from domain.payment import PaymentStatus
from tests.fakes.faulty_uow import DatabaseFailed
from tests.fakes.measurements import Measure
from tests.fakes.truth import all_events
from tests.faults.conftest import SHOPPER, THREE_DS, make_world
from tests.faults.scenarios import SCENARIOS, Scenario


async def commits_of(scenario: Scenario) -> int:
    world = await make_world()
    ctx = await scenario.prepare(world)
    before = world.uow.commits
    await scenario.act(world, ctx)
    return world.uow.commits - before


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_the_database_failing_at_any_commit_of_a_step_is_repaired_by_a_retry(
    scenario: Scenario, measure: Measure
) -> None:
    total = await commits_of(scenario)
    assert total >= 1
    for k in range(1, total + 1):
        world = await make_world()
        ctx = await scenario.prepare(world)
        world.uow.fail_commit(k)
        with pytest.raises(DatabaseFailed):
            await scenario.act(world, ctx)
        assert world.uow.failed == 1

        await scenario.act(world, ctx)

        numbers = await scenario.expect(world, ctx)
        await world.deliver_webhooks()
        await world.reconcile()
        agreement = await world.agreement()
        assert agreement.problems == [], (k, agreement.problems)
        assert await scenario.expect(world, ctx) == numbers
        measure(f"{scenario}: commit {k} of {total} failed, then retried", **numbers,
                checks=agreement.counts["checks"])


async def test_a_webhook_whose_transaction_failed_takes_effect_when_the_gateway_delivers_it_again(
    measure: Measure
) -> None:
    world = await make_world()
    card = await world.saved_card(THREE_DS)
    view = await world.order(5_000)
    intent = await CreatePaymentForOrder(world.uow, world.registry, world.clock, world.ids)(
        CreatePaymentCommand(SHOPPER, view.order.id, world.account.id, payment_method_id=card, confirm=True))
    assert intent.payment.gateway_payment_id
    world.drop_webhooks()
    world.network.authenticate(intent.payment.gateway_payment_id, success=True)
    deliveries = world.network.drain_webhooks(world.account.id)
    handle = HandleGatewayWebhook(world.uow, world.registry, world.clock, world.ids)

    failed = 0
    for body, headers in deliveries:  # every first delivery dies before its commit
        world.uow.fail_next_commit()
        with pytest.raises(DatabaseFailed):
            await handle(world.account.id, body, headers)
        failed += 1
    assert (await GetPayment(world.uow)(intent.payment.id)).status is PaymentStatus.REQUIRES_ACTION

    redelivered = deliveries * 3  # the gateway retries, more than once, in any order
    random.Random(6).shuffle(redelivered)
    outcomes = Counter([(await handle(world.account.id, body, headers)).duplicate for body, headers in redelivered])

    events = await all_events(world.uow)
    assert (await GetPayment(world.uow)(intent.payment.id)).status is PaymentStatus.SUCCEEDED
    assert [e.type for e in events].count("PaymentSucceeded") == 1 and outcomes[False] == len(deliveries)
    assert (await world.agreement()).problems == []
    measure("webhooks failed then redelivered", events=len(deliveries), failed_first=failed,
            redeliveries=len(redelivered), taken=outcomes[False], duplicates=outcomes[True])
