"""The memory adapter refuses what the SQL adapter could not see, so that use cases tested on it alone meet the same
rules: a payment adopted after it was changed (the SQL adapter would take the changed fields for what the row holds
and leave them out of the UPDATE)."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from tests.contract import aggregates as make


async def _with_a_payment() -> MemoryUnitOfWorkFactory:
    uow_factory = MemoryUnitOfWorkFactory(MemoryStore())
    async with uow_factory() as uow:
        await uow.payments.add(make.live_payment("pay_1"))
        await uow.commit()
    return uow_factory


async def test_a_payment_changed_before_it_is_adopted_is_refused() -> None:
    uow_factory = await _with_a_payment()
    async with uow_factory.reader() as reader:
        payment = await reader.payments.get("pay_1")
    assert payment is not None
    async with uow_factory() as uow:
        uow.payments.adopt(payment)  # as read: taken
    payment.failed_attempts += 1
    async with uow_factory() as uow:
        with pytest.raises(AssertionError, match="changed since it was read"):
            uow.payments.adopt(payment)
