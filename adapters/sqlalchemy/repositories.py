"""Customers, gateway accounts, saved cards, orders and invoices on SQLAlchemy Core."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Select, Table, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy import mapping
from adapters.sqlalchemy.account_memory import AccountMemory
from adapters.sqlalchemy.customer_ids import CustomerIds
from adapters.sqlalchemy.tables import (
    customer_gateway_ids,
    customers,
    gateway_accounts,
    invoice_sequences,
    invoices,
    order_lines,
    orders,
    payment_methods,
)
from adapters.sqlalchemy.transaction import SqlTransaction
from application.ports.repositories import Page
from domain.customer import Customer
from domain.gateway_account import GatewayAccount
from domain.invoice import Invoice
from domain.order import Order
from domain.payment_method import PaymentMethod

TransactionSource = Callable[[], SqlTransaction]


@functools.cache
def _paged(query: Select[Any], table: Table, after: bool, limited: bool, newest_first: bool) -> Select[Any]:
    """Keyset pagination on (created_at, id), built once per listing and shape; the cursor and the limit are
    parameters (:after_id, :page_limit), so every page runs the same prepared statement."""
    if after:
        anchor = select(table.c.created_at).where(table.c.id == bindparam("after_id")).scalar_subquery()
        after_id: BindParameter[Any] = bindparam("after_id")
        if newest_first:
            query = query.where(or_(table.c.created_at < anchor,
                                    and_(table.c.created_at == anchor, table.c.id < after_id)))
        else:
            query = query.where(or_(table.c.created_at > anchor,
                                    and_(table.c.created_at == anchor, table.c.id > after_id)))
    if newest_first:
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc())
    else:
        query = query.order_by(table.c.created_at, table.c.id)
    return query.limit(bindparam("page_limit")) if limited else query


def paged(query: Select[Any], table: Table, page: Page | None, params: dict[str, Any], *,
          newest_first: bool) -> tuple[Select[Any], dict[str, Any]]:
    after = page is not None and page.starting_after is not None
    statement = _paged(query, table, after, page is not None, newest_first)
    if page is not None:
        params = {**params, "page_limit": page.limit}
        if page.starting_after is not None:
            params["after_id"] = page.starting_after
    return statement, params


class _Repository:
    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx


# The statements every request runs are built once (SQLAlchemy then skips their construction and cache key), and
# a customer comes with its gateway customer ids, an order with its lines, in one statement (one round trip, one
# snapshot) instead of two.
_CUSTOMER = select(
    customers, customer_gateway_ids.c.gateway_account_id.label("linked_account_id"),
    customer_gateway_ids.c.gateway_customer_id.label("linked_customer_id"),
).select_from(customers.outerjoin(customer_gateway_ids, customer_gateway_ids.c.customer_id == customers.c.id))
_CUSTOMER_BY_ID = _CUSTOMER.where(customers.c.id == bindparam("customer_id"))
_CUSTOMER_BY_REFERENCE = _CUSTOMER.where(customers.c.reference == bindparam("reference"))
_CUSTOMER_ID_BY_REFERENCE = select(customers.c.id).where(customers.c.reference == bindparam("reference"))
_ACCOUNT_BY_ID = select(gateway_accounts).where(gateway_accounts.c.id == bindparam("account_id"))
_METHOD_BY_ID = select(payment_methods).where(payment_methods.c.id == bindparam("payment_method_id"))
_METHOD_BY_GATEWAY_ID = select(payment_methods).where(
    payment_methods.c.gateway_account_id == bindparam("account_id"),
    payment_methods.c.gateway_payment_method_id == bindparam("gateway_payment_method_id"))
_METHODS_OF_CUSTOMER = select(payment_methods).where(payment_methods.c.customer_id == bindparam("customer_id"),
                                                     payment_methods.c.detached.is_(False))
_ORDER_WITH_LINES = select(
    orders, order_lines.c.position.label("line_position"), order_lines.c.description.label("line_description"),
    order_lines.c.quantity.label("line_quantity"), order_lines.c.unit_amount.label("line_unit_amount"),
    order_lines.c.currency.label("line_currency"),
).select_from(orders.outerjoin(order_lines, order_lines.c.order_id == orders.c.id)).where(
    orders.c.id == bindparam("order_id"))
# A settlement that reaches the order reads its invoice too: both in one statement (an order has one invoice, so
# the join repeats the invoice's columns on each of the order's few lines).
_INVOICE_COLUMNS = tuple(column.name for column in invoices.c)
_ORDER_WITH_LINES_AND_INVOICE = _ORDER_WITH_LINES.add_columns(
    *(invoices.c[name].label("invoice_" + name) for name in _INVOICE_COLUMNS),
).outerjoin(invoices, invoices.c.order_id == orders.c.id)
_ORDERS_OF_CUSTOMER = select(orders).where(orders.c.customer_id == bindparam("customer_id"))
_ORDER_FOR_UPDATE = select(orders).where(orders.c.id == bindparam("order_id")).with_for_update()
_LINES_OF_ORDER = select(order_lines).where(order_lines.c.order_id == bindparam("order_id"))
_LINE_COLUMNS = ("position", "description", "quantity", "unit_amount", "currency")
_INVOICE_BY_ID = select(invoices).where(invoices.c.id == bindparam("invoice_id"))
_INVOICE_OF_ORDER = select(invoices).where(invoices.c.order_id == bindparam("order_id"))
_INVOICES_OF_ORDERS = select(invoices).where(invoices.c.order_id.in_(bindparam("order_ids", expanding=True)))


@functools.cache
def _next_invoice_number(is_postgres: bool) -> Any:
    dialect_insert: Any = postgresql.insert if is_postgres else sqlite.insert
    return dialect_insert(invoice_sequences).values(year=bindparam("year"), last_value=1).on_conflict_do_update(
        index_elements=[invoice_sequences.c.year],
        set_={"last_value": invoice_sequences.c.last_value + 1},
    ).returning(invoice_sequences.c.last_value)


class SqlAlchemyCustomerRepository(_Repository):
    def __init__(self, tx: TransactionSource, known: CustomerIds) -> None:
        super().__init__(tx)
        self._known = known

    async def _load(self, query: Select[Any], params: dict[str, Any]) -> Customer | None:
        tx = self._tx()
        rows = (await tx.execute(query, params)).mappings().all()
        if not rows:
            return None
        row = rows[0]
        ids = [{"gateway_account_id": r["linked_account_id"], "gateway_customer_id": r["linked_customer_id"]}
               for r in rows if r["linked_account_id"] is not None]
        customer = mapping.customer_from(row, ids)
        self._remember_committed(tx, customer.reference, customer.id)
        tx.remember_row(customers, row)
        tx.remember_children(customer_gateway_ids, customer.id, mapping.customer_gateway_id_rows(customer))
        return customer

    async def get(self, customer_id: str) -> Customer | None:
        return await self._load(_CUSTOMER_BY_ID, {"customer_id": customer_id})

    async def get_by_reference(self, reference: str) -> Customer | None:
        return await self._load(_CUSTOMER_BY_REFERENCE, {"reference": reference})

    async def id_of(self, reference: str) -> str | None:
        known = self._known.get(reference)
        if known is not None:
            return known
        tx = self._tx()
        row = (await tx.execute(_CUSTOMER_ID_BY_REFERENCE, {"reference": reference})).mappings().first()
        if row is None:
            return None
        customer_id: str = row["id"]
        self._remember_committed(tx, reference, customer_id)
        return customer_id

    def _remember_committed(self, tx: SqlTransaction, reference: str, customer_id: str) -> None:
        """A row this transaction wrote (or read and may have changed) is left out: it may not be committed."""
        if (customers.name, customer_id) not in tx.rows:
            self._known.remember(reference, customer_id)

    async def add(self, customer: Customer) -> None:
        children = [(customer_gateway_ids, "customer_id", mapping.customer_gateway_id_rows(customer))]
        await self._tx().insert_aggregate(customers, mapping.customer_row(customer), customer, children)

    async def update(self, customer: Customer) -> None:
        children = [(customer_gateway_ids, "customer_id", mapping.customer_gateway_id_rows(customer))]
        await self._tx().update_aggregate(customers, mapping.customer_row(customer), customer, children)


class SqlAlchemyGatewayAccountRepository(_Repository):
    def __init__(self, tx: TransactionSource, memory: AccountMemory | None) -> None:
        super().__init__(tx)
        self._memory = memory  # Postgres: the rows this process may answer from (account_memory.py)

    async def get(self, account_id: str) -> GatewayAccount | None:
        tx = self._tx()
        # Not from memory (nor into it) when this transaction wrote the account, nor inside a reader's
        # one-snapshot transaction, whose statements may see an older moment than the memory's generation.
        memory = self._memory if (gateway_accounts.name, account_id) not in tx.rows and tx.session.sees_latest() \
            else None
        row = memory.get(account_id) if memory is not None else None
        if row is None:
            generation = memory.generation if memory is not None else 0  # before the read: a missed change moves it
            row = (await tx.execute(_ACCOUNT_BY_ID, {"account_id": account_id})).mappings().first()
            if row is None:
                return None
            if memory is not None:
                memory.remember(account_id, row, generation)
        return mapping.gateway_account_from(row, tx.box)  # a fresh aggregate each time: callers change theirs

    async def list(self, *, active_only: bool = False) -> list[GatewayAccount]:
        tx = self._tx()
        query = select(gateway_accounts).order_by(gateway_accounts.c.created_at, gateway_accounts.c.id)
        if active_only:
            query = query.where(gateway_accounts.c.is_active.is_(True))
        return [mapping.gateway_account_from(row, tx.box) for row in (await tx.execute(query)).mappings()]

    async def add(self, account: GatewayAccount) -> None:
        tx = self._tx()
        await tx.insert_aggregate(gateway_accounts, mapping.gateway_account_row(account, tx.box), account)

    async def update(self, account: GatewayAccount) -> None:
        tx = self._tx()
        if self._memory is not None:
            # Forgotten here at once, and again by the trigger's notification once the change commits; a version
            # conflict (the account read from memory was out of date) makes the retry read the database.
            self._memory.forget(account.id)
        await tx.update_aggregate(gateway_accounts, mapping.gateway_account_row(account, tx.box), account)


class SqlAlchemyPaymentMethodRepository(_Repository):
    async def _one(self, query: Select[Any], params: dict[str, Any]) -> PaymentMethod | None:
        tx = self._tx()
        row = (await tx.execute(query, params)).mappings().first()
        if row is None:
            return None
        tx.remember_row(payment_methods, row)
        return mapping.payment_method_from(row)

    async def get(self, payment_method_id: str) -> PaymentMethod | None:
        return await self._one(_METHOD_BY_ID, {"payment_method_id": payment_method_id})

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[PaymentMethod]:
        query, params = paged(_METHODS_OF_CUSTOMER, payment_methods, page, {"customer_id": customer_id},
                              newest_first=False)
        tx = self._tx()
        rows = (await tx.execute(query, params)).mappings().all()
        for row in rows:
            tx.remember_row(payment_methods, row)
        return [mapping.payment_method_from(row) for row in rows]

    async def find_by_gateway_id(self, gateway_account_id: str, gateway_payment_method_id: str) -> PaymentMethod | None:
        return await self._one(_METHOD_BY_GATEWAY_ID, {"account_id": gateway_account_id,
                                                        "gateway_payment_method_id": gateway_payment_method_id})

    async def add(self, method: PaymentMethod) -> None:
        await self._tx().insert_aggregate(payment_methods, mapping.payment_method_row(method), method)

    async def update(self, method: PaymentMethod) -> None:
        await self._tx().update_aggregate(payment_methods, mapping.payment_method_row(method), method)


class SqlAlchemyOrderRepository(_Repository):
    async def _load(self, query: Select[Any], params: dict[str, Any] | None = None) -> list[Order]:
        tx = self._tx()
        if tx.outside_snapshot:  # a reader: the orders and their lines from one snapshot
            async with tx.snapshot():
                return await self._load(query, params)
        rows = (await tx.execute(query, params)).mappings().all()
        if not rows:
            return []
        lines: dict[str, list[Any]] = defaultdict(list)
        ids = [r["id"] for r in rows]
        found = (await tx.execute(_LINES_OF_ORDER, {"order_id": ids[0]}) if len(ids) == 1 else await tx.execute(
            select(order_lines).where(order_lines.c.order_id.in_(ids)))).mappings()
        for line in found:
            lines[line["order_id"]].append(line)
        loaded = [mapping.order_from(row, lines[row["id"]]) for row in rows]
        for row in rows:
            tx.remember_row(orders, row)
        for order in loaded:
            tx.remember_children(order_lines, order.id, mapping.order_line_rows(order))
        return loaded

    async def get(self, order_id: str) -> Order | None:
        tx = self._tx()
        return self._order_of(tx, (await tx.execute(_ORDER_WITH_LINES, {"order_id": order_id})).mappings().all())

    async def get_with_invoice(self, order_id: str) -> tuple[Order, Invoice | None] | None:
        tx = self._tx()
        rows = (await tx.execute(_ORDER_WITH_LINES_AND_INVOICE, {"order_id": order_id})).mappings().all()
        order = self._order_of(tx, rows)
        if order is None:
            return None
        if rows[0]["invoice_id"] is None:
            return order, None
        invoice_row = {name: rows[0]["invoice_" + name] for name in _INVOICE_COLUMNS}
        tx.remember_row(invoices, invoice_row)
        return order, mapping.invoice_from(invoice_row)

    @staticmethod
    def _order_of(tx: SqlTransaction, rows: list[Any]) -> Order | None:
        """The order of _ORDER_WITH_LINES's rows (one per line, or one without a line)."""
        if not rows:
            return None
        lines = [{c: r["line_" + c] for c in _LINE_COLUMNS} for r in rows if r["line_position"] is not None]
        order = mapping.order_from(rows[0], lines)
        tx.remember_row(orders, rows[0])
        tx.remember_children(order_lines, order.id, mapping.order_line_rows(order))
        return order

    async def get_for_update(self, order_id: str) -> Order | None:
        found = await self._load(_ORDER_FOR_UPDATE, {"order_id": order_id})
        return found[0] if found else None

    async def list_for_customer(self, customer_id: str, page: Page | None = None) -> list[Order]:
        return await self._load(*paged(_ORDERS_OF_CUSTOMER, orders, page, {"customer_id": customer_id},
                                       newest_first=True))

    async def add(self, order: Order) -> None:
        children = [(order_lines, "order_id", mapping.order_line_rows(order))]
        await self._tx().insert_aggregate(orders, mapping.order_row(order), order, children)

    async def update(self, order: Order) -> None:
        children = [(order_lines, "order_id", mapping.order_line_rows(order))]
        await self._tx().update_aggregate(orders, mapping.order_row(order), order, children)


