"""Domain events: facts, named in the past tense, recorded on aggregates and stored in the outbox."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime

    @property
    def type(self) -> str:
        return type(self).__name__

    def data(self) -> dict[str, Any]:
        """The event's fields other than occurred_at, as plain JSON-able values."""
        return {name: getattr(self, name) for name in _data_fields(type(self))}


_DATA_FIELDS: dict[type, tuple[str, ...]] = {}


def _data_fields(event_type: type[DomainEvent]) -> tuple[str, ...]:
    # Once per event type: dataclasses.fields() builds its tuple anew on every call, and every event is stored.
    names = _DATA_FIELDS.get(event_type)
    if names is None:
        names = _DATA_FIELDS[event_type] = tuple(f.name for f in fields(event_type) if f.name != "occurred_at")
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCreated(DomainEvent):
    payment_id: str
    order_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRequiresAction(DomainEvent):
    payment_id: str
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentProcessing(DomainEvent):
    payment_id: str
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentAuthorized(DomainEvent):
    """Funds are held and wait for a capture (capture_method=manual)."""

    payment_id: str
    order_id: str
    amount_capturable: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailed(DomainEvent):
    payment_id: str
    order_id: str
    code: str | None
    decline_code: str | None
    message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSucceeded(DomainEvent):
    payment_id: str
    order_id: str
    amount_received: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCanceled(DomainEvent):
    payment_id: str
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementAnomalyDetected(DomainEvent):
    """A report disagreed with what hexpay knows (amount, currency); it settled nothing."""

    payment_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundCreated(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundSucceeded(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundFailed(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str
    failure_reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundCanceled(DomainEvent):
    refund_id: str
    payment_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeOpened(DomainEvent):
    payment_id: str
    dispute_id: str
    amount: int
    currency: str
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeClosed(DomainEvent):
    payment_id: str
    dispute_id: str
    status: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated(DomainEvent):
    order_id: str
    customer_reference: str
    total: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaid(DomainEvent):
    order_id: str
    payment_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPartiallyRefunded(DomainEvent):
    order_id: str
    amount_refunded: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRefunded(DomainEvent):
    order_id: str
    amount_refunded: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRefundReversed(DomainEvent):
    """A refund failed after it had succeeded: the order holds more money again."""

    order_id: str
    amount_refunded: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled(DomainEvent):
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceFinalized(DomainEvent):
    invoice_id: str
    order_id: str
    number: str
    amount_due: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePaid(DomainEvent):
    invoice_id: str
    order_id: str
    amount_paid: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceVoided(DomainEvent):
    invoice_id: str
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceMarkedUncollectible(DomainEvent):
    invoice_id: str
    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMethodSaved(DomainEvent):
    payment_method_id: str
    customer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMethodRemoved(DomainEvent):
    payment_method_id: str
    customer_id: str
