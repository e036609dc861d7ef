"""Every mutating step, failed at the gateway every way it fails in production, then retried or reconciled.

For each (step, fault): the client's call raises a clear retryable error (GatewayUnavailable; for a process that
died before commit, the database's failure) and changes nothing it should not; then either
- the client retries the same call: the right answer, exactly one object and one charge at the gateway; or
- nobody retries and reconciliation runs: hexpay converges on the gateway's truth.
Either way, after every webhook is delivered and reconciliation ran, every payment, refund, order, invoice and
event equals what the gateway holds (tests.fakes.truth).
"""

from __future__ import annotations

import pytest

from domain.errors import GatewayUnavailable
from tests.fakes.faulty_gateway import Fault
from tests.fakes.faulty_uow import DatabaseFailed
from tests.fakes.measurements import Measure
from tests.faults.conftest import FaultWorld, make_world
from tests.faults.scenarios import SCENARIOS, Scenario

FAULTS = list(Fault)


def expected_error(fault: Fault) -> type[Exception]:
    return DatabaseFailed if fault is Fault.DIED_BEFORE_COMMIT else GatewayUnavailable


async def fail_once(world: FaultWorld, scenario: Scenario, fault: Fault) -> dict[str, str]:
    ctx = await scenario.prepare(world)
    world.plan.arm(scenario.step, fault)
    with pytest.raises(expected_error(fault)):
        await scenario.act(world, ctx)
    assert world.plan.injected == [(scenario.step, fault)]
    return ctx


async def converged(world: FaultWorld) -> dict[str, int]:
    """Deliver what the gateway sent, reconcile, and compare everything with the gateway's books."""
    await world.deliver_webhooks()
    await world.reconcile()
    agreement = await world.agreement()
    assert agreement.problems == [], agreement.problems
    return dict(agreement.counts)


@pytest.mark.parametrize("fault", FAULTS, ids=str)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_a_retry_after_a_gateway_fault_gives_the_right_answer_and_one_object(
    scenario: Scenario, fault: Fault, measure: Measure
) -> None:
    world = await make_world()
    ctx = await fail_once(world, scenario, fault)

    await scenario.act(world, ctx)  # the client's retry: the same call

    numbers = await scenario.expect(world, ctx)
    counts = await converged(world)
    assert await scenario.expect(world, ctx) == numbers  # reconciliation did not add a second object either
    measure(f"{scenario}/{fault} retried", attempts=world.plan.attempts[scenario.step], **numbers,
            checked={k: v for k, v in counts.items() if k not in numbers})


@pytest.mark.parametrize("fault", FAULTS, ids=str)
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.reconcilable], ids=str)
async def test_without_a_retry_reconciliation_converges_on_the_gateways_truth(
    scenario: Scenario, fault: Fault, measure: Measure
) -> None:
    world = await make_world()
    await fail_once(world, scenario, fault)
    world.drop_webhooks()  # the worst case: not one webhook reaches hexpay

    first = await world.reconcile()
    second = await world.reconcile(after=world_hour())

    agreement = await world.agreement()
    assert agreement.problems == [], agreement.problems
    assert len(world.ledger.intents()) <= 1 and world.ledger.successful_charges() <= 1
    assert len(world.ledger.refunds()) <= 1
    measure(f"{scenario}/{fault} reconciled", first_run_changed=first.changed, second_run_checked=second.checked,
            gateway_intents=len(world.ledger.intents()), charges=world.ledger.successful_charges(),
            refunds_at_gateway=len(world.ledger.refunds()), checked=dict(agreement.counts))


def world_hour():  # type: ignore[no-untyped-def]
    """Past the grace after which a creation the gateway never saw is given up."""
    from datetime import timedelta

    return timedelta(minutes=61)
