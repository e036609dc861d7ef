"""Requests of one shopper arriving at once, interleaved at every gateway call (the sandbox is given latency)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from application.use_cases.payment_methods import ListPaymentMethods, SavePaymentMethod, SavePaymentMethodCommand
from tests.fakes.measurements import Measure
from tests.faults.conftest import SHOPPER, VISA, FaultWorld, make_world


@pytest.fixture(params=["memory", "postgres"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[FaultWorld]:
    """Memory serialises transactions that never wait; Postgres runs them truly at once."""
    if request.param == "memory":
        yield await make_world()
        return
    engine = create_engine(request.getfixturevalue("postgres_url"))
    try:
        yield await make_world(SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([Fernet.generate_key().decode()])))
    finally:
        await engine.dispose()


async def test_a_new_shoppers_first_cards_saved_at_once_are_all_saved_with_one_default(
    world: FaultWorld, measure: Measure
) -> None:
    world.plan.latency = 0.001
    tokens = [world.card(VISA) for _ in range(4)]
    save = SavePaymentMethod(world.uow, world.registry, world.clock, world.ids)

    saved = await asyncio.gather(*(save(SavePaymentMethodCommand(SHOPPER, world.account.id, token))
                                   for token in [*tokens, tokens[0]]))  # the first card twice, too

    listed = await ListPaymentMethods(world.uow)(SHOPPER)
    assert sorted(m.gateway_payment_method_id for m in listed) == sorted(tokens)
    assert sum(m.is_default for m in listed) == 1
    assert saved[0].id == saved[-1].id  # saving the same card at the same time gives one saved card
    assert world.ledger.attached_methods() == 4 and world.ledger.customers() == 1
    measure("first cards at once", requests=len(saved), saved=len(listed), defaults=1,
            attached_at_gateway=world.ledger.attached_methods())
