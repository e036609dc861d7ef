"""Payments with their refunds and disputes, loaded and saved as one aggregate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, or_, select

from adapters.sqlalchemy import mapping
from adapters.sqlalchemy.tables import FINAL_PAYMENT_STATUSES, disputes, payments, refunds
from adapters.sqlalchemy.transaction import SqlTransaction
from domain.payment import Payment

TransactionSource = Callable[[], SqlTransaction]
_UNSETTLED_REFUND_STATUSES = ("pending", "requires_action")


class SqlAlchemyPaymentRepository:
    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx

    async def _load(self, query: Select[Any]) -> list[Payment]:
        tx = self._tx()
        rows = (await tx.execute(query)).mappings().all()
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        children: dict[str, dict[str, list[Any]]] = {"refunds": defaultdict(list), "disputes": defaultdict(list)}
        for table in (refunds, disputes):
            for child in (await tx.execute(select(table).where(table.c.payment_id.in_(ids)))).mappings():
                children[table.name][child["payment_id"]].append(child)
        loaded = [mapping.payment_from(row, children["refunds"][row["id"]], children["disputes"][row["id"]], tx.box)
                  for row in rows]
        for row in rows:
            tx.remember_row(payments, row)
        for payment in loaded:
            tx.remember_children(refunds, payment.id, mapping.refund_rows(payment))
            tx.remember_children(disputes, payment.id, mapping.dispute_rows(payment))
        return loaded

    async def _first(self, query: Select[Any]) -> Payment | None:
        found = await self._load(query)
        return found[0] if found else None

    async def get(self, payment_id: str) -> Payment | None:
        return await self._first(select(payments).where(payments.c.id == payment_id))

    async def get_for_update(self, payment_id: str) -> Payment | None:
        """SELECT ... FOR UPDATE on Postgres; SQLite's write transaction already excludes every other writer."""
        return await self._first(select(payments).where(payments.c.id == payment_id).with_for_update())

    async def find_by_gateway_id(
        self, gateway_account_id: str, gateway_payment_id: str, *, for_update: bool = False
    ) -> Payment | None:
        query = select(payments).where(payments.c.gateway_account_id == gateway_account_id,
                                       payments.c.gateway_payment_id == gateway_payment_id)
        return await self._first(query.with_for_update() if for_update else query)

    async def find_by_gateway_refund_id(self, gateway_account_id: str, gateway_refund_id: str) -> Payment | None:
        owner = select(refunds.c.payment_id).where(refunds.c.gateway_account_id == gateway_account_id,
                                                   refunds.c.gateway_refund_id == gateway_refund_id)
        return await self._first(select(payments).where(payments.c.id.in_(owner)))

    async def find_live(self, order_id: str, gateway_account_id: str) -> Payment | None:
        return await self._first(select(payments).where(
            payments.c.order_id == order_id, payments.c.gateway_account_id == gateway_account_id,
            payments.c.status.not_in(FINAL_PAYMENT_STATUSES),
        ))

    async def list_for_order(self, order_id: str) -> list[Payment]:
        return await self._load(
            select(payments).where(payments.c.order_id == order_id).order_by(payments.c.created_at, payments.c.id)
        )

    async def list_unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Oldest first, locked FOR UPDATE SKIP LOCKED on Postgres so that reconcilers running at once share
        the work instead of queueing on the same rows."""
        pending_refund = exists().where(refunds.c.payment_id == payments.c.id,
                                        refunds.c.status.in_(_UNSETTLED_REFUND_STATUSES))
        query = (
            select(payments)
            .where(payments.c.updated_at < updated_before,
                   or_(payments.c.status.not_in(FINAL_PAYMENT_STATUSES), pending_refund))
            .order_by(payments.c.updated_at, payments.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=payments)
        )
        return await self._load(query)

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
