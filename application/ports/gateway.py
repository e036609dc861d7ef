"""The PaymentGateway port: everything hexpay asks of a payment gateway, in gateway-neutral terms.

Every mutating call takes an idempotency key that hexpay derives from its own ids and the operation
(f"{payment.id}:create"), never a random or per-attempt value: a retry after a crash or a timeout must
reach the same gateway object, so nothing is ever created or charged twice.
Adapters translate their own errors into domain errors: CardDeclined, AuthenticationRequired,
InvalidGatewayRequest, GatewayUnavailable (retryable), GatewayAuthError; and InvalidSignature for webhooks.
No gateway SDK object crosses this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.dispute import DisputeSnapshot
from domain.gateway_account import GatewayAccount
from domain.money import Money
from domain.payment import CaptureMethod, PaymentSnapshot
from domain.payment_method import Card
from domain.refund import RefundSnapshot


@dataclass(frozen=True, slots=True)
class GatewayCustomerRequest:
    customer_id: str  # hexpay's id, stored as metadata at the gateway
    reference: str
    email: str | None


@dataclass(frozen=True, slots=True)
class GatewayPaymentMethod:
    gateway_payment_method_id: str
    card: Card
    gateway_customer_id: str | None


@dataclass(frozen=True, slots=True)
class CreatePaymentRequest:
    payment_id: str  # hexpay's ids travel as metadata so a webhook can find the payment
    order_id: str
    amount: Money
    capture_method: CaptureMethod
    gateway_customer_id: str | None = None
    gateway_payment_method_id: str | None = None
    save_card: bool = False  # setup_future_usage=off_session
    confirm: bool = False
    return_url: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    snapshot: PaymentSnapshot  # carries gateway_payment_id
    client_secret: str


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A verified webhook event, decoded into the snapshots it reports."""

    event_id: str
    type: str
    occurred_at: datetime
    payment: PaymentSnapshot | None = None
    refunds: tuple[RefundSnapshot, ...] = ()
    dispute: DisputeSnapshot | None = None
    gateway_payment_id: str | None = None  # the intent this event is about, when known
    payment_id: str | None = None  # hexpay's payment id from the intent's metadata, when present
    handled: bool = True  # False for event types hexpay does not act on: recorded, then ignored


class PaymentGateway(Protocol):
    """One gateway account's API. Implementations: StripePaymentGateway, SandboxPaymentGateway, plugins."""

    kind: str
    supports_saved_cards: bool

    def validate_amount(self, amount: Money) -> None:
        """Raise AmountNotAllowed for an amount this gateway would refuse; no call goes out."""

    async def ensure_customer(self, request: GatewayCustomerRequest, idempotency_key: str) -> str:
        """Create the gateway customer for hexpay's customer; the same key returns the same customer."""

    async def attach_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> GatewayPaymentMethod:
        """Attach a tokenised card to the customer. Attaching it again to the same customer succeeds."""

    async def detach_payment_method(self, *, gateway_payment_method_id: str, idempotency_key: str) -> None: ...

    async def set_default_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> None: ...

    async def create_payment(self, request: CreatePaymentRequest, idempotency_key: str) -> CreatedPayment: ...

    async def confirm_payment(
        self,
        *,
        gateway_payment_id: str,
        gateway_payment_method_id: str | None,
        return_url: str | None,
        idempotency_key: str,
    ) -> PaymentSnapshot:
        """Confirm the intent. A decline is not raised: it comes back as requires_payment_method + last_error."""

    async def capture_payment(
        self, *, gateway_payment_id: str, amount: int | None, idempotency_key: str
    ) -> PaymentSnapshot: ...

    async def cancel_payment(self, *, gateway_payment_id: str, idempotency_key: str) -> PaymentSnapshot: ...

    async def retrieve_payment(self, gateway_payment_id: str) -> PaymentSnapshot: ...

    async def find_payment(self, payment_id: str) -> PaymentSnapshot | None:
        """Find the intent created for hexpay's payment_id (by metadata), for a creation whose answer was lost."""

    async def create_refund(
        self,
        *,
        refund_id: str,
        gateway_payment_id: str,
        amount: int,
        reason: str | None,
        idempotency_key: str,
    ) -> RefundSnapshot: ...

    async def retrieve_refund(self, gateway_refund_id: str) -> RefundSnapshot: ...

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the signature on the raw bytes (raise InvalidSignature) before decoding anything."""


GatewayFactory = Callable[[GatewayAccount], PaymentGateway]


@dataclass(frozen=True, slots=True)
class GatewayKindInfo:
    kind: str
    factory: GatewayFactory
    requires_secret_key: bool = True
    description: str = field(default="")


class GatewayRegistry(Protocol):
    """kind -> adapter factory. Built-ins are registered by the composition root; third-party adapters
    through the Python entry-point group `hexpay.gateways`."""

    def kinds(self) -> list[str]: ...

    def is_known(self, kind: str) -> bool: ...

    def gateway_for(self, account: GatewayAccount) -> PaymentGateway:
        """The adapter for this account (cached per account and credentials)."""
