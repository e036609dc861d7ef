"""UnitOfWork on an AsyncEngine: one connection and one transaction per `async with`, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import ARRAY, Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sqlalchemy.connections import Session, open_session
from adapters.sqlalchemy.engine import json_text
from adapters.sqlalchemy.payments import SqlAlchemyPaymentRepository
from adapters.sqlalchemy.records import SqlAlchemyEventFeed, SqlAlchemyIdempotencyRecords, SqlAlchemyWebhookInbox
from adapters.sqlalchemy.repositories import (
    SqlAlchemyCustomerRepository,
    SqlAlchemyGatewayAccountRepository,
    SqlAlchemyInvoiceRepository,
    SqlAlchemyOrderRepository,
    SqlAlchemyPaymentMethodRepository,
)
from adapters.sqlalchemy.tables import outbox
from adapters.sqlalchemy.transaction import SqlTransaction, insert_into
from application.ports.repositories import (
    CustomerRepository,
    EventFeed,
    GatewayAccountRepository,
    IdempotencyRecords,
    InvoiceRepository,
    OrderRepository,
    PaymentMethodRepository,
    PaymentRepository,
    WebhookInbox,
)
from application.ports.secret_box import SecretBox
from domain.events import DomainEvent

# Taken as the outbox rows are inserted and held until COMMIT: outbox ids are then handed out in commit order, so
# a feed reader that has seen id n will never later find a newly committed row below n. Only the last moment of
# each transaction is serialised. On Postgres the lock is taken by the INSERT itself (the rows' ids are drawn
# after the subquery has run) and all the events go in one statement, as arrays unnested in their order: one
# round trip, where a lock statement and an executemany took two and a statement per event.
_OUTBOX_INSERT_IN_COMMIT_ORDER = text(
    "INSERT INTO outbox (type, occurred_at, data) "
    "SELECT e.type, e.occurred_at, e.data::jsonb "
    "FROM (SELECT pg_advisory_xact_lock(7308485)) AS commit_order, "
    "unnest(:types, :occurred, :documents) WITH ORDINALITY AS e(type, occurred_at, data, n) "
    "ORDER BY e.n"
).bindparams(
    bindparam("types", type_=ARRAY(outbox.c.type.type)),
    bindparam("occurred", type_=ARRAY(outbox.c.occurred_at.type)),
    bindparam("documents", type_=ARRAY(Text())),  # each already JSON text (msgspec): no per-element processor
)


def pending_events(aggregate: Any) -> list[DomainEvent]:
    """The aggregate's new events, its children's moved onto it first (cleared only once the commit succeeded)."""
    if not hasattr(aggregate, "events"):
        return []
    for child in [*getattr(aggregate, "refunds", ()), *getattr(aggregate, "disputes", ())]:
        aggregate.events.extend(child.pop_events())
    return list(aggregate.events)


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: AsyncEngine, secret_box: SecretBox, *, reads_only: bool = False,
                 autocommit: bool = False) -> None:
        self._engine = engine
        self._box = secret_box
        self._reads_only = reads_only
        self._autocommit = autocommit
        self._connection: Session | None = None
        self._transaction: SqlTransaction | None = None
        self.customers: CustomerRepository = SqlAlchemyCustomerRepository(self._current)
        self.gateway_accounts: GatewayAccountRepository = SqlAlchemyGatewayAccountRepository(self._current)
        self.payment_methods: PaymentMethodRepository = SqlAlchemyPaymentMethodRepository(self._current)
        self.orders: OrderRepository = SqlAlchemyOrderRepository(self._current)
        self.invoices: InvoiceRepository = SqlAlchemyInvoiceRepository(self._current)
        self.payments: PaymentRepository = SqlAlchemyPaymentRepository(self._current)
        self.webhook_inbox: WebhookInbox = SqlAlchemyWebhookInbox(self._current)
        self.events: EventFeed = SqlAlchemyEventFeed(self._current)
        self.idempotency: IdempotencyRecords = SqlAlchemyIdempotencyRecords(self._current, self._box)

    def _current(self) -> SqlTransaction:
        if self._transaction is None:
            raise RuntimeError("the unit of work is used outside `async with`")
        return self._transaction

    async def __aenter__(self) -> SqlAlchemyUnitOfWork:
        if self._connection is not None:
            raise RuntimeError("the unit of work is already open")
        # The transaction begins with the first statement (SQLite: BEGIN IMMEDIATE, see engine.py).
        self._connection = await open_session(self._engine, reads_only=self._reads_only,
                                              autocommit=self._autocommit)
        self._transaction = SqlTransaction(self._connection, self._box)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection, self._transaction = self._connection, None, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    async def commit(self) -> None:
        """Write the touched aggregates' new events to the outbox, then COMMIT; a fresh transaction follows."""
        transaction = self._current()
        if self._reads_only:
            raise RuntimeError("a reader unit of work cannot commit")
        touched = list(transaction.touched.values())
        await self._store_events([event for aggregate in touched for event in pending_events(aggregate)])
        assert self._connection is not None
        await self._connection.commit()
        for aggregate in touched:
            if hasattr(aggregate, "events"):
                aggregate.events.clear()
        self._transaction = SqlTransaction(self._connection, self._box)

    async def _store_events(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        transaction = self._current()
        if transaction.is_postgres:
            await transaction.execute(_OUTBOX_INSERT_IN_COMMIT_ORDER, {
                "types": [e.type for e in events], "occurred": [e.occurred_at for e in events],
                "documents": [json_text(e.data()) for e in events]})
            return
        await transaction.execute(insert_into(outbox), [
            {"type": e.type, "occurred_at": e.occurred_at, "data": e.data()} for e in events
        ])

    async def rollback(self) -> None:
        self._current()
        assert self._connection is not None
        await self._connection.rollback()
        self._transaction = SqlTransaction(self._connection, self._box)


class SqlAlchemyUnitOfWorkFactory:
    """UnitOfWorkFactory on one engine (one pool) for the whole process."""

    def __init__(self, engine: AsyncEngine, secret_box: SecretBox) -> None:
        self.engine = engine
        self.secret_box = secret_box

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.secret_box)

    def autocommit(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.secret_box, autocommit=True)

    def reader(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.secret_box, reads_only=True)
