"""Stripe's checks on a request, made before anything changes, with Stripe's error codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.sandbox.errors import SandboxApiError, invalid_request
from adapters.sandbox.records import SandboxPaymentIntent, SandboxPaymentMethod
from adapters.stripe_wire.amounts import MAXIMUM_AMOUNT, minimum_charge, validate_amount
from domain.errors import AmountNotAllowed, InvalidMoney, UnknownCurrency
from domain.money import Money

ApiObject = dict[str, Any]

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
FUTURE_USAGES = (None, "on_session", "off_session")
CANCELLATION_REASONS = (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = (None, "duplicate", "fraudulent", "requested_by_customer")


def card_error(
    message: str,
    code: str,
    *,
    decline_code: str | None = None,
    param: str | None = None,
    payment_intent: ApiObject | None = None,
    payment_method: ApiObject | None = None,
) -> SandboxApiError:
    return SandboxApiError(402, "card_error", message, code=code, decline_code=decline_code, param=param,
                           payment_intent=payment_intent, payment_method=payment_method)


def used_up(payment_method_id: str) -> SandboxApiError:
    return invalid_request(
        f"The provided PaymentMethod {payment_method_id} was previously used with a PaymentIntent without Customer "
        "attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple "
        "times, you must attach it to a Customer first.",
        code="payment_method_unexpected_state", param="payment_method",
    )


def check_usable(method: SandboxPaymentMethod, intent: SandboxPaymentIntent) -> None:
    """An unattached method pays one intent only, a detached one none, an attached one its customer's only."""
    if method.detached or method.used_by_intent not in (None, intent.id):
        raise used_up(method.id)
    if method.customer is not None and method.customer != intent.customer:
        raise invalid_request(
            f"The provided PaymentMethod {method.id} belongs to a Customer other than the PaymentIntent's: provide "
            "the PaymentMethod's Customer on the PaymentIntent.",
            code="payment_method_unexpected_state", param="payment_method",
        )


def check_amount(amount: int, currency: str) -> None:
    """stripe_wire's amount rules, reported with the codes Stripe's API uses."""
    try:
        money = Money(amount, currency)
    except UnknownCurrency as exc:
        raise invalid_request(exc.message, code="invalid_currency", param="currency") from None
    except InvalidMoney as exc:
        raise invalid_request(exc.message, code="parameter_invalid_integer", param="amount") from None
    try:
        validate_amount(money)
    except AmountNotAllowed as exc:
        if amount > MAXIMUM_AMOUNT:
            code = "amount_too_large"
        elif amount < minimum_charge(currency):
            code = "amount_too_small"
        else:
            code = "invalid_amount"
        raise invalid_request(exc.message, code=code, param="amount") from None


def check_choice(value: str | None, allowed: Sequence[str | None], param: str) -> None:
    if value not in allowed:
        raise invalid_request(f"Invalid {param}: must be one of {', '.join(str(a) for a in allowed if a)}",
                              param=param)


def check_expand(expand: Sequence[str]) -> None:
    for path in expand:
        if path != "latest_charge":
            raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")


def render(intent: SandboxPaymentIntent, expand: Sequence[str]) -> ApiObject:
    return intent.as_stripe(expand_charge="latest_charge" in expand)
