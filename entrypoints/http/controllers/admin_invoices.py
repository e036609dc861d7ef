"""Shop backend: invoices."""

from __future__ import annotations

from litestar import get, post
from litestar.params import FromPath

from application.use_cases.invoices import GetInvoice, MarkInvoiceUncollectible, VoidInvoice
from entrypoints.http.controllers._audience import AdminController
from entrypoints.http.controllers._openapi import ADMIN_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.orders import InvoiceOut, invoice_out


class AdminInvoicesController(AdminController):
    path = "/api/v1/admin/invoices"

    @get("/{invoice_id:str}", summary="Get an invoice", responses=ADMIN_ERRORS)
    async def get_one(self, invoice_id: FromPath[str], get_invoice: Injected[GetInvoice]) -> InvoiceOut:
        return invoice_out(await get_invoice(invoice_id))

    @post(
        "/{invoice_id:str}/void/",
        status_code=200,
        summary="Void an open or uncollectible invoice",
        responses=ADMIN_ERRORS,
    )
    async def void(self, invoice_id: FromPath[str], void_invoice: Injected[VoidInvoice]) -> InvoiceOut:
        return invoice_out(await void_invoice(invoice_id))

    @post(
        "/{invoice_id:str}/mark-uncollectible/",
        status_code=200,
        summary="Mark an open invoice uncollectible",
        responses=ADMIN_ERRORS,
    )
    async def mark_uncollectible(
        self, invoice_id: FromPath[str], mark_invoice_uncollectible: Injected[MarkInvoiceUncollectible]
    ) -> InvoiceOut:
        return invoice_out(await mark_invoice_uncollectible(invoice_id))
