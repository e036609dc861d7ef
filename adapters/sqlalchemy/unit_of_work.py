"""UnitOfWork on an AsyncEngine: one connection and one transaction per `async with`, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sqlalchemy.account_memory import AccountMemory, account_memory_of
from adapters.sqlalchemy.connections import Session, Sessions
from adapters.sqlalchemy.customer_ids import CustomerIds
from adapters.sqlalchemy.deferred_writes import EVENT_ARRAYS, INSERT_EVENTS, event_arrays
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
_OUTBOX_INSERT_IN_COMMIT_ORDER = text(INSERT_EVENTS).bindparams(*EVENT_ARRAYS)


def pending_events(aggregate: Any) -> list[DomainEvent]:
    """The aggregate's new events, its children's moved onto it first (cleared only once the commit succeeded)."""
    if not hasattr(aggregate, "events"):
        return []
    for child in [*getattr(aggregate, "refunds", ()), *getattr(aggregate, "disputes", ())]:
        aggregate.events.extend(child.pop_events())
    return list(aggregate.events)


R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository made on first use, then an ordinary attribute of its unit of work: a request opens several
    units of work and most use one or two of the nine (all nine made up front were a tenth of an empty one)."""

    def __init__(self, make: Callable[[SqlAlchemyUnitOfWork], R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type | None = None) -> _Repository[R]: ...

    @overload
    def __get__(self, uow: SqlAlchemyUnitOfWork, owner: type | None = None) -> R: ...

    def __get__(self, uow: SqlAlchemyUnitOfWork | None, owner: type | None = None) -> R | _Repository[R]:
        if uow is None:
            return self
        repository = uow.__dict__[self._name] = self._make(uow)  # found there from now on, before this
        return repository


class SqlAlchemyUnitOfWork:
    _box: SecretBox
    _customer_ids: CustomerIds
    _accounts: AccountMemory | None
    customers: _Repository[CustomerRepository] = _Repository(
        lambda uow: SqlAlchemyCustomerRepository(uow._current, uow._customer_ids))
    gateway_accounts: _Repository[GatewayAccountRepository] = _Repository(
        lambda uow: SqlAlchemyGatewayAccountRepository(uow._current, uow._accounts))
    payment_methods: _Repository[PaymentMethodRepository] = _Repository(
        lambda uow: SqlAlchemyPaymentMethodRepository(uow._current))
    orders: _Repository[OrderRepository] = _Repository(lambda uow: SqlAlchemyOrderRepository(uow._current))
    invoices: _Repository[InvoiceRepository] = _Repository(lambda uow: SqlAlchemyInvoiceRepository(uow._current))
    payments: _Repository[PaymentRepository] = _Repository(lambda uow: SqlAlchemyPaymentRepository(uow._current))
    webhook_inbox: _Repository[WebhookInbox] = _Repository(lambda uow: SqlAlchemyWebhookInbox(uow._current))
    events: _Repository[EventFeed] = _Repository(lambda uow: SqlAlchemyEventFeed(uow._current))
    idempotency: _Repository[IdempotencyRecords] = _Repository(
        lambda uow: SqlAlchemyIdempotencyRecords(uow._current, uow._box))

    def __init__(self, engine: AsyncEngine, secret_box: SecretBox, *, reads_only: bool = False,
                 autocommit: bool = False, sessions: Sessions | None = None,
                 customer_ids: CustomerIds | None = None, accounts: AccountMemory | None = None) -> None:
        self._engine = engine
        self._sessions = sessions or Sessions(engine)
        self._customer_ids = customer_ids if customer_ids is not None else CustomerIds()
        self._accounts = accounts if accounts is not None else account_memory_of(engine)
        self._box = secret_box
        self._reads_only = reads_only
        self._autocommit = autocommit
        self._connection: Session | None = None
        self._transaction: SqlTransaction | None = None

    def _current(self) -> SqlTransaction:
        transaction = self._transaction
        if transaction is None:
            if self._connection is None:
                raise RuntimeError("the unit of work is used outside `async with`")
            # Made on first use after a commit or rollback: most units of work end there, and never need another.
            transaction = self._transaction = SqlTransaction(self._connection, self._box)
        return transaction

    async def __aenter__(self) -> SqlAlchemyUnitOfWork:
        if self._connection is not None:
            raise RuntimeError("the unit of work is already open")
        # The transaction begins with the first statement (SQLite: BEGIN IMMEDIATE, see engine.py).
        self._connection = await self._sessions.open(reads_only=self._reads_only, autocommit=self._autocommit)
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
        """Send the writes held back and the touched aggregates' new events (the outbox), then COMMIT; a fresh
        transaction follows."""
        transaction = self._current()
        if self._reads_only:
            raise RuntimeError("a reader unit of work cannot commit")
        touched = list(transaction.touched.values())
        events = [event for aggregate in touched for event in pending_events(aggregate)]
        if transaction.deferred:  # the writes held back (Postgres): with the events, in one statement
            await transaction.send_deferred_with(events)
        else:
            await self._store_events(events)
        assert self._connection is not None
        await self._connection.commit()
        for aggregate in touched:
            if hasattr(aggregate, "events"):
                aggregate.events.clear()
        self._transaction = None

    async def _store_events(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        transaction = self._current()
        if transaction.is_postgres:
            await transaction.execute(_OUTBOX_INSERT_IN_COMMIT_ORDER, event_arrays(events))
            return
        await transaction.execute(insert_into(outbox), [
            {"type": e.type, "occurred_at": e.occurred_at, "data": e.data()} for e in events
        ])

    async def rollback(self) -> None:
        self._current()
        assert self._connection is not None
        await self._connection.rollback()
        self._transaction = None


class SqlAlchemyUnitOfWorkFactory:
    """UnitOfWorkFactory on one engine (one pool) for the whole process."""

    def __init__(self, engine: AsyncEngine, secret_box: SecretBox) -> None:
        self.engine = engine
        self.secret_box = secret_box
        self._sessions = Sessions(engine)
        self._customer_ids = CustomerIds()  # one memory per process (per engine), shared by its units of work
        self._accounts = account_memory_of(engine)  # the same for the engine's life: looked up once

    async def start(self, wait: float = 2.0) -> bool:
        """Begin listening for gateway account changes (Postgres), so that accounts are remembered from the first
        request on; True once they may be (after at most `wait` seconds). Without it, the first read begins it."""
        return self._accounts is not None and await self._accounts.start(wait)

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return self._unit()

    def autocommit(self) -> SqlAlchemyUnitOfWork:
        return self._unit(autocommit=True)

    def reader(self) -> SqlAlchemyUnitOfWork:
        return self._unit(reads_only=True)

    def _unit(self, *, reads_only: bool = False, autocommit: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.secret_box, reads_only=reads_only, autocommit=autocommit,
                                    sessions=self._sessions, customer_ids=self._customer_ids,
                                    accounts=self._accounts)
