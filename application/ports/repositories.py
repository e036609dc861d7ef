"""Repositories: collections of aggregates inside one unit of work.

Guarantees every adapter (memory, SQLite, Postgres) must give, proven by tests/contract:
- add() of a duplicate of a unique thing raises DuplicateRecord (a second live payment for one order and
  gateway account, a gateway id already known to the account, an invoice number, a customer reference,
  a second default payment method for one customer and account);
- update() checks the aggregate's version and raises ConcurrentUpdate when someone else changed it first,
  then bumps the version (a store that holds the write until commit raises it from commit(): callers wrap both,
  and a unit of work whose write lost its race stores none of its writes and none of its events);
- add() and update() remember the aggregate so the unit of work stores its new domain events in the outbox
  in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.customer import Customer
from domain.gateway_account import GatewayAccount
from domain.invoice import Invoice
from domain.order import Order
from domain.payment import Payment
from domain.payment_method import PaymentMethod


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = 10
    starting_after: str | None = None


class CustomerRepository(Protocol):
    async def get(self, customer_id: str) -> Customer | None: ...

    async def get_by_reference(self, reference: str) -> Customer | None: ...

    async def id_of(self, reference: str) -> str | None:
        """The id of the customer with this reference, for a caller that needs no more (whose is this payment,
        this card). A customer's reference and id never change and customers are never deleted, so an adapter may
        remember the answer, once it is committed, for as long as the process lives."""

    async def add(self, customer: Customer) -> None: ...

    async def update(self, customer: Customer) -> None: ...


class GatewayAccountRepository(Protocol):
    async def get(self, account_id: str) -> GatewayAccount | None: ...

    async def list(self, *, active_only: bool = False) -> list[GatewayAccount]: ...

    async def add(self, account: GatewayAccount) -> None: ...

    async def update(self, account: GatewayAccount) -> None: ...


class PaymentMethodRepository(Protocol):
    async def get(self, payment_method_id: str) -> PaymentMethod | None: ...

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[PaymentMethod]:
        """Saved (not detached) methods, oldest first."""

    async def find_by_gateway_id(self, gateway_account_id: str, gateway_payment_method_id: str) -> PaymentMethod | None:
        """Also finds a detached one, so re-saving a removed card can revive it."""

    async def add(self, method: PaymentMethod) -> None: ...

    async def update(self, method: PaymentMethod) -> None: ...


class OrderRepository(Protocol):
    async def get(self, order_id: str) -> Order | None: ...

    async def get_for_update(self, order_id: str) -> Order | None: ...

    async def get_with_invoice(self, order_id: str) -> tuple[Order, Invoice | None] | None:
        """The order and its invoice, as get() and InvoiceRepository.get_for_order() give them (neither locked):
        what a settlement that reaches them reads, which a store may fetch at once."""

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[Order]:
        """Newest first."""

    async def add(self, order: Order) -> None: ...

    async def update(self, order: Order) -> None: ...


class InvoiceRepository(Protocol):
    async def get(self, invoice_id: str) -> Invoice | None: ...

    async def get_for_order(self, order_id: str) -> Invoice | None: ...

    async def list_for_orders(self, order_ids: Sequence[str]) -> dict[str, Invoice]:
        """The invoices of these orders, by order id, in one read (a page of a customer's orders); an order
        without one is left out."""

    async def next_sequence(self, year: int) -> int:
        """The next invoice sequence number of the year: gapless when the transaction commits."""

    async def add(self, invoice: Invoice) -> None: ...

    async def update(self, invoice: Invoice) -> None: ...


class PaymentRepository(Protocol):
    """Payments with their refunds and disputes, loaded and saved as one aggregate."""

    async def get(self, payment_id: str) -> Payment | None: ...

    async def get_for_update(self, payment_id: str) -> Payment | None:
        """Load under a row lock (SELECT ... FOR UPDATE on Postgres) until the unit of work ends."""

    async def find_by_gateway_id(
        self, gateway_account_id: str, gateway_payment_id: str, *, for_update: bool = False
    ) -> Payment | None: ...

    async def find_by_gateway_refund_id(self, gateway_account_id: str, gateway_refund_id: str) -> Payment | None: ...

    async def find_live(self, order_id: str, gateway_account_id: str) -> Payment | None: ...

    async def list_for_order(self, order_id: str) -> list[Payment]: ...

    async def list_unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Payments or refunds not final and untouched since updated_before, locked with SKIP LOCKED so that
        several reconcilers share the work."""

    def adopt(self, payment: Payment) -> None:
        """Take into this unit of work a payment read or written by an earlier one and unchanged since, without
        reading it again: update() then checks its version as for one read here, and raises ConcurrentUpdate when
        anyone changed it in between. Nothing is locked until update(): what a row lock would have serialised,
        the version check refuses instead, and the caller reads afresh under lock and tries again."""

    async def add(self, payment: Payment) -> None: ...

    async def update(self, payment: Payment) -> None: ...


@dataclass(frozen=True, slots=True)
class InboxEntry:
    gateway_account_id: str
    event_id: str
    type: str
    received_at: datetime
    outcome: str | None = None
    payment_id: str | None = None


class WebhookInbox(Protocol):
    """Every gateway event received, once per (gateway account, event id)."""

    async def record(self, entry: InboxEntry) -> bool:
        """Store the event; False when it was already stored (a duplicate delivery). Concurrent deliveries
        of one event: exactly one gets True."""

    async def claim(self, entry: InboxEntry) -> tuple[bool, str | None]:
        """record(), answered with what a duplicate needs: (True, None) when this call stored the event, else
        (False, the outcome the first delivery stored). A store may do both in one round trip."""

    async def set_outcome(
        self, gateway_account_id: str, event_id: str, outcome: str, payment_id: str | None
    ) -> None: ...

    async def get(self, gateway_account_id: str, event_id: str) -> InboxEntry | None: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str  # the cursor: ordered as committed
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class EventFeed(Protocol):
    """The outbox, read in commit order."""

    async def list_after(self, cursor: str | None, limit: int) -> list[StoredEvent]: ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    caller: str
    key: str
    fingerprint: str
    created_at: datetime
    status_code: int | None = None  # None while the first request is still running
    response_body: bytes | None = None
    response_headers: dict[str, str] | None = None


class IdempotencyRecords(Protocol):
    """Idempotency-Key records of POST requests, per caller."""

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store a new in-flight record and return None, or return the record already stored for
        (caller, key). Exactly one of concurrent claims gets None."""

    async def complete(
        self, caller: str, key: str, status_code: int, body: bytes, headers: dict[str, str]
    ) -> None: ...

    async def release(self, caller: str, key: str) -> None:
        """Forget an in-flight claim whose request failed without an answer worth replaying."""

    async def purge_older_than(self, cutoff: datetime) -> int: ...
