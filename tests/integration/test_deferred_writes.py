"""Writes held until commit on Postgres (adapters/sqlalchemy/deferred_writes.py): what a unit of work sends, in what
order, and that its writes still succeed or fail together.

A unit of work's one-statement UPDATEs (and, in an autocommit one, an INSERT with events) are held; any other
statement sends them first; commit() sends what is held with the events as one statement, alone when no transaction
is open (no BEGIN, no COMMIT). A write that matched no row fails that statement whole."""

from __future__ import annotations

import pytest

from application.ports.repositories import IdempotencyRecord, InboxEntry
from domain.errors import ConcurrentUpdate, NotFound
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.payment import Payment, PaymentSnapshot, PaymentStatus
from tests.contract import aggregates as make
from tests.fixtures.one_connection import OnePooledConnection, transaction_control

pytestmark = pytest.mark.postgres


def _canceled(payment: Payment, at: float) -> Payment:
    payment.apply(PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount, currency=payment.currency,
                                  amount_received=0, amount_capturable=0, observed_at=make.at(at)), make.at(at))
    assert payment.events
    return payment


def _heads(queries: list[str]) -> list[str]:
    """Each statement by its first words: "UPDATE PAYMENTS", "WITH W0 AS", "SELECT PAYMENTS.ID", "COMMIT;"."""
    return [q.split(" SET ")[0].split(" (")[0].split(", ")[0] for q in queries]


async def _seed_settlement(pool: OnePooledConnection) -> None:
    """An open payment, its placed order and the order's open invoice."""
    invoice = Invoice.draft(id="inv_1", order_id="ord_1", number="INV-2026-000001", amount_due=Money(7_755, "kwd"),
                            now=make.at(4))
    invoice.status = InvoiceStatus.OPEN
    async with pool.uow() as unit:
        await unit.orders.add(make.order(placed_only=True))
        await unit.invoices.add(invoice)
        await unit.payments.add(make.live_payment("pay_1"))
        await unit.commit()


async def _cancel_all(unit: object, payment: Payment, order: Order, invoice: Invoice, at: float) -> None:
    _canceled(payment, at)
    order.cancel(make.at(at))
    invoice.void(make.at(at))
    await unit.payments.update(payment)  # type: ignore[attr-defined]
    await unit.orders.update(order)  # type: ignore[attr-defined]
    await unit.invoices.update(invoice)  # type: ignore[attr-defined]


async def test_a_settlement_read_without_a_lock_commits_as_one_statement(pool: OnePooledConnection) -> None:
    """A confirm's settlement on the payment as read (an autocommit unit of work: each read its own moment, every
    write matched on its version): three aggregates and their three events are one statement after the reads, sent
    alone (no BEGIN, no COMMIT)."""
    await _seed_settlement(pool)
    (await pool.queries()).clear()
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_1")
        order, invoice = await unit.orders.get_with_invoice("ord_1")
        assert payment is not None and order is not None and invoice is not None
        await _cancel_all(unit, payment, order, invoice, 20)
        await unit.commit()
    sent = await pool.queries()
    assert _heads(sent) == ["SELECT PAYMENTS.ID", "SELECT ORDERS.ID", "WITH W0 AS"], _heads(sent)
    assert "W2 AS (UPDATE INVOICES" in sent[-1] and "INSERT INTO OUTBOX" in sent[-1]
    async with pool.uow.reader() as reader:
        stored = await reader.payments.get("pay_1")
        order, invoice = await reader.orders.get_with_invoice("ord_1")
        feed = await reader.events.list_after(None, 100)
    assert stored is not None and stored.status is PaymentStatus.CANCELED and stored.version == payment.version
    assert order is not None and order.status is OrderStatus.CANCELED
    assert invoice is not None and invoice.status is InvoiceStatus.VOID
    assert [e.type for e in feed][-3:] == ["PaymentCanceled", "OrderCanceled", "InvoiceVoided"]


async def test_a_write_that_lost_its_race_fails_the_statement_whole(pool: OnePooledConnection) -> None:
    """The invoice, changed by someone else since it was read, is the third write: the payment's and the order's
    before it are undone with it, and no event is stored (outside a transaction, only the statement failing can do
    that: hexpay_no_row)."""
    await _seed_settlement(pool)
    async with pool.uow.reader() as reader:
        feed_before = await reader.events.list_after(None, 100)
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_1")
        order, invoice = await unit.orders.get_with_invoice("ord_1")
        assert payment is not None and order is not None and invoice is not None
        invoice.version -= 1  # as if read before someone else's change
        (await pool.queries()).clear()
        with pytest.raises(ConcurrentUpdate, match="invoices inv_1"):
            await _cancel_all(unit, payment, order, invoice, 20)
            await unit.commit()
    assert not transaction_control(await pool.queries())  # one statement alone, and nothing to roll back
    async with pool.uow.reader() as reader:
        stored = await reader.payments.get("pay_1")
        order, invoice = await reader.orders.get_with_invoice("ord_1")
        feed = await reader.events.list_after(None, 100)
    assert stored is not None and stored.status is not PaymentStatus.CANCELED and stored.version == 0
    assert order is not None and order.status is OrderStatus.PENDING_PAYMENT and order.version == 0
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
    assert [e.id for e in feed] == [e.id for e in feed_before]


