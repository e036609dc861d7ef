"""StripePaymentGateway: the PaymentGateway port on the official SDK (one StripeClient per gateway account).

Every answer is turned into a plain dict (to_dict) and read by adapters.stripe_wire.mapping, the same code that
reads webhooks, so a synchronous answer and an event about the same intent always give the same snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import stripe

from adapters.clock import SystemClock
from adapters.stripe.client import REQUEST_TIMEOUT_SECONDS, stripe_client_for
from adapters.stripe.errors import error_body, translate
from adapters.stripe_wire import amounts, mapping, webhook
from application.ports.clock import Clock
from application.ports.gateway import (
    CreatedPayment,
    CreatePaymentRequest,
    GatewayCustomerRequest,
    GatewayEvent,
    GatewayKindInfo,
    GatewayPaymentMethod,
)
from domain.errors import InvalidGatewayRequest
from domain.gateway_account import GatewayAccount
from domain.money import Money
from domain.payment import PaymentSnapshot
from domain.refund import RefundSnapshot

KIND = "stripe"
# Refund reasons Stripe accepts as `reason`; anything else hexpay was given travels as metadata instead.
_STRIPE_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
# latest_charge carries amount_refunded; asking for it expanded costs nothing extra.
_EXPAND_CHARGE = ["latest_charge"]
# When search cannot answer (a Stripe-compatible server without it, or Stripe's search index lagging behind a
# creation seconds ago), the newest intents are scanned: the lost creation find_payment recovers is always recent.
_RECENT_INTENTS_SCANNED = 100

T = TypeVar("T")


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def _webhook_secrets(account: GatewayAccount) -> list[str]:
    """The account's webhook secrets: several, separated by commas, while one is being rotated."""
    return [s.strip() for s in account.credentials.webhook_secret.reveal().split(",") if s.strip()]


