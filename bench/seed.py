"""Seeding by copying hexpay's own template rows inside Postgres (INSERT ... SELECT over generate_series): no
row crosses the wire, a hundred thousand orders with their lines, invoices, payments and events take seconds.

Order numbers: the history (paid orders, 1..H) sits apart from the pools the runs consume (from POOL_BASE up), so
the history can grow to the next level of the cost curve while pools keep being handed out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import Table

from adapters.sqlalchemy.tables import (
    customer_gateway_ids,
    customers,
    idempotency_keys,
    invoices,
    order_lines,
    orders,
    outbox,
    payment_methods,
    payments,
)
from bench import naming
from bench.naming import SQL
from bench.templates import TEMPLATE_KEY, Templates

LINKED_CUSTOMERS = 10_000  # every history order belongs to one of them, in turn
FRESH_CUSTOMER_BASE = 50_000_000  # customers without a gateway customer yet (a hexpay server links them itself)
POOL_BASE = 1_000_000_000
CHUNK = 250_000
IDEMPOTENCY_RECORDS = 20_000  # the history's most recent checkouts keep their idempotency records


@dataclass(frozen=True)
class Pool:
    """Order numbers [start, stop) of one kind, order n belonging to customer c0 + (n - base) % k: one of the
    linked customers (c0 = 1, base = 0, as pgbench computes it) or one of the pool's own fresh customers."""

    name: str
    kind: str  # pending | action
    start: int
    stop: int
    c0: int = 1
    k: int = LINKED_CUSTOMERS
    base: int = 0

    def customer(self, n: int) -> int:
        return self.c0 + (n - self.base) % self.k

    def sql_customer(self, n: str) -> str:
        return f"({self.c0} + ((({n}) - {self.base}) % {self.k}))"

    def __len__(self) -> int:
        return self.stop - self.start

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "start": self.start, "stop": self.stop, "c0": self.c0,
                "k": self.k, "base": self.base}


@dataclass
class Layout:
    history: int = 0  # paid orders 1..history, each with a succeeded payment, its events and webhook
    next_order: int = POOL_BASE
    next_fresh_customer: int = FRESH_CUSTOMER_BASE
    pools: list[Pool] = field(default_factory=list)

    @staticmethod
    def history_customer(n: int) -> int:
        return 1 + (n - 1) % LINKED_CUSTOMERS

    @staticmethod
    def sql_history_customer(n: str) -> str:
        return f"(1 + ((({n}) - 1) % {LINKED_CUSTOMERS}))"


def _q(name: str) -> str:
    return f'"{name}"'


