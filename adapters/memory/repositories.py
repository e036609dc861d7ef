"""The repository ports over a MemoryTransaction: dict lookups and scans, the database's guarantees kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from adapters.memory.copies import private_copy
from adapters.memory.store import MemoryTransaction
from application.ports.repositories import IdempotencyRecord, InboxEntry, Page, StoredEvent
from domain.customer import Customer
from domain.errors import NotFound
from domain.gateway_account import GatewayAccount
from domain.invoice import Invoice
from domain.order import Order
from domain.payment import Payment
from domain.payment_method import PaymentMethod
from domain.refund import RefundStatus

T = TypeVar("T")
TransactionSource = Callable[[], MemoryTransaction]

_UNSETTLED_REFUNDS = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)


def _page(items: list[T], page: Page | None, id_of: Callable[[T], str]) -> list[T]:
    if page is None:
        return items
    if page.starting_after is not None:
        ids = [id_of(item) for item in items]
        items = items[ids.index(page.starting_after) + 1:] if page.starting_after in ids else []
    return items[: page.limit]


class _Repository:
    table = ""

    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx

    def _get(self, key: Any) -> Any:
        return self._tx().read(self.table, key)

    def _find(self, match: Callable[[Any], bool]) -> list[Any]:
        tx = self._tx()
        return [tx.read(self.table, key) for key, value in tx.values(self.table) if match(value)]


class MemoryCustomerRepository(_Repository):
    table = "customers"

    async def get(self, customer_id: str) -> Customer | None:
        return cast(Customer | None, self._get(customer_id))

    async def get_by_reference(self, reference: str) -> Customer | None:
        found = self._find(lambda c: c.reference == reference)
        return found[0] if found else None

    async def id_of(self, reference: str) -> str | None:
        found = await self.get_by_reference(reference)
        return None if found is None else found.id

    async def add(self, customer: Customer) -> None:
        await self._tx().insert(self.table, customer.id, customer)

    async def update(self, customer: Customer) -> None:
        await self._tx().update(self.table, customer.id, customer)


class MemoryGatewayAccountRepository(_Repository):
    table = "gateway_accounts"

    async def get(self, account_id: str) -> GatewayAccount | None:
        return cast(GatewayAccount | None, self._get(account_id))

    async def list(self, *, active_only: bool = False) -> list[GatewayAccount]:
        found = self._find(lambda a: a.is_active or not active_only)
        return sorted(found, key=lambda a: (a.created_at, a.id))

    async def add(self, account: GatewayAccount) -> None:
        await self._tx().insert(self.table, account.id, account)

    async def update(self, account: GatewayAccount) -> None:
        await self._tx().update(self.table, account.id, account)


class MemoryPaymentMethodRepository(_Repository):
    table = "payment_methods"

    async def get(self, payment_method_id: str) -> PaymentMethod | None:
        return cast(PaymentMethod | None, self._get(payment_method_id))

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[PaymentMethod]:
        found = self._find(lambda m: m.customer_id == customer_id and not m.detached)
        return _page(sorted(found, key=lambda m: (m.created_at, m.id)), page, lambda m: m.id)

    async def find_by_gateway_id(self, gateway_account_id: str, gateway_payment_method_id: str) -> PaymentMethod | None:
        found = self._find(lambda m: m.gateway_account_id == gateway_account_id
                           and m.gateway_payment_method_id == gateway_payment_method_id)
        return found[0] if found else None

    async def add(self, method: PaymentMethod) -> None:
        await self._tx().insert(self.table, method.id, method)

    async def update(self, method: PaymentMethod) -> None:
        await self._tx().update(self.table, method.id, method)


class MemoryOrderRepository(_Repository):
    table = "orders"

    async def get(self, order_id: str) -> Order | None:
        return cast(Order | None, self._get(order_id))

    async def get_for_update(self, order_id: str) -> Order | None:
        tx = self._tx()
        if tx.row(self.table, order_id) is None:
            return None
        await tx.lock_row(self.table, order_id)
        return cast(Order | None, self._get(order_id))

    async def get_with_invoice(self, order_id: str) -> tuple[Order, Invoice | None] | None:
        order = cast(Order | None, self._get(order_id))
        if order is None:
            return None
        return order, await MemoryInvoiceRepository(self._tx).get_for_order(order_id)

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[Order]:
        found = self._find(lambda o: o.customer_id == customer_id)
        return _page(sorted(found, key=lambda o: (o.created_at, o.id), reverse=True), page, lambda o: o.id)

    async def add(self, order: Order) -> None:
        await self._tx().insert(self.table, order.id, order)

    async def update(self, order: Order) -> None:
        await self._tx().update(self.table, order.id, order)


class MemoryInvoiceRepository(_Repository):
    table = "invoices"

    async def get(self, invoice_id: str) -> Invoice | None:
        return cast(Invoice | None, self._get(invoice_id))

    async def get_for_order(self, order_id: str) -> Invoice | None:
        found = self._find(lambda i: i.order_id == order_id)
        return found[0] if found else None

    async def list_for_orders(self, order_ids: Sequence[str]) -> dict[str, Invoice]:
        wanted = set(order_ids)
        return {invoice.order_id: invoice for invoice in self._find(lambda i: i.order_id in wanted)}

    async def next_sequence(self, year: int) -> int:
        """The year's counter row stays locked until the transaction ends, so numbers are handed out in turn."""
        tx = self._tx()
        await tx.lock_row("invoice_sequences", year)
        row = tx.row("invoice_sequences", year)
        value = (row.value if row is not None else 0) + 1
        tx.put("invoice_sequences", year, value, value)
        return int(value)

    async def add(self, invoice: Invoice) -> None:
        await self._tx().insert(self.table, invoice.id, invoice)

    async def update(self, invoice: Invoice) -> None:
        await self._tx().update(self.table, invoice.id, invoice)


