"""Invoice: one per order, numbered, following Stripe's invoice status model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.errors import ValidationFailed
from domain.events import DomainEvent, InvoiceFinalized, InvoiceMarkedUncollectible, InvoicePaid, InvoiceVoided
from domain.money import Money
from domain.state_machine import check_move


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}),
    InvoiceStatus.UNCOLLECTIBLE: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def invoice_number(year: int, sequence: int) -> str:
    """Human invoice numbers, gapless per year when the sequence is: INV-2026-000042."""
    return f"INV-{year}-{sequence:06d}"


@dataclass(slots=True)
class Invoice:
    id: str
    order_id: str
    number: str
    currency: str
    amount_due: int
    status: InvoiceStatus
    created_at: datetime
    amount_paid: int = 0
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def draft(cls, *, id: str, order_id: str, number: str, amount_due: Money, now: datetime) -> Invoice:
        if not amount_due.is_positive:
            raise ValidationFailed("an invoice's amount_due must be positive")
        return cls(
            id=id,
            order_id=order_id,
            number=number,
            currency=amount_due.currency,
            amount_due=amount_due.amount,
            status=InvoiceStatus.DRAFT,
            created_at=now,
        )

    @property
    def amount_remaining(self) -> int:
        return self.amount_due - self.amount_paid

    @property
    def is_final(self) -> bool:
        return self.status in (InvoiceStatus.PAID, InvoiceStatus.VOID)

    def _move(self, target: InvoiceStatus) -> None:
        self.status = check_move("invoice", INVOICE_TRANSITIONS, self.status, target)

    def finalize(self, now: datetime) -> None:
        """draft -> open: the invoice is now owed."""
        self._move(InvoiceStatus.OPEN)
        self.events.append(
            InvoiceFinalized(
                occurred_at=now,
                invoice_id=self.id,
                order_id=self.order_id,
                number=self.number,
                amount_due=self.amount_due,
                currency=self.currency,
            )
        )

    def pay(self, amount: Money, now: datetime) -> None:
        """open|uncollectible -> paid, recording what was collected (a partial capture pays less)."""
        if amount.currency != self.currency:
            raise ValidationFailed("payment currency differs from the invoice's")
        if not (0 < amount.amount <= self.amount_due):
            raise ValidationFailed(f"an invoice of {self.amount_due} cannot be paid {amount.amount}")
        self._move(InvoiceStatus.PAID)
        self.amount_paid = amount.amount
        self.events.append(
            InvoicePaid(occurred_at=now, invoice_id=self.id, order_id=self.order_id,
                        amount_paid=self.amount_paid, currency=self.currency)
        )

    def void(self, now: datetime) -> None:
        self._move(InvoiceStatus.VOID)
        self.events.append(InvoiceVoided(occurred_at=now, invoice_id=self.id, order_id=self.order_id))

    def mark_uncollectible(self, now: datetime) -> None:
        self._move(InvoiceStatus.UNCOLLECTIBLE)
        self.events.append(InvoiceMarkedUncollectible(occurred_at=now, invoice_id=self.id, order_id=self.order_id))
