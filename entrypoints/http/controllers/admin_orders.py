"""Shop backend: orders (each with its invoice)."""

from __future__ import annotations

from litestar import get, post
from litestar.params import FromPath, JSONBody

from application.use_cases.orders import CancelOrder, CreateOrder, GetOrder
from entrypoints.http.controllers._audience import AdminController
from entrypoints.http.controllers._openapi import ADMIN_ERRORS, GATEWAY_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.orders import OrderIn, OrderOut, create_command, order_out


class AdminOrdersController(AdminController):
    path = "/api/v1/admin/orders"

    @post("/", status_code=201, summary="Create an order and open its invoice", responses=ADMIN_ERRORS)
    async def create(self, data: JSONBody[OrderIn], create_order: Injected[CreateOrder]) -> OrderOut:
        return order_out(await create_order(create_command(data)))

    @get("/{order_id:str}", summary="Get an order", responses=ADMIN_ERRORS)
    async def get_one(self, order_id: FromPath[str], get_order: Injected[GetOrder]) -> OrderOut:
        return order_out(await get_order(order_id))

    @post(
        "/{order_id:str}/cancel/",
        status_code=200,
        responses={**ADMIN_ERRORS, **GATEWAY_ERRORS},
        summary="Cancel an unpaid order (its invoice is voided, a live payment canceled at the gateway)",
    )
    async def cancel(self, order_id: FromPath[str], cancel_order: Injected[CancelOrder]) -> OrderOut:
        return order_out(await cancel_order(order_id))
