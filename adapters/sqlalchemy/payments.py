"""Payments with their refunds and disputes, loaded and saved as one aggregate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Select, String, any_, bindparam, exists, or_, select

from adapters.sqlalchemy import mapping
from adapters.sqlalchemy.tables import FINAL_PAYMENT_STATUSES, disputes, payments, refunds
from adapters.sqlalchemy.transaction import SqlTransaction
from domain.payment import Payment

TransactionSource = Callable[[], SqlTransaction]
_UNSETTLED_REFUND_STATUSES = ("pending", "requires_action")

# A payment's row says whether it has refunds and disputes (has_refunds, has_disputes), so its children are read
# only when it has some: most payments have none, and each read is a round trip. The flags are written with the
# children, by the same UPDATE, so a row read FOR UPDATE (which may be a newer version than its statement's
# snapshot: Postgres re-reads a row it had to wait for) carries flags as new as itself, and the children are read
# afterwards, in statements of their own that see everything committed before the lock was granted.
# Statements are built once (SQLAlchemy then skips their construction and cache key).
_LOADED = select(payments)
_BY_ID = _LOADED.where(payments.c.id == bindparam("payment_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_GATEWAY_ID = (payments.c.gateway_account_id == bindparam("account_id"),
               payments.c.gateway_payment_id == bindparam("gateway_payment_id"))
_BY_GATEWAY_ID = _LOADED.where(*_GATEWAY_ID)
_BY_GATEWAY_ID_FOR_UPDATE = _BY_GATEWAY_ID.with_for_update()
_LIVE = _LOADED.where(payments.c.order_id == bindparam("order_id"),
                      payments.c.gateway_account_id == bindparam("account_id"),
                      payments.c.status.not_in(FINAL_PAYMENT_STATUSES))
_BY_GATEWAY_REFUND_ID = _LOADED.where(payments.c.id.in_(select(refunds.c.payment_id).where(
    refunds.c.gateway_account_id == bindparam("account_id"),
    refunds.c.gateway_refund_id == bindparam("gateway_refund_id"))))
_OF_ORDER = _LOADED.where(payments.c.order_id == bindparam("order_id")).order_by(payments.c.created_at, payments.c.id)
_UNSETTLED = (
    _LOADED
    .where(payments.c.updated_at < bindparam("updated_before"),
           or_(payments.c.status.not_in(FINAL_PAYMENT_STATUSES), exists().where(
               refunds.c.payment_id == payments.c.id, refunds.c.status.in_(_UNSETTLED_REFUND_STATUSES))))
    .order_by(payments.c.updated_at, payments.c.id)
    .limit(bindparam("page_limit"))
    .with_for_update(skip_locked=True, of=payments)
)
# The children of one payment (the usual case: `= $1`), or of several: `= ANY($1)` on Postgres (one statement text
# whatever the count, so prepared once), an expanding IN elsewhere.
_CHILDREN = {table.name: (table, "has_" + table.name, {
    "one": select(table).where(table.c.payment_id == bindparam("payment_id")),
    "any": select(table).where(table.c.payment_id == any_(bindparam("payment_ids", type_=ARRAY(String)))),
    "in": select(table).where(table.c.payment_id.in_(bindparam("payment_ids", expanding=True))),
}) for table in (refunds, disputes)}


def _children_of(statements: dict[str, Any], ids: list[str], is_postgres: bool) -> tuple[Any, dict[str, Any]]:
    if len(ids) == 1:
        return statements["one"], {"payment_id": ids[0]}
    return statements["any" if is_postgres else "in"], {"payment_ids": ids}


class SqlAlchemyPaymentRepository:
    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx

    async def _load(self, query: Select[Any], params: dict[str, Any] | None = None) -> list[Payment]:
        tx = self._tx()
        rows = (await tx.execute(query, params)).mappings().all()
        if not rows:
            return []
        if tx.outside_snapshot and any(row[flag] for row in rows for _, flag, _ in _CHILDREN.values()):
            async with tx.snapshot():  # a reader: the rows again, and their children, from one snapshot
                return await self._load(query, params)
        children: dict[str, dict[str, list[Any]]] = {"refunds": defaultdict(list), "disputes": defaultdict(list)}
        for name, (_, flag, statements) in _CHILDREN.items():
            ids = [row["id"] for row in rows if row[flag]]
            if ids:
                for child in (await tx.execute(*_children_of(statements, ids, tx.is_postgres))).mappings():
                    children[name][child["payment_id"]].append(child)
        loaded = [mapping.payment_from(row, children["refunds"][row["id"]], children["disputes"][row["id"]], tx.box)
                  for row in rows]
        for row in rows:
            tx.remember_row(payments, row)
        for payment in loaded:
            tx.remember_children(refunds, payment.id, mapping.refund_rows(payment))
            tx.remember_children(disputes, payment.id, mapping.dispute_rows(payment))
        return loaded

    async def _first(self, query: Select[Any], params: dict[str, Any] | None = None) -> Payment | None:
        found = await self._load(query, params)
        return found[0] if found else None

    async def get(self, payment_id: str) -> Payment | None:
        return await self._first(_BY_ID, {"payment_id": payment_id})

    async def get_for_update(self, payment_id: str) -> Payment | None:
        """SELECT ... FOR UPDATE on Postgres; SQLite's write transaction already excludes every other writer."""
        return await self._first(_BY_ID_FOR_UPDATE, {"payment_id": payment_id})

    async def find_by_gateway_id(
        self, gateway_account_id: str, gateway_payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        return await self._first(_BY_GATEWAY_ID_FOR_UPDATE if for_update else _BY_GATEWAY_ID,
                                 {"account_id": gateway_account_id, "gateway_payment_id": gateway_payment_id})

    async def find_by_gateway_refund_id(self, gateway_account_id: str, gateway_refund_id: str) -> Payment | None:
        return await self._first(_BY_GATEWAY_REFUND_ID, {"account_id": gateway_account_id,
                                                         "gateway_refund_id": gateway_refund_id})

    async def find_live(self, order_id: str, gateway_account_id: str) -> Payment | None:
        return await self._first(_LIVE, {"order_id": order_id, "account_id": gateway_account_id})

    async def list_for_order(self, order_id: str) -> list[Payment]:
        return await self._load(_OF_ORDER, {"order_id": order_id})

    async def list_unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Oldest first, locked FOR UPDATE SKIP LOCKED on Postgres so that reconcilers running at once share
        the work instead of queueing on the same rows."""
        return await self._load(_UNSETTLED, {"updated_before": updated_before, "page_limit": limit})

    def adopt(self, payment: Payment) -> None:
        """Remember the payment's row and children as if read here: an update() then writes only what changed
        since, matched on the version it carries."""
        tx = self._tx()
        tx.remember_row(payments, mapping.payment_row(payment, tx.box))
        tx.remember_children(refunds, payment.id, mapping.refund_rows(payment))
        tx.remember_children(disputes, payment.id, mapping.dispute_rows(payment))

    async def add(self, payment: Payment) -> None:
        tx = self._tx()
        await tx.insert_aggregate(payments, mapping.payment_row(payment, tx.box), payment, self._children(payment))

    async def update(self, payment: Payment) -> None:
        tx = self._tx()
        await tx.update_aggregate(payments, mapping.payment_row(payment, tx.box), payment, self._children(payment))

    @staticmethod
    def _children(payment: Payment) -> list[tuple[Any, str, list[dict[str, Any]]]]:
        return [(refunds, "payment_id", mapping.refund_rows(payment)),
                (disputes, "payment_id", mapping.dispute_rows(payment))]
