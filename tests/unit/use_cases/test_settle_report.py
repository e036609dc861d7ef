"""settle_report, the settlement of a gateway's answer inside a unit of work, is domain.settlement's
settle_payment taken in two halves so that order and invoice are read only when the payment's new state can
change them. These properties hold it to the domain's rule on the same histories the settlement theorem uses."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from application.ports.unit_of_work import UnitOfWork
from application.use_cases._shared import settle_report
from domain.payment import PaymentStatus
from domain.settlement import settle_payment
from hexpay_testing.strategies import SettlementCase, delivery_streams, settlement_cases
from tests.unit.domain.settlement_replay import SETTLED_AT, observable


class CountingReads:
    """The memory unit of work's orders and invoices, counting the reads settle_report makes of them (a read of
    the order with its invoice counts once: one round trip on the database)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.reads = 0
        orders, invoices = uow.orders, uow.invoices
        get_order, get_both, get_invoice = orders.get, orders.get_with_invoice, invoices.get_for_order

        async def counted_order(order_id: str) -> Any:
            self.reads += 1
            return await get_order(order_id)

        async def counted_both(order_id: str) -> Any:
            self.reads += 1
            return await get_both(order_id)

        async def counted_invoice(order_id: str) -> Any:
            self.reads += 1
            return await get_invoice(order_id)

        orders.get = counted_order  # type: ignore[method-assign]
        orders.get_with_invoice = counted_both  # type: ignore[method-assign]
        invoices.get_for_order = counted_invoice  # type: ignore[method-assign]


async def _settle_through_units_of_work(case: SettlementCase, stream: list[Any]) -> tuple[dict[str, Any], list[int]]:
    """Each report settled in a unit of work of its own, as a use case does; returns what a shop can observe and,
    per report, how many reads of order and invoice it took."""
    uow_factory = MemoryUnitOfWorkFactory(MemoryStore())
    payment, order, invoice = case.fresh()
    async with uow_factory() as uow:
        await uow.orders.add(order)
        await uow.invoices.add(invoice)
        await uow.payments.add(payment)
        await uow.commit()
    reads = []
    for report in stream:
        async with uow_factory() as uow:
            counter = CountingReads(uow)
            locked = await uow.payments.get_for_update(payment.id)
            assert locked is not None
            await settle_report(uow, locked, report, FixedClock(SETTLED_AT), direct_answer=False)
            await uow.commit()
            reads.append(counter.reads)
    async with uow_factory() as uow:
        stored_payment = await uow.payments.get(payment.id)
        stored_order = await uow.orders.get(order.id)
        stored_invoice = await uow.invoices.get_for_order(order.id)
    assert stored_payment and stored_order and stored_invoice
    return observable(stored_payment, stored_order, stored_invoice), reads


@given(case=settlement_cases(), data=st.data())
def test_settling_in_units_of_work_ends_where_the_domain_rule_does(case: SettlementCase, data: st.DataObject) -> None:
    stream = data.draw(delivery_streams(case.history), label="stream")
    expected = case.fresh()
    for report in stream:
        settle_payment(*expected, report, SETTLED_AT)
    actual, _ = asyncio.run(_settle_through_units_of_work(case, stream))
    assert actual == observable(*expected)


@given(case=settlement_cases(ends_in=[s for s in PaymentStatus if s is not PaymentStatus.SUCCEEDED]),
       data=st.data())
def test_a_payment_that_never_succeeds_settles_without_reading_order_or_invoice(
    case: SettlementCase, data: st.DataObject
) -> None:
    """The answer to a create (requires_confirmation), a 3-D Secure challenge, a decline, a cancel: a read
    fewer under the payment's lock. The order and invoice stay as they were."""
    stream = data.draw(delivery_streams(case.history), label="stream")
    actual, reads = asyncio.run(_settle_through_units_of_work(case, stream))
    assert reads == [0] * len(stream)
    assert actual["order"] == observable(*case.fresh())["order"]
    assert actual["invoice"] == observable(*case.fresh())["invoice"]
