"""SandboxPaymentGateway: the PaymentGateway port on the in-process SandboxNetwork (Stripe's test mode).

A client of the network exactly as StripePaymentGateway is a client of Stripe: the same requests, the same
metadata keys, the same JSON mapped by adapters.stripe_wire, the same error translation. What passes here for
the sandbox is therefore evidence for the Stripe path too, and the one contract suite holds both to the port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from adapters.sandbox.errors import SandboxApiError
from adapters.sandbox.network import SandboxNetwork
from adapters.sandbox.rules import REFUND_REASONS
from adapters.stripe_wire.amounts import validate_amount
from adapters.stripe_wire.mapping import (
    CUSTOMER_ID_KEY,
    ORDER_ID_KEY,
    PAYMENT_ID_KEY,
    REFUND_ID_KEY,
    gateway_payment_method,
    payment_snapshot,
    refund_snapshot,
)
from adapters.stripe_wire.webhook import parse_webhook
from application.ports.gateway import (
    CreatedPayment,
    CreatePaymentRequest,
    GatewayCustomerRequest,
    GatewayEvent,
    GatewayPaymentMethod,
)
from domain.errors import (
    AmountNotAllowed,
    CardDeclined,
    DomainError,
    GatewayAuthError,
    GatewayUnavailable,
    InvalidGatewayRequest,
    RefundExceedsRefundable,
)
from domain.gateway_account import GatewayAccount
from domain.money import Money
from domain.payment import PaymentSnapshot
from domain.refund import RefundSnapshot

REFERENCE_KEY = "hexpay_reference"
REFUND_REASON_KEY = "hexpay_refund_reason"  # a reason outside Stripe's three travels as metadata
_EXPAND = ("latest_charge",)  # so a snapshot can tell amount_refunded, as the Stripe adapter asks too
_AMOUNT_CODES = frozenset({"amount_too_small", "amount_too_large", "invalid_amount", "invalid_currency"})
_NOTHING_LEFT_TO_REFUND = frozenset({"amount_too_large", "charge_already_refunded"})


def domain_error(error: SandboxApiError, *, refund: bool = False, amount: bool = False) -> DomainError:
    """Stripe's error types and codes -> hexpay's domain errors."""
    if error.type == "card_error":
        return CardDeclined(error.message, decline_code=error.decline_code, error_code=error.code or "card_declined")
    if error.type == "authentication_error":
        return GatewayAuthError(error.message)
    if error.type in ("api_error", "rate_limit_error"):
        return GatewayUnavailable(error.message)
    if refund and error.code in _NOTHING_LEFT_TO_REFUND:
        return RefundExceedsRefundable(error.message)
    if amount and error.code in _AMOUNT_CODES:
        return AmountNotAllowed(error.message)
    return InvalidGatewayRequest(error.message)


@contextmanager
def _translated(*, refund: bool = False, amount: bool = False) -> Iterator[None]:
    try:
        yield
    except SandboxApiError as error:
        raise domain_error(error, refund=refund, amount=amount) from None


class SandboxPaymentGateway:
    kind = "sandbox"
    supports_saved_cards = True

    def __init__(self, account: GatewayAccount, network: SandboxNetwork) -> None:
        self._account_id = account.id
        self._webhook_secret = account.credentials.webhook_secret
        self._network = network
        network.register_account(account.id, self._webhook_secret.reveal())

    def __repr__(self) -> str:
        return f"SandboxPaymentGateway(account={self._account_id!r})"

    def validate_amount(self, amount: Money) -> None:
        validate_amount(amount)

    # ---- customers and saved cards -------------------------------------------------------------------------
    async def ensure_customer(self, request: GatewayCustomerRequest, idempotency_key: str) -> str:
        with _translated():
            customer = self._network.create_customer(
                self._account_id,
                email=request.email,
                metadata={CUSTOMER_ID_KEY: request.customer_id, REFERENCE_KEY: request.reference},
                idempotency_key=idempotency_key,
            )
        return str(customer["id"])

    async def attach_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> GatewayPaymentMethod:
        with _translated():
            method = self._network.attach_payment_method(
                self._account_id, gateway_payment_method_id, customer=gateway_customer_id,
                idempotency_key=idempotency_key,
            )
        return gateway_payment_method(method)

    async def detach_payment_method(self, *, gateway_payment_method_id: str, idempotency_key: str) -> None:
        with _translated():
            self._network.detach_payment_method(
                self._account_id, gateway_payment_method_id, idempotency_key=idempotency_key
            )

    async def set_default_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> None:
        with _translated():
            self._network.set_default_payment_method(
                self._account_id, gateway_customer_id, gateway_payment_method_id, idempotency_key=idempotency_key
            )

    # ---- payments ------------------------------------------------------------------------------------------
    async def create_payment(self, request: CreatePaymentRequest, idempotency_key: str) -> CreatedPayment:
        self.validate_amount(request.amount)
        intent = self._declines_answered(
            lambda: self._network.create_payment_intent(
                self._account_id,
                amount=request.amount.amount,
                currency=request.amount.currency,
                capture_method=request.capture_method.value,
                customer=request.gateway_customer_id,
                payment_method=request.gateway_payment_method_id,
                confirm=request.confirm,
                return_url=request.return_url,
                description=request.description,
                metadata={PAYMENT_ID_KEY: request.payment_id, ORDER_ID_KEY: request.order_id},
                setup_future_usage="off_session" if request.save_card else None,
                expand=_EXPAND,
                idempotency_key=idempotency_key,
            ),
            amount=True,
        )
        return CreatedPayment(snapshot=self._snapshot(intent), client_secret=str(intent["client_secret"]))

    async def confirm_payment(
        self,
        *,
        gateway_payment_id: str,
        gateway_payment_method_id: str | None,
        return_url: str | None,
        idempotency_key: str,
    ) -> PaymentSnapshot:
        intent = self._declines_answered(
            lambda: self._network.confirm_payment_intent(
                self._account_id, gateway_payment_id, payment_method=gateway_payment_method_id,
                return_url=return_url, expand=_EXPAND, idempotency_key=idempotency_key,
            )
        )
        return self._snapshot(intent)

    async def capture_payment(
        self, *, gateway_payment_id: str, amount: int | None, idempotency_key: str
    ) -> PaymentSnapshot:
        with _translated():
            intent = self._network.capture_payment_intent(
                self._account_id, gateway_payment_id, amount_to_capture=amount, expand=_EXPAND,
                idempotency_key=idempotency_key,
            )
        return self._snapshot(intent)

    async def cancel_payment(self, *, gateway_payment_id: str, idempotency_key: str) -> PaymentSnapshot:
        with _translated():
            intent = self._network.cancel_payment_intent(
                self._account_id, gateway_payment_id, expand=_EXPAND, idempotency_key=idempotency_key
            )
        return self._snapshot(intent)

    async def retrieve_payment(self, gateway_payment_id: str) -> PaymentSnapshot:
        with _translated():
            intent = self._network.retrieve_payment_intent(self._account_id, gateway_payment_id, expand=_EXPAND)
        return self._snapshot(intent)

    async def find_payment(self, payment_id: str) -> PaymentSnapshot | None:
        with _translated():
            found = self._network.search_payment_intents(
                self._account_id, {PAYMENT_ID_KEY: payment_id}, expand=_EXPAND
            )
        return self._snapshot(found[0]) if found else None

    # ---- refunds -------------------------------------------------------------------------------------------
    async def create_refund(
        self,
        *,
        refund_id: str,
        gateway_payment_id: str,
        amount: int,
        reason: str | None,
        idempotency_key: str,
    ) -> RefundSnapshot:
        metadata = {REFUND_ID_KEY: refund_id}
        if reason not in REFUND_REASONS and reason is not None:
            metadata[REFUND_REASON_KEY] = reason
            reason = None
        with _translated(refund=True):
            refund = self._network.create_refund(
                self._account_id, payment_intent=gateway_payment_id, amount=amount, reason=reason,
                metadata=metadata, idempotency_key=idempotency_key,
            )
        return refund_snapshot(refund, self._network.now())

    async def retrieve_refund(self, gateway_refund_id: str) -> RefundSnapshot:
        with _translated():
            refund = self._network.retrieve_refund(self._account_id, gateway_refund_id)
        return refund_snapshot(refund, self._network.now())

    # ---- webhooks ------------------------------------------------------------------------------------------
    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return parse_webhook(raw_body, headers, self._webhook_secret.reveal(), now=self._network.unix_now())

    # ---- internals -----------------------------------------------------------------------------------------
    def _declines_answered(self, call: Callable[[], dict[str, Any]], *, amount: bool = False) -> dict[str, Any]:
        """A decline while confirming is an answer, not a failure: the intent it carries says what happened."""
        try:
            return call()
        except SandboxApiError as error:
            if error.type == "card_error" and error.payment_intent is not None:
                return error.payment_intent
            raise domain_error(error, amount=amount) from None

    def _snapshot(self, intent: Mapping[str, Any]) -> PaymentSnapshot:
        return payment_snapshot(intent, self._network.now())
