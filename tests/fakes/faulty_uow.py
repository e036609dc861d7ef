"""A unit of work factory whose commits fail when told: the database dying in the middle of a transaction.

A failed commit raises DatabaseFailed and commits nothing (the wrapped unit of work rolls back on exit), which is
what a dropped connection or a killed process does to a transaction that had not committed yet.
"""

from __future__ import annotations

from types import TracebackType

from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class DatabaseFailed(ConnectionError):
    """The connection to the database was lost before COMMIT went through."""


class FaultyUnitOfWork:
    def __init__(self, inner: UnitOfWork, factory: FaultyUnitOfWorkFactory) -> None:
        self._inner, self._factory = inner, factory
        self.customers = inner.customers
        self.gateway_accounts = inner.gateway_accounts
        self.payment_methods = inner.payment_methods
        self.orders = inner.orders
        self.invoices = inner.invoices
        self.payments = inner.payments
        self.webhook_inbox = inner.webhook_inbox
        self.events = inner.events
        self.idempotency = inner.idempotency

    async def __aenter__(self) -> FaultyUnitOfWork:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        self._factory.commits += 1
        if self._factory.commits in self._factory.failing_commits:
            self._factory.failed += 1
            raise DatabaseFailed(f"connection lost before commit #{self._factory.commits}")
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


class FaultyUnitOfWorkFactory:
    """UnitOfWorkFactory: counts commits from 1 and fails the ones it is told to."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self._inner = inner
        self.commits = 0
        self.failed = 0
        self.failing_commits: set[int] = set()

    def __call__(self) -> FaultyUnitOfWork:
        return FaultyUnitOfWork(self._inner(), self)

    def autocommit(self) -> FaultyUnitOfWork:
        return FaultyUnitOfWork(self._inner.autocommit(), self)

    def reader(self) -> FaultyUnitOfWork:
        return FaultyUnitOfWork(self._inner.reader(), self)

    def fail_commit(self, nth_from_now: int) -> None:
        """Fail the nth commit from now (1: the very next one)."""
        self.failing_commits.add(self.commits + nth_from_now)

    def fail_next_commit(self) -> None:
        self.fail_commit(1)