async def test_after_a_lock_the_writes_go_as_the_transactions_last_statement(pool: OnePooledConnection) -> None:
    """A webhook's settlement locks the payment first (BEGIN ... FOR UPDATE): its writes and events are then one
    statement before COMMIT, where they were one statement each."""
    await _seed_settlement(pool)
    (await pool.queries()).clear()
    async with pool.uow() as unit:
        payment = await unit.payments.get_for_update("pay_1")
        order, invoice = await unit.orders.get_with_invoice("ord_1")
        assert payment is not None and order is not None and invoice is not None
        await _cancel_all(unit, payment, order, invoice, 20)
        await unit.commit()
    heads = _heads(await pool.queries())
    assert heads == ["BEGIN ISOLATION LEVEL READ COMMITTED;", "SELECT PAYMENTS.ID", "SELECT ORDERS.ID",
                     "WITH W0 AS", "COMMIT;"], heads


async def test_a_transaction_that_sent_nothing_before_commit_sends_its_writes_alone(
    pool: OnePooledConnection,
) -> None:
    """A unit of work (not autocommit) whose only statement is its writes at commit: they are atomic by themselves,
    so no BEGIN and no COMMIT go with them."""
    await _seed_settlement(pool)
    async with pool.uow.reader() as reader:
        payment = await reader.payments.get("pay_1")
    assert payment is not None
    (await pool.queries()).clear()
    async with pool.uow() as unit:
        unit.payments.adopt(payment)
        await unit.payments.update(_canceled(payment, 20))
        await unit.commit()
    assert _heads(await pool.queries()) == ["WITH W0 AS"]
    async with pool.uow.reader() as reader:
        stored = await reader.payments.get("pay_1")
    assert stored is not None and stored.status is PaymentStatus.CANCELED


async def test_two_writes_of_one_row_go_as_one(pool: OnePooledConnection) -> None:
    """Postgres runs a statement's writes on one snapshot (a row written twice in it would see its first write
    undone): the second joins the first, which matches the version as read and sets the last one."""
    await _seed_settlement(pool)
    (await pool.queries()).clear()
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_1")
        assert payment is not None
        payment.failed_attempts = 2
        await unit.payments.update(payment)
        await unit.payments.update(_canceled(payment, 20))
        await unit.commit()
    sent = await pool.queries()
    assert _heads(sent) == ["SELECT PAYMENTS.ID", "WITH W0 AS"] and " W1 AS" not in sent[-1]
    async with pool.uow.reader() as reader:
        stored = await reader.payments.get("pay_1")
    assert stored is not None and stored.version == 2 == payment.version  # 0 as seeded, then two updates
    assert stored.failed_attempts == 2 and stored.status is PaymentStatus.CANCELED


async def test_a_webhook_outcome_without_its_inbox_row_is_not_found_and_undoes_the_rest(
    pool: OnePooledConnection,
) -> None:
    await _seed_settlement(pool)
    async with pool.uow() as unit:
        payment = await unit.payments.get("pay_1")
        assert payment is not None
        await unit.payments.update(_canceled(payment, 20))
        await unit.webhook_inbox.set_outcome("gwa_1", "evt_never_received", "applied", "pay_1")
        with pytest.raises(NotFound, match="evt_never_received"):
            await unit.commit()
    async with pool.uow() as unit:
        assert await unit.webhook_inbox.claim(InboxEntry("gwa_1", "evt_1", "payment_intent.canceled", make.at(21)))
        await unit.webhook_inbox.set_outcome("gwa_1", "evt_1", "applied", "pay_1")
        await unit.commit()
        stored = await unit.payments.get("pay_1")
        entry = await unit.webhook_inbox.get("gwa_1", "evt_1")
    assert stored is not None and stored.status is not PaymentStatus.CANCELED
    assert entry is not None and entry.outcome == "applied" and entry.payment_id == "pay_1"
