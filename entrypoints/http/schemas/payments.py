"""Payments (a PaymentIntent's mirror), their refunds, and the checkout's intent request and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from application.use_cases.payment_methods import Shopper
from application.use_cases.payments import ConfirmPaymentCommand, CreatePaymentCommand, PaymentIntentView
from application.use_cases.refunds import RefundPaymentCommand
from domain.payment import CaptureMethod, NextAction, Payment, PaymentError
from domain.refund import Refund
from entrypoints.http.schemas.common import Body, Id, Out, rfc3339

MinorAmount = Annotated[int, msgspec.Meta(ge=1, le=99_999_999)]
ReturnUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^https?://")]


class PaymentIntentIn(Body):
    order_id: Id
    gateway_id: Id
    payment_method_id: Id | None = None
    save_card: bool = False
    capture_method: Literal["automatic", "manual"] = "automatic"
    confirm: bool = False
    return_url: ReturnUrl | None = None


class ConfirmIn(Body):
    payment_method_id: Id | None = None
    return_url: ReturnUrl | None = None


class CaptureIn(Body):
    amount: MinorAmount | None = None


class RefundIn(Body):
    amount: MinorAmount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class NextActionOut(Out):
    type: str
    url: str | None = None


class PaymentErrorOut(Out):
    code: str | None
    decline_code: str | None
    message: str | None


class RefundOut(Out):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    created_at: datetime
    failure_reason: str | None = None
    object: str = "refund"


class DisputeOut(Out):
    """A chargeback the shopper's bank opened on the payment (status in Stripe's terms; "lost" took the money)."""

    id: str
    status: str
    amount: int
    currency: str
    reason: str | None
    opened_at: datetime
    object: str = "dispute"


class PaymentOut(Out):
    id: str
    order_id: str
    gateway_id: str
    status: str
    amount: int
    currency: str
    amount_received: int
    amount_refunded: int
    capture_method: str
    last_payment_error: PaymentErrorOut | None
    next_action: NextActionOut | None
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime
    payment_number: str = ""
    gateway_payment_id: str | None = None
    amount_capturable: int = 0
    disputes: list[DisputeOut] = msgspec.field(default_factory=list)
    amount_lost_to_disputes: int = 0
    object: str = "payment"


class GatewayPayload(Out):
    """What BFG's checkout reads: it confirms with gateway_payload.client_secret alone."""

    payment_intent_id: str | None
    client_secret: str | None
    status: str


class PaymentIntentOut(Out):
    payment_id: str
    payment_number: str
    gateway_payment_id: str | None
    client_secret: str | None
    publishable_key: str
    status: str
    amount: int
    currency: str
    next_action: NextActionOut | None
    gateway_payload: GatewayPayload
    order_id: str = ""
    gateway_id: str = ""


class ReconcileOut(Out):
    checked: int
    changed: int
    failed: int = 0


def create_command(shopper: Shopper, body: PaymentIntentIn) -> CreatePaymentCommand:
    return CreatePaymentCommand(
        shopper=shopper,
        order_id=body.order_id,
        gateway_account_id=body.gateway_id,
        payment_method_id=body.payment_method_id,
        save_card=body.save_card,
        capture_method=CaptureMethod(body.capture_method),
        confirm=body.confirm,
        return_url=body.return_url,
    )


def confirm_command(shopper: Shopper, payment_id: str, body: ConfirmIn | None) -> ConfirmPaymentCommand:
    body = body or ConfirmIn()
    return ConfirmPaymentCommand(shopper=shopper, payment_id=payment_id, payment_method_id=body.payment_method_id,
                                 return_url=body.return_url)


def refund_command(payment_id: str, body: RefundIn | None, request_key: str | None = None) -> RefundPaymentCommand:
    """request_key is the request's Idempotency-Key: a retry after a 5xx then reaches the refund it reserved."""
    body = body or RefundIn()
    return RefundPaymentCommand(payment_id=payment_id, amount=body.amount, reason=body.reason,
                                request_key=request_key)


def next_action_out(action: NextAction | None) -> NextActionOut | None:
    return None if action is None else NextActionOut(type=action.type, url=action.url)


def payment_error_out(error: PaymentError | None) -> PaymentErrorOut | None:
    if error is None:
        return None
    return PaymentErrorOut(code=error.code, decline_code=error.decline_code, message=error.message)


# Enum values read as `_value_`, a plain attribute: the `value` property runs Python code in the enum module.
def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status._value_,
        reason=refund.reason,
        created_at=rfc3339(refund.created_at),
        failure_reason=refund.failure_reason,
    )


def payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        order_id=payment.order_id,
        gateway_id=payment.gateway_account_id,
        status=payment.status._value_,
        amount=payment.amount,
        currency=payment.currency,
        amount_received=payment.amount_received,
        amount_refunded=payment.amount_refunded,
        capture_method=payment.capture_method._value_,
        last_payment_error=payment_error_out(payment.last_payment_error),
        next_action=next_action_out(payment.next_action),
        refunds=[refund_out(refund) for refund in payment.refunds],
        created_at=rfc3339(payment.created_at),
        updated_at=rfc3339(payment.updated_at),
        payment_number=payment.number,
        gateway_payment_id=payment.gateway_payment_id,
        amount_capturable=payment.amount_capturable,
        disputes=[DisputeOut(id=d.gateway_dispute_id, status=d.status, amount=d.amount, currency=d.currency,
                             reason=d.reason, opened_at=rfc3339(d.opened_at)) for d in payment.disputes],
        amount_lost_to_disputes=payment.amount_lost_to_disputes,
    )


def intent_out(view: PaymentIntentView) -> PaymentIntentOut:
    payment = view.payment
    return PaymentIntentOut(
        payment_id=payment.id,
        payment_number=payment.number,
        gateway_payment_id=payment.gateway_payment_id,
        client_secret=payment.client_secret,
        publishable_key=view.account.publishable_key,
        status=payment.status._value_,
        amount=payment.amount,
        currency=payment.currency,
        next_action=next_action_out(payment.next_action),
        gateway_payload=GatewayPayload(payment_intent_id=payment.gateway_payment_id,
                                       client_secret=payment.client_secret, status=payment.status._value_),
        order_id=payment.order_id,
        gateway_id=payment.gateway_account_id,
    )
