"""Shop backend: gateway accounts."""

from __future__ import annotations

from litestar import get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from application.use_cases.gateway_accounts import (
    GetGatewayAccount,
    ListGatewayAccounts,
    RegisterGatewayAccount,
    UpdateGatewayAccount,
)
from entrypoints.http.controllers._audience import AdminController
from entrypoints.http.controllers._openapi import ADMIN_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.common import MAX_PAGE, page_of
from entrypoints.http.schemas.gateways import (
    GatewayIn,
    GatewayList,
    GatewayOut,
    GatewayPatch,
    gateway_out,
    register_command,
    update_command,
)


class AdminGatewaysController(AdminController):
    path = "/api/v1/admin/gateways"

    @post("/", status_code=201, summary="Register a gateway account", responses=ADMIN_ERRORS)
    async def register(
        self, data: JSONBody[GatewayIn], register_gateway: Injected[RegisterGatewayAccount]
    ) -> GatewayOut:
        return gateway_out(await register_gateway(register_command(data)))

    @get("/", summary="List gateway accounts", responses=ADMIN_ERRORS)
    async def list_all(
        self,
        list_gateways: Injected[ListGatewayAccounts],
        limit: int = Parameter(default=10, ge=1, le=MAX_PAGE),
        starting_after: str | None = Parameter(default=None, max_length=255),
    ) -> GatewayList:
        accounts, has_more = page_of(
            await list_gateways(), id_of=lambda a: a.id, limit=limit, starting_after=starting_after
        )
        return GatewayList(data=[gateway_out(a) for a in accounts], has_more=has_more)

    @get("/{gateway_id:str}", summary="Get a gateway account", responses=ADMIN_ERRORS)
    async def get_one(self, gateway_id: FromPath[str], get_gateway: Injected[GetGatewayAccount]) -> GatewayOut:
        return gateway_out(await get_gateway(gateway_id))

    @patch("/{gateway_id:str}", summary="Update a gateway account", responses=ADMIN_ERRORS)
    async def update(
        self,
        gateway_id: FromPath[str],
        data: JSONBody[GatewayPatch],
        update_gateway: Injected[UpdateGatewayAccount],
    ) -> GatewayOut:
        return gateway_out(await update_gateway(update_command(gateway_id, data)))
