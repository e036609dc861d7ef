"""A shopper's saved cards: hexpay's shape plus the flat fields BFG's storefront reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from application.use_cases.payment_methods import SavePaymentMethodCommand, Shopper, UpdatePaymentMethodCommand
from domain.payment_method import PaymentMethod
from entrypoints.http.problems import InvalidField
from entrypoints.http.schemas.common import Body, Id, Out, rfc3339

ExpMonth = Annotated[int, msgspec.Meta(ge=1, le=12)]
ExpYear = Annotated[int, msgspec.Meta(ge=2000, le=2200)]
CardholderName = Annotated[str, msgspec.Meta(max_length=200)]


class GatewayPaymentMethodData(Body):
    payment_method_id: Id


class PaymentMethodIn(Body):
    gateway: Id
    gateway_payment_method_data: GatewayPaymentMethodData | None = None
    # BFG's older name for the same thing, still sent by its storefront.
    stripe_payment_method_data: GatewayPaymentMethodData | None = None
    is_default: bool | None = None
    cardholder_name: CardholderName | None = None


class PaymentMethodPatch(Body):
    is_default: bool | msgspec.UnsetType = msgspec.UNSET
    cardholder_name: CardholderName | msgspec.UnsetType = msgspec.UNSET
    card_exp_month: ExpMonth | msgspec.UnsetType = msgspec.UNSET
    card_exp_year: ExpYear | msgspec.UnsetType = msgspec.UNSET


class CardOut(Out):
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class PaymentMethodOut(Out):
    id: str
    gateway: str
    type: str
    card: CardOut
    is_default: bool
    created_at: datetime
    # BFG's flat fields
    method_type: str
    card_brand: str
    card_last4: str
    card_exp_month: int
    card_exp_year: int
    cardholder_name: str | None
    display_info: str
    is_active: bool
    object: str = "payment_method"


class PaymentMethodList(Out):
    data: list[PaymentMethodOut]
    has_more: bool
    object: str = "list"


def save_command(shopper: Shopper, body: PaymentMethodIn) -> SavePaymentMethodCommand:
    given = [data for data in (body.gateway_payment_method_data, body.stripe_payment_method_data) if data is not None]
    if len(given) != 1:
        raise InvalidField("gateway_payment_method_data",
                           "send exactly one of gateway_payment_method_data and stripe_payment_method_data")
    return SavePaymentMethodCommand(
        shopper=shopper,
        gateway_account_id=body.gateway,
        gateway_payment_method_id=given[0].payment_method_id,
        is_default=body.is_default,
        cardholder_name=body.cardholder_name,
    )


def _given(value: object) -> object:
    return None if value is msgspec.UNSET else value


def update_command(shopper: Shopper, payment_method_id: str, body: PaymentMethodPatch) -> UpdatePaymentMethodCommand:
    return UpdatePaymentMethodCommand(
        shopper=shopper,
        payment_method_id=payment_method_id,
        is_default=_given(body.is_default),  # type: ignore[arg-type]
        cardholder_name=_given(body.cardholder_name),  # type: ignore[arg-type]
        exp_month=_given(body.card_exp_month),  # type: ignore[arg-type]
        exp_year=_given(body.card_exp_year),  # type: ignore[arg-type]
    )


def payment_method_out(method: PaymentMethod) -> PaymentMethodOut:
    card = method.card
    brand = card.brand.lower()
    return PaymentMethodOut(
        id=method.id,
        gateway=method.gateway_account_id,
        type="card",
        card=CardOut(brand=brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year),
        is_default=method.is_default,
        created_at=rfc3339(method.created_at),
        method_type="card",
        card_brand=brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
        cardholder_name=method.cardholder_name,
        display_info=card.display,
        is_active=not method.detached,
    )
