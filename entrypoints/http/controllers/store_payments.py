"""Shopper checkout: open the order's payment (intent), confirm it, read it; the storefront's gateway list.

The paths are BFG's (API.md "Drop-in for the BFG storefront"), each under both of its prefixes.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from application.use_cases.gateway_accounts import ListGatewayAccounts
from application.use_cases.payment_methods import Shopper
from application.use_cases.payments import ConfirmPayment, CreatePaymentForOrder, GetPayment
from domain.errors import DomainError
from entrypoints.http.auth import PUBLIC
from entrypoints.http.controllers._audience import ShopperController
from entrypoints.http.controllers._openapi import GATEWAY_ERRORS, SHOPPER_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.gateways import StorefrontGateway, storefront_gateway
from entrypoints.http.schemas.payments import (
    ConfirmIn,
    PaymentIntentIn,
    PaymentIntentOut,
    PaymentOut,
    confirm_command,
    create_command,
    intent_out,
    payment_out,
)

PREFIXES = ("/api/store/payments", "/api/v1/store/payments")


class StorePaymentsController(ShopperController):
    path = "/"

    @post(
        [f"{p}/intent/" for p in PREFIXES],
        status_code=201,
        responses={
            **SHOPPER_ERRORS,
            **GATEWAY_ERRORS,
            200: ResponseSpec(PaymentIntentOut, description="the order's live payment on that gateway"),
        },
        summary="Open the order's payment on a gateway (201), or return its live one there (200)",
    )
    async def create_intent(
        self,
        data: JSONBody[PaymentIntentIn],
        shopper: Injected[Shopper],
        create_payment: Injected[CreatePaymentForOrder],
    ) -> Response[PaymentIntentOut]:
        view = await create_payment(create_command(shopper, data))
        return Response(intent_out(view), status_code=201 if view.created else 200)

    @post(
        [f"{p}/{{payment_id:str}}/confirm/" for p in PREFIXES],
        status_code=200,
        responses={**SHOPPER_ERRORS, **GATEWAY_ERRORS},
        summary="Confirm a payment (a decline comes back as requires_payment_method with last_payment_error)",
    )
    async def confirm(
        self,
        payment_id: FromPath[str],
        shopper: Injected[Shopper],
        confirm_payment: Injected[ConfirmPayment],
        data: JSONBody[ConfirmIn | None] = None,
    ) -> PaymentOut:
        return payment_out(await confirm_payment(confirm_command(shopper, payment_id, data)))

    @get(
        [f"{p}/{{payment_id:str}}/" for p in PREFIXES], summary="One of the caller's payments", responses=SHOPPER_ERRORS
    )
    async def get_one(
        self, payment_id: FromPath[str], shopper: Injected[Shopper], get_payment: Injected[GetPayment]
    ) -> PaymentOut:
        return payment_out(await get_payment(payment_id, customer_reference=shopper.reference))


@get(
    "/api/v1/store/payments/gateways/",
    opt={"audience": PUBLIC},
    tags=["storefront"],
    summary="The active gateways, for the storefront's checkout (no credential, never a secret)",
)
async def storefront_gateways(
    list_gateways: Injected[ListGatewayAccounts], gateway_registry: Injected[Any]
) -> list[StorefrontGateway]:
    shown = []
    for account in await list_gateways(active_only=True):
        try:
            saves_cards = bool(gateway_registry.gateway_for(account).supports_saved_cards)
        except DomainError:  # a plugin kind no longer installed: listed, but it cannot keep cards
            saves_cards = False
        shown.append(storefront_gateway(account, saves_cards))
    return shown