async def test_autocommit_sends_a_lone_write_as_its_own_statement_and_one_with_events_with_them(
    pool: OnePooledConnection,
) -> None:
    """A payment's confirmation attempt: read, then at commit one UPDATE matched on its version, committed alone (no
    BEGIN/COMMIT). The same write with an event to store goes with its event in one statement, committed by itself
    (and after it, the unit of work is autocommit as before)."""
    async with pool.uow() as unit:
        await unit.payments.add(make.live_payment("pay_attempt"))
        await unit.commit()
    (await pool.queries()).clear()
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_attempt")
        assert payment is not None
        payment.confirmation_attempts += 1
        await unit.payments.update(payment)
        await unit.commit()
    sent = await pool.queries()
    assert len(sent) == 2 and not transaction_control(sent)
    assert sent[1].startswith("UPDATE PAYMENTS SET CONFIRMATION_ATTEMPTS")
    sent.clear()
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_attempt")
        assert payment is not None
        payment.apply(PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount,
                                      currency=payment.currency, amount_received=0, amount_capturable=0,
                                      observed_at=make.at(20)), make.at(20))
        assert payment.events  # PaymentCanceled
        await unit.payments.update(payment)
        await unit.commit()
        await unit.idempotency.claim(IdempotencyRecord(caller="shopper:auto", key="k-after", fingerprint="f" * 64,
                                                       created_at=make.at(21)))
    writes = [q.split(" SET ")[0].split(" (")[0] for q in await pool.queries() if not q.startswith("SELECT")]
    assert writes == ["WITH W0 AS", "INSERT INTO IDEMPOTENCY_KEYS"], writes  # the claim after: alone again
    async with pool.uow() as unit:
        stored = await unit.payments.get("pay_attempt")
        record = await unit.idempotency.claim(IdempotencyRecord(caller="shopper:auto", key="k-after",
                                                                fingerprint="f" * 64, created_at=make.at(22)))
        feed = await unit.events.list_after(None, 10)
    assert stored is not None and stored.status is PaymentStatus.CANCELED and record is not None
    assert [event.type for event in feed] == ["PaymentCreated", "PaymentCanceled"]


def _canceled(payment: Payment, at: float) -> Payment:
    payment.apply(PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount, currency=payment.currency,
                                  amount_received=0, amount_capturable=0, observed_at=make.at(at)), make.at(at))
    assert payment.events
    return payment


async def test_a_held_write_is_sent_first_by_any_statement_after_it_and_never_without_commit(
    pool: OnePooledConnection,
) -> None:
    """A held write is not sent until commit: a unit of work left without commit leaves nothing; one that goes on to
    another statement sends it first (in autocommit, with events to follow it: in a transaction the rest joins); one
    whose UPDATE lost its race raises ConcurrentUpdate at commit and writes nothing (no event either)."""
    async with pool.uow() as unit:
        await unit.payments.add(make.live_payment("pay_held"))
        await unit.payments.add(make.live_payment("pay_other", order_id="ord_2"))
        await unit.payments.add(make.live_payment("pay_stale", order_id="ord_3"))
        await unit.commit()
    (await pool.queries()).clear()
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_held")
        assert payment is not None
        await unit.payments.update(_canceled(payment, 20))
    assert [q for q in await pool.queries() if not q.startswith("SELECT")] == []  # left without commit: nothing
    async with pool.uow.autocommit() as unit:
        payment = await unit.payments.get("pay_held")
        assert payment is not None and payment.status is not PaymentStatus.CANCELED
        await unit.payments.update(_canceled(payment, 21))
        (await pool.queries()).clear()
        other = await unit.payments.get("pay_other")  # a statement after the held write: the write goes first
        assert other is not None
        await unit.payments.update(_canceled(other, 21))  # inside the transaction the held write began
        await unit.commit()
    sent = [q.split(" SET ")[0].split(" (")[0].split(", ")[0] for q in await pool.queries()]
    assert sent == ["BEGIN ISOLATION LEVEL READ COMMITTED;", "UPDATE PAYMENTS", "SELECT PAYMENTS.ID",
                    "WITH W0 AS", "COMMIT;"], sent  # the second write with both events
    async with pool.uow.reader() as reader:
        stored = [await reader.payments.get(i) for i in ("pay_held", "pay_other")]
        feed = await reader.events.list_after(None, 10)
    assert [p.status if p else None for p in stored] == [PaymentStatus.CANCELED] * 2
    assert [event.type for event in feed if event.type == "PaymentCanceled"] == ["PaymentCanceled"] * 2
    async with pool.uow.reader() as reader:
        stale = await reader.payments.get("pay_stale")
    assert stale is not None
    async with pool.uow() as unit:  # someone else moves it on meanwhile
        fresh = await unit.payments.get("pay_stale")
        assert fresh is not None
        fresh.failed_attempts += 1
        await unit.payments.update(fresh)
        await unit.commit()
    with pytest.raises(ConcurrentUpdate):
        async with pool.uow.autocommit() as unit:
            unit.payments.adopt(stale)
            await unit.payments.update(_canceled(stale, 22))
            await unit.commit()
    async with pool.uow.reader() as reader:
        feed = await reader.events.list_after(None, 10)
        assert [event.type for event in feed].count("PaymentCanceled") == 2  # the lost race stored no event
        after = await reader.payments.get("pay_stale")
    assert after is not None and after.status is not PaymentStatus.CANCELED and after.failed_attempts == 1


