"""UnitOfWork over a MemoryStore: one MemoryTransaction per `async with`, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType

from adapters.memory.repositories import (
    MemoryCustomerRepository,
    MemoryEventFeed,
    MemoryGatewayAccountRepository,
    MemoryIdempotencyRecords,
    MemoryInvoiceRepository,
    MemoryOrderRepository,
    MemoryPaymentMethodRepository,
    MemoryPaymentRepository,
    MemoryWebhookInbox,
)
from adapters.memory.store import MemoryStore, MemoryTransaction
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


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore, *, reads_only: bool = False) -> None:
        self.store = store
        self._reads_only = reads_only
        self._transaction: MemoryTransaction | None = None
        self.customers: CustomerRepository = MemoryCustomerRepository(self._current)
        self.gateway_accounts: GatewayAccountRepository = MemoryGatewayAccountRepository(self._current)
        self.payment_methods: PaymentMethodRepository = MemoryPaymentMethodRepository(self._current)
        self.orders: OrderRepository = MemoryOrderRepository(self._current)
        self.invoices: InvoiceRepository = MemoryInvoiceRepository(self._current)
        self.payments: PaymentRepository = MemoryPaymentRepository(self._current)
        self.webhook_inbox: WebhookInbox = MemoryWebhookInbox(self._current)
        self.events: EventFeed = MemoryEventFeed(self._current)
        self.idempotency: IdempotencyRecords = MemoryIdempotencyRecords(self._current)

    def _current(self) -> MemoryTransaction:
        if self._transaction is None:
            raise RuntimeError("the unit of work is used outside `async with`")
        return self._transaction

    async def __aenter__(self) -> MemoryUnitOfWork:
        if self._transaction is not None:
            raise RuntimeError("the unit of work is already open")
        self._transaction = MemoryTransaction(self.store)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        transaction, self._transaction = self._current(), None
        transaction.end()  # whatever was not committed is discarded

    async def commit(self) -> None:
        """Publish and go on in a fresh transaction (as a database connection does after COMMIT)."""
        if self._reads_only:
            raise RuntimeError("a reader unit of work cannot commit")
        self._current().commit()
        self._transaction = MemoryTransaction(self.store)

    async def rollback(self) -> None:
        self._current().end()
        self._transaction = MemoryTransaction(self.store)


class MemoryUnitOfWorkFactory:
    """UnitOfWorkFactory: every unit of work it makes shares one store (one process's "database")."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)

    def autocommit(self) -> MemoryUnitOfWork:
        """One transaction, as any other here (on the database, each lone write commits as it is made)."""
        return MemoryUnitOfWork(self.store)

    def reader(self) -> MemoryUnitOfWork:
        """Memory reads are consistent anyway; a reader may not commit, as on the database."""
        return MemoryUnitOfWork(self.store, reads_only=True)
