"""Shopper: saved cards (the caller's own only; anyone else's reads as missing)."""

from __future__ import annotations

from litestar import delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from application.use_cases.payment_methods import (
    ListPaymentMethods,
    RemovePaymentMethod,
    SavePaymentMethod,
    SetDefaultPaymentMethod,
    Shopper,
    UpdatePaymentMethod,
)
from entrypoints.http.controllers._audience import ShopperController
from entrypoints.http.controllers._openapi import GATEWAY_ERRORS, SHOPPER_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.common import MAX_PAGE, page_of
from entrypoints.http.schemas.payment_methods import (
    PaymentMethodIn,
    PaymentMethodList,
    PaymentMethodOut,
    PaymentMethodPatch,
    payment_method_out,
    save_command,
    update_command,
)


class ShopperPaymentMethodsController(ShopperController):
    path = "/api/v1/me/payment-methods"

    @get("/", summary="The caller's saved cards", responses=SHOPPER_ERRORS)
    async def list_mine(
        self,
        shopper: Injected[Shopper],
        list_payment_methods: Injected[ListPaymentMethods],
        limit: int = Parameter(default=10, ge=1, le=MAX_PAGE),
        starting_after: str | None = Parameter(default=None, max_length=255),
    ) -> PaymentMethodList:
        methods, has_more = page_of(
            await list_payment_methods(shopper), id_of=lambda m: m.id, limit=limit, starting_after=starting_after
        )
        return PaymentMethodList(data=[payment_method_out(m) for m in methods], has_more=has_more)

    @post(
        "/",
        status_code=201,
        responses={**SHOPPER_ERRORS, **GATEWAY_ERRORS},
        summary="Save a card tokenised by the gateway (attached to the caller's gateway customer)",
    )
    async def save(
        self,
        data: JSONBody[PaymentMethodIn],
        shopper: Injected[Shopper],
        save_payment_method: Injected[SavePaymentMethod],
    ) -> PaymentMethodOut:
        return payment_method_out(await save_payment_method(save_command(shopper, data)))

    @patch("/{payment_method_id:str}", responses={**SHOPPER_ERRORS, **GATEWAY_ERRORS}, summary="Update a saved card")
    async def update(
        self,
        payment_method_id: FromPath[str],
        data: JSONBody[PaymentMethodPatch],
        shopper: Injected[Shopper],
        update_payment_method: Injected[UpdatePaymentMethod],
    ) -> PaymentMethodOut:
        return payment_method_out(await update_payment_method(update_command(shopper, payment_method_id, data)))

    @delete(
        "/{payment_method_id:str}",
        status_code=204,
        responses={**SHOPPER_ERRORS, **GATEWAY_ERRORS},
        summary="Remove a saved card (detached at the gateway)",
    )
    async def remove(
        self,
        payment_method_id: FromPath[str],
        shopper: Injected[Shopper],
        remove_payment_method: Injected[RemovePaymentMethod],
    ) -> None:
        await remove_payment_method(shopper, payment_method_id)

    @post(
        "/{payment_method_id:str}/default/",
        status_code=200,
        responses={**SHOPPER_ERRORS, **GATEWAY_ERRORS},
        summary="Make a saved card the default",
    )
    async def make_default(
        self,
        payment_method_id: FromPath[str],
        shopper: Injected[Shopper],
        set_default_payment_method: Injected[SetDefaultPaymentMethod],
    ) -> PaymentMethodOut:
        return payment_method_out(await set_default_payment_method(shopper, payment_method_id))
