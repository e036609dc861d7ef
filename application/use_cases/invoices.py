"""Invoices: read, voided or marked uncollectible by the shop backend."""

from __future__ import annotations

from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import retry_on_conflict
from domain.errors import NotFound
from domain.invoice import Invoice


class GetInvoice:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, invoice_id: str, customer_reference: str | None = None) -> Invoice:
        async with self._uow() as uow:
            invoice = await uow.invoices.get(invoice_id)
            if invoice is not None and customer_reference is not None:
                order = await uow.orders.get(invoice.order_id)
                if order is None or order.customer_reference != customer_reference:
                    invoice = None
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}")
        return invoice


class VoidInvoice:
    """open|uncollectible -> void. A paid invoice cannot be voided (IllegalTransition -> 409)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, invoice_id: str) -> Invoice:
        async def void() -> Invoice:
            async with self._uow() as uow:
                invoice = await uow.invoices.get(invoice_id)
                if invoice is None:
                    raise NotFound(f"no invoice {invoice_id}")
                invoice.void(self._clock.now())
                await uow.invoices.update(invoice)
                await uow.commit()
                return invoice

        return await retry_on_conflict(void)


class MarkInvoiceUncollectible:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(self, invoice_id: str) -> Invoice:
        async def mark() -> Invoice:
            async with self._uow() as uow:
                invoice = await uow.invoices.get(invoice_id)
                if invoice is None:
                    raise NotFound(f"no invoice {invoice_id}")
                invoice.mark_uncollectible(self._clock.now())
                await uow.invoices.update(invoice)
                await uow.commit()
                return invoice

        return await retry_on_conflict(mark)
