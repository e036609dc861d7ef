"""The memory adapter refuses what the SQL adapter refuses or could not see, so that use cases tested on it alone
meet the same rules: a payment adopted after it was changed (the SQL adapter would take the changed fields for what
the row holds and leave them out of the UPDATE), and an aggregate with events written by an autocommit unit of work
(on the database its write and its events would commit apart)."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from domain.payment import PaymentSnapshot, PaymentStatus
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


async def test_an_autocommit_unit_of_work_refuses_an_aggregate_with_events_and_takes_one_without() -> None:
    uow_factory = await _with_a_payment()
    async with uow_factory.autocommit() as uow:
        payment = await uow.payments.get("pay_1")
        assert payment is not None
        payment.confirmation_attempts += 1
        await uow.payments.update(payment)
        await uow.commit()
        payment.apply(PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount, currency=payment.currency,
                                      amount_received=0, amount_capturable=0, observed_at=make.at(20)), make.at(20))
        with pytest.raises(RuntimeError, match="one statement at a time"):
            await uow.payments.update(payment)
    async with uow_factory.reader() as reader:
        stored = await reader.payments.get("pay_1")
    assert stored is not None
    assert (stored.confirmation_attempts, stored.status) == (1, PaymentStatus.REQUIRES_PAYMENT_METHOD)
