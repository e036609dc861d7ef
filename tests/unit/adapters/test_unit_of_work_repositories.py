"""A unit of work makes each repository on first use and keeps it: the same object for the rest of the unit of
work, its own in every unit of work, bound to that unit of work's transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade_to_head_async
from adapters.sqlalchemy.payments import SqlAlchemyPaymentRepository
from adapters.sqlalchemy.records import SqlAlchemyIdempotencyRecords

NAMES = ("customers", "gateway_accounts", "payment_methods", "orders", "invoices", "payments", "webhook_inbox",
         "events", "idempotency")


@pytest.fixture
async def factory(tmp_path: Path) -> SqlAlchemyUnitOfWorkFactory:
    url = f"sqlite+aiosqlite:///{tmp_path / 'uow.db'}"
    await upgrade_to_head_async(url)
    return SqlAlchemyUnitOfWorkFactory(create_engine(url), AeadSecretBox(["a-test-key-of-32-characters-long"]))


async def test_repositories_are_made_on_first_use_and_kept(factory: SqlAlchemyUnitOfWorkFactory) -> None:
    first, second = factory(), factory.reader()
    assert not set(NAMES) & set(vars(first))  # nothing made before it is asked for
    payments = first.payments
    assert isinstance(payments, SqlAlchemyPaymentRepository)
    assert first.payments is payments and set(NAMES) & set(vars(first)) == {"payments"}
    assert second.payments is not payments
    assert isinstance(first.idempotency, SqlAlchemyIdempotencyRecords)
    made = [getattr(first, name) for name in NAMES]
    assert len({type(repository) for repository in made}) == len(NAMES)  # nine repositories, one of each kind
    assert all(vars(first)[name] is repository for name, repository in zip(NAMES, made, strict=True))


async def test_a_repository_made_before_the_unit_of_work_opens_reads_in_its_transaction(
    factory: SqlAlchemyUnitOfWorkFactory,
) -> None:
    uow = factory.reader()
    payments = uow.payments  # made outside `async with`: it still reads through the transaction opened later
    with pytest.raises(RuntimeError, match="outside `async with`"):
        await payments.get("pay_missing")
    async with uow:
        assert await payments.get("pay_missing") is None