class SqlAlchemyInvoiceRepository(_Repository):
    async def _one(self, query: Select[Any], params: dict[str, Any]) -> Invoice | None:
        tx = self._tx()
        row = (await tx.execute(query, params)).mappings().first()
        if row is None:
            return None
        tx.remember_row(invoices, row)
        return mapping.invoice_from(row)

    async def get(self, invoice_id: str) -> Invoice | None:
        return await self._one(_INVOICE_BY_ID, {"invoice_id": invoice_id})

    async def get_for_order(self, order_id: str) -> Invoice | None:
        return await self._one(_INVOICE_OF_ORDER, {"order_id": order_id})

    async def list_for_orders(self, order_ids: Sequence[str]) -> dict[str, Invoice]:
        if not order_ids:
            return {}
        tx = self._tx()
        found = {}
        for row in (await tx.execute(_INVOICES_OF_ORDERS, {"order_ids": list(order_ids)})).mappings():
            tx.remember_row(invoices, row)
            found[row["order_id"]] = mapping.invoice_from(row)
        return found

    async def next_sequence(self, year: int) -> int:
        """One upsert: the year's counter row stays locked until commit, so concurrent numbering waits in turn
        and a rolled back number is handed out again (gapless among committed invoices)."""
        tx = self._tx()
        return int((await tx.execute(_next_invoice_number(tx.is_postgres), {"year": year})).scalar_one())

    async def add(self, invoice: Invoice) -> None:
        await self._tx().insert_aggregate(invoices, mapping.invoice_row(invoice), invoice)

    async def update(self, invoice: Invoice) -> None:
        await self._tx().update_aggregate(invoices, mapping.invoice_row(invoice), invoice)

