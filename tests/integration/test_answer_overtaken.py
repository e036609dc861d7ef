"""DESIGN.md: a webhook and a client confirm racing each other serialise. The confirm's answer is settled on the
payment as the attempt left it, its version standing in for a row lock; here, on Postgres, the webhook settles the
payment inside the gateway's confirm call, so the answer's UPDATE matches no row and is settled again on a fresh
read under lock: paid once, each event published once (the scenario: tests/unit/use_cases/test_payments.py)."""

from __future__ import annotations

import pytest

from adapters.crypto import AeadSecretBox
from adapters.memory import MemoryStore
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from tests.unit.use_cases.conftest import build_world
from tests.unit.use_cases.test_payments import answer_overtaken_by_its_webhook

pytestmark = pytest.mark.postgres


async def test_an_answer_overtaken_by_its_webhook_settles_once_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
        await answer_overtaken_by_its_webhook(await build_world(uow, MemoryStore()))
    finally:
        await engine.dispose()
