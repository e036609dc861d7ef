"""Races on real Postgres connections: every guarantee holds when several transactions hit one row at once.

Each racer is its own unit of work, so its own pooled connection and transaction. Sleeps inside the transactions
widen the race windows so that the interleavings under test really happen.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory, create_engine
from application.ports.repositories import InboxEntry
from domain.errors import ConcurrentUpdate, DuplicateRecord
from domain.events import DomainEvent
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.payment import Payment, PaymentSnapshot, PaymentStatus
from domain.settlement import settle_payment
from tests.contract import aggregates as make
from tests.contract.aggregates import at

pytestmark = pytest.mark.postgres

HOLD = 0.15  # seconds a racer keeps its transaction open after reading
WRITERS = 60


@pytest.fixture
async def uow(postgres_url: str) -> AsyncIterator[SqlAlchemyUnitOfWorkFactory]:
    engine = create_engine(postgres_url, pool_size=25, max_overflow=5)
    try:
        yield SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    finally:
        await engine.dispose()


def _order_invoice_payment() -> tuple[Order, Invoice, Payment]:
    order = make.order(placed_only=True)
    invoice = Invoice.draft(id="inv_1", order_id=order.id, number="INV-2026-000001", amount_due=order.total,
                            now=at(4))
    invoice.finalize(at(4))
    payment = make.live_payment("pay_1")
    payment.amount = order.total.amount
    payment.link_gateway_intent("pi_1", "pi_1_secret", at(5))
    return order, invoice, payment


def _snapshot(status: PaymentStatus, seconds: float, received: int = 0) -> PaymentSnapshot:
    return PaymentSnapshot(status=status, amount=7_755, currency="kwd", amount_received=received,
                           amount_capturable=0, observed_at=at(seconds), gateway_payment_id="pi_1")


PROCESSING = _snapshot(PaymentStatus.PROCESSING, 10)
SUCCEEDED = _snapshot(PaymentStatus.SUCCEEDED, 20, received=7_755)


async def _seed(uow: SqlAlchemyUnitOfWorkFactory, *aggregates: object) -> None:
    async with uow() as unit:
        for item in aggregates:
            repository = {Order: unit.orders, Invoice: unit.invoices, Payment: unit.payments}[type(item)]
            await repository.add(item)
        await unit.commit()


async def test_two_settlements_of_one_payment_serialise_and_end_as_in_sequence(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    order, invoice, payment = _order_invoice_payment()
    expected = [copy.deepcopy(x) for x in (payment, order, invoice)]
    settle_payment(*expected, PROCESSING, at(30))
    settle_payment(*expected, SUCCEEDED, at(31))
    await _seed(uow, order, invoice, payment)
    spans: dict[str, tuple[float, float]] = {}

    async def settle(name: str, snapshot: PaymentSnapshot, delay: float) -> None:
        await asyncio.sleep(delay)
        async with uow() as unit:
            locked = await unit.payments.get_for_update("pay_1")
            got_lock = time.monotonic()
            order_now, invoice_now = await unit.orders.get("ord_1"), await unit.invoices.get_for_order("ord_1")
            await asyncio.sleep(HOLD)
            settle_payment(locked, order_now, invoice_now, snapshot, at(30))
            await unit.payments.update(locked)
            if order_now.events:
                await unit.orders.update(order_now)
            if invoice_now.events:
                await unit.invoices.update(invoice_now)
            spans[name] = (got_lock, time.monotonic())  # (lock taken, commit begins)
            await unit.commit()

    # The later report arrives first: the settlement rule, under the lock, still ends where the history does.
    await asyncio.gather(settle("succeeded", SUCCEEDED, 0), settle("processing", PROCESSING, 0.02))

    first, second = sorted(spans.values())
    assert second[0] >= first[1], "the second settlement got the lock before the first one committed"
    async with uow() as unit:
        stored = await unit.payments.get("pay_1")
        stored_order, stored_invoice = await unit.orders.get("ord_1"), await unit.invoices.get("inv_1")
    assert stored.status is PaymentStatus.SUCCEEDED and stored.amount_received == 7_755
    assert stored_order.status is OrderStatus.PAID and stored_invoice.status is InvoiceStatus.PAID
    assert (stored.status, stored.amount_received, stored.observed_at) == (
        expected[0].status, expected[0].amount_received, expected[0].observed_at)
    assert stored.version == 2  # both settlements wrote, one after the other: nothing was lost


async def test_a_lock_granted_after_a_refund_was_committed_reads_that_refund(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    """A payment read FOR UPDATE learns which children it has only after the lock is granted (payments.py): a
    refund committed by the transaction it waited for is in the aggregate, never dropped by its next save."""
    order, invoice, payment = _order_invoice_payment()
    settle_payment(payment, order, invoice, SUCCEEDED, at(31))
    await _seed(uow, order, invoice, payment)
    first_locked = asyncio.Event()

    async def refund_and_hold() -> None:
        async with uow() as unit:
            locked = await unit.payments.get_for_update("pay_1")
            first_locked.set()
            locked.request_refund(refund_id="rfd_1", amount=100, reason=None, now=at(40))
            await unit.payments.update(locked)
            await asyncio.sleep(HOLD)
            await unit.commit()

    async def lock_after() -> tuple[int, int]:
        await first_locked.wait()
        async with uow() as unit:
            locked = await unit.payments.get_for_update("pay_1")  # waits for the refund's commit
            refunds = len(locked.refunds)
            await unit.payments.update(locked)
            await unit.commit()
            return refunds, locked.version

    _, (seen, version) = await asyncio.gather(refund_and_hold(), lock_after())
    assert seen == 1 and version == 2  # seeded at 0, then both saves, one after the other
    async with uow() as unit:
        stored = await unit.payments.get("pay_1")
    assert [r.id for r in stored.refunds] == ["rfd_1"]


async def test_without_the_lock_a_racing_settlement_is_refused_not_lost(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    """The optimistic version is the second line of defence: a read without FOR UPDATE loses the race loudly."""
    order, invoice, payment = _order_invoice_payment()
    await _seed(uow, order, invoice, payment)

    async def settle(snapshot: PaymentSnapshot) -> str:
        async with uow() as unit:
            unlocked = await unit.payments.get("pay_1")
            await asyncio.sleep(HOLD)
            unlocked.apply(snapshot, at(30))
            try:  # refused at update(), or at commit() where the store holds the write until then (Postgres)
                await unit.payments.update(unlocked)
                await unit.commit()
            except ConcurrentUpdate:
                return "refused"
            return "committed"

    assert sorted(await asyncio.gather(settle(PROCESSING), settle(SUCCEEDED))) == ["committed", "refused"]
    async with uow() as unit:
        assert (await unit.payments.get("pay_1")).version == 1


async def test_twenty_concurrent_openings_for_one_order_leave_exactly_one(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    start = asyncio.Event()

    async def open_payment(n: int) -> str:
        await start.wait()
        async with uow() as unit:
            try:
                await unit.payments.add(make.live_payment(f"pay_{n:02d}"))
            except DuplicateRecord as duplicate:
                return duplicate.what
            await asyncio.sleep(0.05)  # the others queue behind this uncommitted row of the unique index
            await unit.commit()
            return "opened"

    racers = [asyncio.create_task(open_payment(n)) for n in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*racers)
    assert results.count("opened") == 1
    assert results.count("live payment") == 19
    async with uow() as unit:
        assert len(await unit.payments.list_for_order("ord_1")) == 1


async def test_one_webhook_event_recorded_by_many_at_once_takes_effect_once(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    entry = InboxEntry(gateway_account_id="gwa_1", event_id="evt_1", type="payment_intent.succeeded",
                       received_at=at(50))
    start = asyncio.Event()

    async def deliver() -> bool:
        await start.wait()
        async with uow() as unit:
            first = await unit.webhook_inbox.record(entry)
            if first:
                await unit.webhook_inbox.set_outcome("gwa_1", "evt_1", "applied", "pay_1")
                await asyncio.sleep(0.05)
            await unit.commit()
            return first

    racers = [asyncio.create_task(deliver()) for _ in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    assert sorted(await asyncio.gather(*racers)).count(True) == 1
    async with uow() as unit:
        assert (await unit.webhook_inbox.get("gwa_1", "evt_1")).outcome == "applied"


async def test_reconcilers_running_at_once_share_the_unsettled_payments(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    await _seed(uow, *(make.live_payment(f"pay_{n}", order_id=f"ord_{n}") for n in range(10)))
    first_holds = asyncio.Event()
    done = asyncio.Event()

    async def reconciler(wait_for: asyncio.Event | None) -> tuple[set[str], float]:
        if wait_for is not None:
            await wait_for.wait()
        async with uow() as unit:
            began = time.monotonic()
            found = await unit.payments.list_unsettled(updated_before=at(5) + timedelta(hours=1), limit=5)
            took = time.monotonic() - began
            if wait_for is None:
                first_holds.set()
                await done.wait()  # keep the rows locked while the other one looks
            else:
                done.set()
            return {p.id for p in found}, took

    (mine, _), (theirs, took) = await asyncio.wait_for(
        asyncio.gather(reconciler(None), reconciler(first_holds)), timeout=10)  # a queued second one would hang
    assert len(mine) == len(theirs) == 5
    assert mine.isdisjoint(theirs)
    assert took < 1.0  # SKIP LOCKED: it did not queue behind the first reconciler


class SlowToCommitUnitOfWork(SqlAlchemyUnitOfWork):
    """Pauses between writing its outbox rows and COMMIT: the moment a later transaction could overtake it."""

    def __init__(self, factory: SqlAlchemyUnitOfWorkFactory, stored: asyncio.Event) -> None:
        super().__init__(factory.engine, factory.secret_box)
        self._stored = stored

    async def _store_events(self, events: list[DomainEvent]) -> None:
        await super()._store_events(events)
        self._stored.set()
        await asyncio.sleep(HOLD)


async def test_the_event_feed_never_skips_an_event_committed_late(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    """Outbox ids follow commit order: a transaction that writes its events after another one did, but commits
    first, must not give a reader a cursor past the other's events."""
    slow_stored = asyncio.Event()

    async def slow_writer() -> None:
        async with SlowToCommitUnitOfWork(uow, slow_stored) as unit:
            await unit.payments.add(make.live_payment("pay_slow", order_id="ord_slow"))
            await unit.commit()

    async def fast_writer() -> None:
        await slow_stored.wait()
        async with uow() as unit:
            await unit.payments.add(make.live_payment("pay_fast", order_id="ord_fast"))
            await unit.commit()

    async def reader() -> list[str]:
        await slow_stored.wait()
        seen: list[str] = []
        cursor: str | None = None
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            async with uow() as unit:
                batch = await unit.events.list_after(cursor, 100)
            if batch:
                cursor = batch[-1].id
                seen += [e.data["payment_id"] for e in batch]
            await asyncio.sleep(0.005)
        return seen

    seen, *_ = await asyncio.gather(reader(), slow_writer(), fast_writer())
    assert seen == ["pay_slow", "pay_fast"]


async def test_many_writers_and_a_polling_reader_lose_no_event(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    writers_done = asyncio.Event()

    async def writer(n: int) -> None:
        async with uow() as unit:
            await unit.payments.add(make.live_payment(f"pay_{n:03d}", order_id=f"ord_{n:03d}"))
            await asyncio.sleep(0.002 * (n % 7))
            await unit.commit()

    async def reader() -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            finished = writers_done.is_set()
            async with uow() as unit:
                batch = await unit.events.list_after(cursor, 100)
            if batch:
                cursor = batch[-1].id
                seen += [e.data["payment_id"] for e in batch]
            elif finished:
                return seen
            await asyncio.sleep(0.001)

    async def write_all() -> None:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        writers_done.set()

    seen, _ = await asyncio.gather(reader(), write_all())
    assert set(seen) == {f"pay_{n:03d}" for n in range(WRITERS)}
    assert len(seen) == WRITERS


def test_the_money_in_these_races_is_the_order_total() -> None:
    assert make.order(placed_only=True).total == Money(7_755, "kwd")
