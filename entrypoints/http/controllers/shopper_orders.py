"""Shopper: the caller's orders and invoices."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath, Parameter

from application.ports.repositories import Page
from application.use_cases.invoices import GetInvoice
from application.use_cases.orders import GetOrder, ListCustomerOrders
from application.use_cases.payment_methods import Shopper
from entrypoints.http.controllers._audience import ShopperController
from entrypoints.http.controllers._openapi import SHOPPER_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.common import MAX_PAGE
from entrypoints.http.schemas.orders import InvoiceOut, OrderList, OrderOut, invoice_out, order_out


class ShopperOrdersController(ShopperController):
    path = "/api/v1/me"

    @get("/orders/", summary="The caller's orders, newest first", responses=SHOPPER_ERRORS)
    async def list_mine(
        self,
        shopper: Injected[Shopper],
        list_customer_orders: Injected[ListCustomerOrders],
        limit: int = Parameter(default=10, ge=1, le=MAX_PAGE),
        starting_after: str | None = Parameter(default=None, max_length=255),
    ) -> OrderList:
        # One more than asked tells whether another page follows.
        views = await list_customer_orders(shopper.reference, Page(limit=limit + 1, starting_after=starting_after))
        return OrderList(data=[order_out(v) for v in views[:limit]], has_more=len(views) > limit)

    @get("/orders/{order_id:str}", summary="One of the caller's orders", responses=SHOPPER_ERRORS)
    async def get_order(
        self, order_id: FromPath[str], shopper: Injected[Shopper], get_order: Injected[GetOrder]
    ) -> OrderOut:
        return order_out(await get_order(order_id, customer_reference=shopper.reference))

    @get("/invoices/{invoice_id:str}", summary="One of the caller's invoices", responses=SHOPPER_ERRORS)
    async def get_invoice(
        self, invoice_id: FromPath[str], shopper: Injected[Shopper], get_invoice: Injected[GetInvoice]
    ) -> InvoiceOut:
        return invoice_out(await get_invoice(invoice_id, customer_reference=shopper.reference))
