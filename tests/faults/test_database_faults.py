"""The database fails in the middle of a request: at each commit of each mutating step in turn.

A dry run counts the commits a step makes; then for every k, a fresh world fails commit k. The client sees the
failure; its retry gets the right answer with exactly one object and one charge at the gateway; and after the
webhooks and a reconciliation run, hexpay equals the gateway's books.
"""

from __future__ import annotations

import pytest

from tests.fakes.faulty_uow import DatabaseFailed
from tests.fakes.measurements import Measure
from tests.faults.conftest import make_world
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