def clone(table: Table, where: str, overrides: dict[str, str], start: int, stop: int) -> str:
    """Copy the template row(s) of `table` matching `where` once per n in [start, stop), some columns rewritten.
    The templates are read once (a materialized CTE), however large the table has grown."""
    columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    values = [overrides.get(c, f"t.{_q(c)}") for c in columns]
    return (f"WITH t AS MATERIALIZED (SELECT * FROM {table.name} t WHERE {where}) "
            f"INSERT INTO {table.name} ({', '.join(map(_q, columns))}) SELECT {', '.join(values)} "
            f"FROM t CROSS JOIN generate_series({start}, {stop - 1}) AS s(n)")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Seeder:
    def __init__(self, connection: asyncpg.Connection, templates: Templates, layout: Layout) -> None:
        self.db, self.t, self.layout = connection, templates, layout
        self._events: list[int] | None = None

    async def _run(self, statements: list[str]) -> None:
        async with self.db.transaction():
            for statement in statements:
                await self.db.execute(statement)

    async def customers(self, start: int, stop: int, *, linked: bool) -> None:
        c = "s.n"
        statements = [clone(customers, f"t.id = {_lit(self.t.customer)}", {
            "id": SQL["customer_id"](c), "reference": SQL["reference"](c),
            "email": f"{SQL['reference'](c)} || '@example.com'",
            "created_at": "t.created_at - s.n * interval '1 minute'",
        }, start, stop)]
        if linked:
            statements.append(clone(customer_gateway_ids, f"t.customer_id = {_lit(self.t.customer)}", {
                "customer_id": SQL["customer_id"](c), "gateway_customer_id": SQL["gateway_customer_id"](c),
            }, start, stop))
            statements.append(clone(payment_methods, f"t.id = {_lit(self.t.card)}", {
                "id": SQL["payment_method_id"](c), "customer_id": SQL["customer_id"](c),
                "gateway_payment_method_id": SQL["gateway_payment_method_id"](c),
                "created_at": "t.created_at - s.n * interval '1 minute'",
            }, start, stop))
        await self._run(statements)

    def _orders(self, template_order: str, customer: str, start: int, stop: int,
                payment: str | None) -> list[str]:
        n = "s.n"
        when = f"t.created_at - ({POOL_BASE * 2} - s.n) * interval '1 second'" if start < POOL_BASE else \
            "t.created_at"
        where = f"t.id = {_lit(template_order)}"
        return [
            clone(orders, where, {
                "id": SQL["order_id"](n), "customer_id": SQL["customer_id"](customer),
                "customer_reference": SQL["reference"](customer), "created_at": when,
                **({"payment_id": f"CASE WHEN t.payment_id IS NULL THEN NULL ELSE {SQL['payment_id'](n)} END"}
                   if payment else {}),
            }, start, stop),
            clone(order_lines, f"t.order_id = {_lit(template_order)}", {"order_id": SQL["order_id"](n)},
                  start, stop),
            clone(invoices, f"t.order_id = {_lit(template_order)}", {
                "id": SQL["invoice_id"](n), "order_id": SQL["order_id"](n), "number": SQL["invoice_number"](n),
                "created_at": when,
            }, start, stop),
        ]

    def _payments(self, template_payment: str, customer: str, start: int, stop: int) -> list[str]:
        n = "s.n"
        return [clone(payments, f"t.id = {_lit(template_payment)}", {
            "id": SQL["payment_id"](n), "order_id": SQL["order_id"](n), "customer_id": SQL["customer_id"](customer),
            "gateway_payment_id": SQL["gateway_payment_id"](n), "payment_method_id": SQL["payment_method_id"](customer),
            "gateway_payment_method_id": SQL["gateway_payment_method_id"](customer),
        }, start, stop)]

    async def _paid_order_events(self) -> list[int]:
        """The outbox rows of the template paid order: the first of each type naming it (copies keep its ids)."""
        if self._events is None:
            rows = await self.db.fetch(
                "SELECT DISTINCT ON (type) id FROM outbox WHERE data->>'payment_id' = $1 OR data->>'order_id' = $2 "
                "ORDER BY type, id",
                self.t.paid_payment, self.t.paid_order)
            self._events = [int(r["id"]) for r in rows]
        return self._events

    async def history(self, upto: int) -> None:
        """Paid orders (layout.history, upto]: order, line, paid invoice, succeeded payment, its domain events,
        its webhook in the inbox and the idempotency record of its checkout."""
        events = await self._paid_order_events()
        for start in range(self.layout.history + 1, upto + 1, CHUNK):
            stop = min(start + CHUNK, upto + 1)
            customer = Layout.sql_history_customer("s.n")
            n = "s.n"
            statements = [
                *self._orders(self.t.paid_order, customer, start, stop, payment=SQL["payment_id"](n)),
                *self._payments(self.t.paid_payment, customer, start, stop),
                # The six domain events of a paid order (their payloads keep the template's ids: only the feed's
                # volume matters, and nothing in the scenarios reads them).
                clone(outbox, f"t.id IN ({', '.join(map(str, events))})", {}, start, stop),
                f"INSERT INTO webhook_inbox (gateway_account_id, event_id, type, received_at, outcome, payment_id) "
                f"SELECT {_lit(self.t.gateway_id)}, {naming.sql_event_id('s', n)}, 'payment_intent.succeeded', "
                f"now() - s.n * interval '1 second', 'applied', {SQL['payment_id'](n)} "
                f"FROM generate_series({start}, {stop - 1}) AS s(n)",
            ]
            # Idempotency records live 24 hours: the last day's checkouts only.
            recent = max(start, upto + 1 - IDEMPOTENCY_RECORDS)
            if recent < stop:
                statements.append(clone(idempotency_keys, f"t.key = {_lit(TEMPLATE_KEY)}", {
                    "caller": f"'shopper:' || {SQL['reference'](customer)}", "key": "'k_s' || s.n",
                    "created_at": "now() - interval '1 hour'",
                }, recent, stop))
            await self._run(statements)
            self.layout.history = stop - 1

    async def customers_only(self, count: int) -> int:
        """`count` new customers with no gateway customer nor card yet; the first one's number."""
        c0 = self.layout.next_fresh_customer
        self.layout.next_fresh_customer += count
        await self.customers(c0, c0 + count, linked=False)
        return c0

    async def pool(self, name: str, kind: str, size: int, *, customers: tuple[int, int] | None = None,
                   contiguous: bool = False) -> Pool:
        """A new range of orders to consume: pending (no payment yet) or action (payment in requires_action),
        belonging in turn to the linked customers, or to the given (first, count) customers. `contiguous` starts
        it right where the last pool ended (pgbench walks one range with a sequence)."""
        start = self.layout.next_order - 1000 if contiguous else self.layout.next_order
        stop = start + size
        self.layout.next_order = stop + 1000
        if customers is not None:
            pool = Pool(name, kind, start, stop, c0=customers[0], k=customers[1], base=start)
        else:
            pool = Pool(name, kind, start, stop)
        customer = pool.sql_customer("s.n")
        if kind == "pending":
            statements = self._orders(self.t.pending_order, customer, start, stop, payment=None)
        elif kind == "action":
            statements = [*self._orders(self.t.action_order, customer, start, stop, payment=None),
                          *self._payments(self.t.action_payment, customer, start, stop)]
        else:
            raise ValueError(kind)
        await self._run(statements)
        self.layout.pools.append(pool)
        return pool

    async def analyze(self) -> None:
        await self.db.execute("ANALYZE")


async def counts(connection: asyncpg.Connection) -> dict[str, int]:
    tables = ["customers", "orders", "invoices", "payments", "payment_methods", "webhook_inbox", "outbox",
              "idempotency_keys"]
    return {t: int(await connection.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}


def elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.1f}s"