class MemoryPaymentRepository(_Repository):
    table = "payments"

    async def get(self, payment_id: str) -> Payment | None:
        return cast(Payment | None, self._get(payment_id))

    async def get_for_update(self, payment_id: str) -> Payment | None:
        tx = self._tx()
        if tx.row(self.table, payment_id) is None:
            return None
        await tx.lock_row(self.table, payment_id)
        return cast(Payment | None, self._get(payment_id))

    async def find_by_gateway_id(
        self, gateway_account_id: str, gateway_payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        found = self._find(lambda p: p.gateway_account_id == gateway_account_id
                           and p.gateway_payment_id == gateway_payment_id)
        if not found:
            return None
        return await self.get_for_update(found[0].id) if for_update else found[0]

    async def find_by_gateway_refund_id(self, gateway_account_id: str, gateway_refund_id: str) -> Payment | None:
        found = self._find(lambda p: p.gateway_account_id == gateway_account_id
                           and any(r.gateway_refund_id == gateway_refund_id for r in p.refunds))
        return found[0] if found else None

    async def find_live(self, order_id: str, gateway_account_id: str) -> Payment | None:
        found = self._find(lambda p: p.order_id == order_id and p.gateway_account_id == gateway_account_id
                           and p.is_live)
        return found[0] if found else None

    async def list_for_order(self, order_id: str) -> list[Payment]:
        return sorted(self._find(lambda p: p.order_id == order_id), key=lambda p: (p.created_at, p.id))

    async def list_unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Oldest first; rows another transaction holds are skipped (SKIP LOCKED), the rest locked."""
        tx = self._tx()
        candidates = sorted(
            (p for _, p in tx.values(self.table)
             if p.updated_at < updated_before
             and (p.is_live or any(r.status in _UNSETTLED_REFUNDS for r in p.refunds))),
            key=lambda p: (p.updated_at, p.id),
        )
        chosen: list[Payment] = []
        for payment in candidates:
            if len(chosen) >= limit:
                break
            if tx.try_lock_row(self.table, payment.id):
                chosen.append(tx.read(self.table, payment.id))
        return chosen

    def adopt(self, payment: Payment) -> None:
        """Nothing to remember here (update() checks the version the payment carries); but a payment changed since
        it was read or written is a caller's mistake the SQL adapter could not see (it would write only what
        differs from the payment as given), so it is refused here, where the tests drive the use cases."""
        row = self._tx().row(self.table, payment.id)
        if row is not None and row.version == payment.version and row.value != payment:
            raise AssertionError(f"payment {payment.id} was changed since it was read: adopt() it before changing it")

    async def add(self, payment: Payment) -> None:
        await self._tx().insert(self.table, payment.id, payment)

    async def update(self, payment: Payment) -> None:
        await self._tx().update(self.table, payment.id, payment)


class MemoryWebhookInbox(_Repository):
    table = "webhook_inbox"

    async def record(self, entry: InboxEntry) -> bool:
        tx = self._tx()
        key = (entry.gateway_account_id, entry.event_id)
        await tx.wait_for_writer(self.table, key)
        if tx.row(self.table, key) is not None:
            return False
        await tx.lock_row(self.table, key)
        tx.put(self.table, key, entry, 0)
        return True

    async def claim(self, entry: InboxEntry) -> tuple[bool, str | None]:
        if await self.record(entry):
            return True, None
        stored = await self.get(entry.gateway_account_id, entry.event_id)
        return False, stored.outcome if stored is not None else None

    async def set_outcome(self, gateway_account_id: str, event_id: str, outcome: str, payment_id: str | None) -> None:
        tx = self._tx()
        key = (gateway_account_id, event_id)
        await tx.lock_row(self.table, key)
        row = tx.row(self.table, key)
        if row is None:
            raise NotFound(f"no webhook event {event_id} for {gateway_account_id}")
        tx.put(self.table, key, dataclasses.replace(row.value, outcome=outcome, payment_id=payment_id),
               row.version + 1)

    async def get(self, gateway_account_id: str, event_id: str) -> InboxEntry | None:
        return cast(InboxEntry | None, self._get((gateway_account_id, event_id)))


class MemoryEventFeed(_Repository):
    async def list_after(self, cursor: str | None, limit: int) -> list[StoredEvent]:
        after = int(cursor) if cursor else 0
        outbox = self._tx().store.outbox
        return [private_copy(e) for e in outbox if int(e.id) > after][:limit]


class MemoryIdempotencyRecords(_Repository):
    table = "idempotency"

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        tx = self._tx()
        key = (record.caller, record.key)
        await tx.wait_for_writer(self.table, key)
        existing = tx.read(self.table, key)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        await tx.lock_row(self.table, key)
        tx.put(self.table, key, record, 0)
        return None

    async def complete(self, caller: str, key: str, status_code: int, body: bytes, headers: dict[str, str]) -> None:
        tx = self._tx()
        await tx.lock_row(self.table, (caller, key))
        row = tx.row(self.table, (caller, key))
        if row is None:
            raise NotFound(f"no idempotency record {key}")
        done = dataclasses.replace(row.value, status_code=status_code, response_body=body,
                                   response_headers=dict(headers))
        tx.put(self.table, (caller, key), done, row.version + 1)

    async def release(self, caller: str, key: str) -> None:
        tx = self._tx()
        await tx.lock_row(self.table, (caller, key))
        tx.delete(self.table, (caller, key))

    async def purge_older_than(self, cutoff: datetime) -> int:
        tx = self._tx()
        old: Iterable[Any] = [key for key, r in tx.values(self.table) if r.created_at < cutoff]
        purged = 0
        for key in old:
            if tx.try_lock_row(self.table, key):  # one in use right now is purged next time
                tx.delete(self.table, key)
                purged += 1
        return purged