class StripePaymentGateway:
    kind = KIND
    supports_saved_cards = True

    def __init__(self, account: GatewayAccount, client: stripe.StripeClient | None = None,
                 clock: Clock | None = None) -> None:
        self._account_id = account.id
        self._secrets = _webhook_secrets(account)
        self._http_client: stripe.HTTPXClient | None = None
        if client is None:
            self._http_client = stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS)
            client = stripe_client_for(account, self._http_client)
        self._client = client
        self._clock = clock or SystemClock()

    @classmethod
    def for_account(cls, account: GatewayAccount) -> StripePaymentGateway:
        return cls(account)

    def __repr__(self) -> str:
        return f"StripePaymentGateway(account={self._account_id!r})"

    async def aclose(self) -> None:
        """Close the account's HTTP connections (the registry calls it when it drops the adapter)."""
        if self._http_client is not None:
            await self._http_client.close_async()  # type: ignore[no-untyped-call]

    # ---- plumbing ------------------------------------------------------------------------------------------
    @property
    def _v1(self) -> Any:
        return self._client.v1

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except stripe.StripeError as exc:
            raise translate(exc) from exc

    def _now(self) -> datetime:
        return self._clock.now()

    def _snapshot(self, intent: Any) -> PaymentSnapshot:
        return mapping.payment_snapshot(_plain(intent), self._now())

    @staticmethod
    def _options(idempotency_key: str) -> stripe.RequestOptions:
        return {"idempotency_key": idempotency_key}

    # ---- port ----------------------------------------------------------------------------------------------
    def validate_amount(self, amount: Money) -> None:
        amounts.validate_amount(amount)

    async def ensure_customer(self, request: GatewayCustomerRequest, idempotency_key: str) -> str:
        params: dict[str, Any] = {
            "description": request.reference,
            "metadata": {mapping.CUSTOMER_ID_KEY: request.customer_id},
        }
        if request.email:
            params["email"] = request.email
        customer = await self._call(self._v1.customers.create_async(params=params,
                                                                    options=self._options(idempotency_key)))
        return str(customer.id)

    async def attach_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> GatewayPaymentMethod:
        try:
            method = await self._v1.payment_methods.attach_async(
                gateway_payment_method_id, params={"customer": gateway_customer_id},
                options=self._options(idempotency_key))
        except stripe.InvalidRequestError as exc:
            # Attaching again to the same customer is a success for hexpay, whatever Stripe says about it.
            method = await self._call(self._v1.payment_methods.retrieve_async(gateway_payment_method_id))
            if mapping.gateway_payment_method(_plain(method)).gateway_customer_id != gateway_customer_id:
                raise translate(exc) from exc
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return mapping.gateway_payment_method(_plain(method))

    async def detach_payment_method(self, *, gateway_payment_method_id: str, idempotency_key: str) -> None:
        # A retry with the same key gets Stripe's stored answer; a second detach under a new key is an error at
        # Stripe (detaching is permanent) and is reported as one.
        await self._call(self._v1.payment_methods.detach_async(gateway_payment_method_id,
                                                               options=self._options(idempotency_key)))

    async def set_default_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> None:
        await self._call(self._v1.customers.update_async(
            gateway_customer_id,
            params={"invoice_settings": {"default_payment_method": gateway_payment_method_id}},
            options=self._options(idempotency_key)))

    async def create_payment(self, request: CreatePaymentRequest, idempotency_key: str) -> CreatedPayment:
        amounts.validate_amount(request.amount)
        params: dict[str, Any] = {
            "amount": request.amount.amount,
            "currency": request.amount.currency,
            "capture_method": request.capture_method.value,
            # Cards only: hexpay saves and shows cards, and a card-only intent confirms server-side without the
            # return_url that redirect-based methods would demand.
            "payment_method_types": ["card"],
            "metadata": {mapping.PAYMENT_ID_KEY: request.payment_id, mapping.ORDER_ID_KEY: request.order_id},
            "expand": _EXPAND_CHARGE,
        }
        optional = {
            "customer": request.gateway_customer_id,
            "payment_method": request.gateway_payment_method_id,
            "description": request.description,
            "setup_future_usage": "off_session" if request.save_card else None,
        }
        params |= {key: value for key, value in optional.items() if value is not None}
        if request.confirm:
            params["confirm"] = True
            if request.return_url:
                params["return_url"] = request.return_url
        try:
            intent = await self._v1.payment_intents.create_async(params=params,
                                                                 options=self._options(idempotency_key))
        except stripe.CardError as exc:
            # Created and confirmed in one call, then declined: the intent exists and stays payable.
            declined = await self._declined_intent(exc, None, request.payment_id)
            if declined is None:
                raise translate(exc) from exc
            intent = declined
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        data = _plain(intent)
        return CreatedPayment(snapshot=mapping.payment_snapshot(data, self._now()),
                              client_secret=str(data.get("client_secret") or ""))

    async def confirm_payment(
        self,
        *,
        gateway_payment_id: str,
        gateway_payment_method_id: str | None,
        return_url: str | None,
        idempotency_key: str,
    ) -> PaymentSnapshot:
        params: dict[str, Any] = {"expand": _EXPAND_CHARGE}
        if gateway_payment_method_id:
            params["payment_method"] = gateway_payment_method_id
        if return_url:
            params["return_url"] = return_url
        try:
            intent = await self._v1.payment_intents.confirm_async(gateway_payment_id, params=params,
                                                                  options=self._options(idempotency_key))
        except stripe.CardError as exc:
            declined = await self._declined_intent(exc, gateway_payment_id, None)
            if declined is None:
                raise translate(exc) from exc
            intent = declined
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return self._snapshot(intent)

    async def _declined_intent(self, exc: stripe.CardError, gateway_payment_id: str | None,
                               payment_id: str | None) -> Any:
        """The intent a decline left in requires_payment_method: from the error when Stripe includes it, else
        fetched again (some Stripe-compatible servers only give the charge)."""
        embedded = error_body(exc).get("payment_intent")
        if isinstance(embedded, dict) and embedded.get("id"):
            gateway_payment_id = gateway_payment_id or str(embedded["id"])
        if gateway_payment_id:
            return await self._call(self._v1.payment_intents.retrieve_async(
                gateway_payment_id, params={"expand": _EXPAND_CHARGE}))
        if payment_id:
            return await self._find_intent(payment_id)
        return None

    async def capture_payment(
        self, *, gateway_payment_id: str, amount: int | None, idempotency_key: str
    ) -> PaymentSnapshot:
        params: dict[str, Any] = {"expand": _EXPAND_CHARGE}
        if amount is not None:
            params["amount_to_capture"] = amount
        intent = await self._call(self._v1.payment_intents.capture_async(
            gateway_payment_id, params=params, options=self._options(idempotency_key)))
        return self._snapshot(intent)

    async def cancel_payment(self, *, gateway_payment_id: str, idempotency_key: str) -> PaymentSnapshot:
        intent = await self._call(self._v1.payment_intents.cancel_async(
            gateway_payment_id, params={"expand": _EXPAND_CHARGE}, options=self._options(idempotency_key)))
        return self._snapshot(intent)

    async def retrieve_payment(self, gateway_payment_id: str) -> PaymentSnapshot:
        intent = await self._call(self._v1.payment_intents.retrieve_async(
            gateway_payment_id, params={"expand": _EXPAND_CHARGE}))
        return self._snapshot(intent)

    async def find_payment(self, payment_id: str) -> PaymentSnapshot | None:
        intent = await self._find_intent(payment_id)
        return None if intent is None else self._snapshot(intent)

    async def _find_intent(self, payment_id: str) -> Any:
        if "'" in payment_id or "\\" in payment_id:
            raise InvalidGatewayRequest("payment id cannot be searched for")
        query = f"metadata['{mapping.PAYMENT_ID_KEY}']:'{payment_id}'"
        try:
            found = await self._v1.payment_intents.search_async(params={"query": query, "limit": 1})
            if found.data:
                return found.data[0]
        except stripe.InvalidRequestError:
            pass  # no search on this server: scan instead
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        recent = await self._call(self._v1.payment_intents.list_async(params={"limit": _RECENT_INTENTS_SCANNED}))
        for intent in recent.data:
            data = _plain(intent)
            if (data.get("metadata") or {}).get(mapping.PAYMENT_ID_KEY) == payment_id:
                return data
        return None

    async def create_refund(
        self,
        *,
        refund_id: str,
        gateway_payment_id: str,
        amount: int,
        reason: str | None,
        idempotency_key: str,
    ) -> RefundSnapshot:
        metadata = {mapping.REFUND_ID_KEY: refund_id}
        params: dict[str, Any] = {"payment_intent": gateway_payment_id, "amount": amount, "metadata": metadata}
        if reason in _STRIPE_REFUND_REASONS:
            params["reason"] = reason
        elif reason:
            metadata["hexpay_reason"] = reason[:500]  # Stripe's limit on a metadata value
        refund = await self._call(self._v1.refunds.create_async(params=params,
                                                                options=self._options(idempotency_key)))
        return self._refund_snapshot(refund, gateway_payment_id)

    async def retrieve_refund(self, gateway_refund_id: str) -> RefundSnapshot:
        refund = await self._call(self._v1.refunds.retrieve_async(gateway_refund_id))
        return self._refund_snapshot(refund, None)

    def _refund_snapshot(self, refund: Any, gateway_payment_id: str | None) -> RefundSnapshot:
        data = _plain(refund)
        if not data.get("payment_intent") and gateway_payment_id:
            data["payment_intent"] = gateway_payment_id
        return mapping.refund_snapshot(data, self._now())

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return webhook.parse_webhook(raw_body, headers, self._secrets, now=int(self._now().timestamp()))


def stripe_gateway_kind() -> GatewayKindInfo:
    """How the composition root registers the built-in Stripe adapter."""
    return GatewayKindInfo(kind=KIND, factory=StripePaymentGateway.for_account, requires_secret_key=True,
                           description="Stripe, through the official stripe-python SDK")
