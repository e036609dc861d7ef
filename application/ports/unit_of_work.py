from __future__ import annotations

from types import TracebackType
from typing import Protocol

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


class UnitOfWork(Protocol):
    """One transaction. `async with uow:` ... `await uow.commit()`; leaving the block without commit rolls
    back. commit() writes the domain events of every aggregate added or updated through the repositories
    into the outbox in the same transaction, then clears them from the aggregates. A store may hold writes back
    until commit() (or the next call) and send them together: their ConcurrentUpdate or NotFound comes from there,
    and none of them lands without the others."""

    customers: CustomerRepository
    gateway_accounts: GatewayAccountRepository
    payment_methods: PaymentMethodRepository
    orders: OrderRepository
    invoices: InvoiceRepository
    payments: PaymentRepository
    webhook_inbox: WebhookInbox
    events: EventFeed
    idempotency: IdempotencyRecords

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork:
        """A fresh unit of work (a new transaction each time it is entered)."""

    def reader(self) -> UnitOfWork:
        """A unit of work for a caller that only reads, where each repository call is consistent on its own (an
        aggregate whole, or a list of independent ones): the store need not hold one transaction across the
        calls, which saves its round trips. It cannot write: commit() raises."""

    def autocommit(self) -> UnitOfWork:
        """A unit of work for a caller whose every repository call is atomic alone (idempotency records:
        claim, complete, release; a payment's confirmation attempt, one UPDATE matched on its version): the store
        may commit each call on its own. Writes that would take the store several statements, or have events to
        store with them, are atomic together all the same: the store begins a transaction, or holds them back and
        sends them at commit() as one statement (a payment's settlement on the payment as read, cascading to its
        order and invoice). Callers still call commit(), which commits whatever the store held back; a held
        write's DuplicateRecord or ConcurrentUpdate then comes from commit() (or from the next call) rather than
        the write: callers wrap both."""
