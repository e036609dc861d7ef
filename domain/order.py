"""Order: what the shop sells; its status follows the money that reached it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.errors import IllegalTransition, ValidationFailed
from domain.events import (
    DomainEvent,
    OrderCanceled,
    OrderCreated,
    OrderPaid,
    OrderPartiallyRefunded,
    OrderRefunded,
    OrderRefundReversed,
)
from domain.money import Money
from domain.state_machine import check_move

MAX_LINES = 100


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELED = "canceled"


# Refunds can fail after they succeeded (the bank returns them), so refunded states can step back.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELED}),
    OrderStatus.PAID: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDED, OrderStatus.PAID}),
    OrderStatus.REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID}),
    OrderStatus.CANCELED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderLine:
    description: str
    quantity: int
    unit_amount: Money

    def __post_init__(self) -> None:
        if not self.description or len(self.description) > 500:
            raise ValidationFailed("line description must be 1-500 characters")
        if isinstance(self.quantity, bool) or not (1 <= self.quantity <= 10_000):
            raise ValidationFailed("line quantity must be 1-10000")
        if self.unit_amount.amount < 0:
            raise ValidationFailed("line unit_amount cannot be negative")

    @property
    def amount(self) -> Money:
        return self.unit_amount * self.quantity


@dataclass(slots=True)
class Order:
    id: str
    customer_id: str
    customer_reference: str
    currency: str
    lines: tuple[OrderLine, ...]
    status: OrderStatus
    created_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    amount_refunded: int = 0
    payment_id: str | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def place(
        cls,
        *,
        id: str,
        customer_id: str,
        customer_reference: str,
        currency: str,
        lines: tuple[OrderLine, ...],
        metadata: dict[str, str],
        now: datetime,
    ) -> Order:
        if not lines:
            raise ValidationFailed("an order needs at least one line")
        if len(lines) > MAX_LINES:
            raise ValidationFailed(f"an order has at most {MAX_LINES} lines")
        for line in lines:
            if line.unit_amount.currency != currency:
                raise ValidationFailed("every line must be in the order's currency")
        order = cls(
            id=id,
            customer_id=customer_id,
            customer_reference=customer_reference,
            currency=currency,
            lines=lines,
            status=OrderStatus.PENDING_PAYMENT,
            created_at=now,
            metadata=dict(metadata),
        )
        if not order.total.is_positive:
            raise ValidationFailed("an order's total must be positive")
        order.events.append(
            OrderCreated(
                occurred_at=now,
                order_id=id,
                customer_reference=customer_reference,
                total=order.total.amount,
                currency=currency,
            )
        )
        return order

    @property
    def total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.amount
        return total

    @property
    def is_payable(self) -> bool:
        return self.status is OrderStatus.PENDING_PAYMENT

    def _move(self, target: OrderStatus) -> None:
        self.status = check_move("order", ORDER_TRANSITIONS, self.status, target)

    def mark_paid(self, payment_id: str, now: datetime) -> None:
        """pending_payment -> paid, by this payment (its refunds are the ones the order follows)."""
        if self.status is not OrderStatus.PENDING_PAYMENT:
            # The table lets a refunded order step back to paid when a refund is reversed; that is not a payment.
            raise IllegalTransition("order", self.status.value, OrderStatus.PAID.value)
        self._move(OrderStatus.PAID)
        self.payment_id = payment_id
        self.events.append(OrderPaid(occurred_at=now, order_id=self.id, payment_id=payment_id))

    def cancel(self, now: datetime) -> None:
        self._move(OrderStatus.CANCELED)
        self.events.append(OrderCanceled(occurred_at=now, order_id=self.id))

    def record_refunded_amount(self, amount_refunded: int, now: datetime, *, amount_paid: int | None = None) -> None:
        """Follow the total refunded on the order's payment: paid, partially_refunded or refunded.

        amount_paid is what the payment collected (less than the total after a partial capture); giving all of it
        back refunds the order. Without it the order's total is assumed.
        """
        if self.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELED):
            return
        if amount_refunded == self.amount_refunded:
            return
        previous = self.amount_refunded
        collected = self.total.amount if amount_paid is None else amount_paid
        if amount_refunded <= 0:
            target = OrderStatus.PAID
        elif amount_refunded >= collected:
            target = OrderStatus.REFUNDED
        else:
            target = OrderStatus.PARTIALLY_REFUNDED
        if target is not self.status:
            self._move(target)
        self.amount_refunded = amount_refunded
        event: DomainEvent
        if amount_refunded < previous:
            event = OrderRefundReversed(occurred_at=now, order_id=self.id, amount_refunded=amount_refunded)
        elif target is OrderStatus.REFUNDED:
            event = OrderRefunded(occurred_at=now, order_id=self.id, amount_refunded=amount_refunded)
        else:
            event = OrderPartiallyRefunded(occurred_at=now, order_id=self.id, amount_refunded=amount_refunded)
        self.events.append(event)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status.value, "total": self.total.amount, "currency": self.currency}
