"""Orders with their invoice, and invoices on their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from application.use_cases.orders import CreateOrderCommand, OrderLineInput, OrderView
from domain.invoice import Invoice
from domain.order import Order
from entrypoints.http.schemas.common import Body, Out, rfc3339

Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern=r"^[a-z]{3}$")]
Description = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
# Stripe's 8-digit ceiling, far above any one line; negative amounts are never valid.
UnitAmount = Annotated[int, msgspec.Meta(ge=0, le=99_999_999)]
MetadataKey = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
MetadataValue = Annotated[str, msgspec.Meta(max_length=500)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], msgspec.Meta(max_length=50)]


class CustomerIn(Body):
    reference: Reference
    email: Email | None = None


class OrderLineIn(Body):
    description: Description
    quantity: Quantity
    unit_amount: UnitAmount


class OrderIn(Body):
    customer: CustomerIn
    currency: Currency
    lines: Annotated[list[OrderLineIn], msgspec.Meta(min_length=1, max_length=100)]
    metadata: Metadata = msgspec.field(default_factory=dict)


class OrderLineOut(Out):
    description: str
    quantity: int
    unit_amount: int
    amount: int


class OrderInvoiceOut(Out):
    id: str
    number: str
    status: str
    amount_due: int
    amount_paid: int
    amount_remaining: int


class OrderOut(Out):
    id: str
    customer_reference: str
    currency: str
    lines: list[OrderLineOut]
    total: int
    status: str
    invoice: OrderInvoiceOut
    metadata: dict[str, str]
    created_at: datetime
    amount_refunded: int = 0
    object: str = "order"


class OrderList(Out):
    data: list[OrderOut]
    has_more: bool
    object: str = "list"


class InvoiceOut(Out):
    id: str
    number: str
    order_id: str
    status: str
    currency: str
    amount_due: int
    amount_paid: int
    amount_remaining: int
    created_at: datetime
    object: str = "invoice"


def create_command(body: OrderIn) -> CreateOrderCommand:
    return CreateOrderCommand(
        customer_reference=body.customer.reference,
        customer_email=body.customer.email,
        currency=body.currency,
        lines=tuple(OrderLineInput(line.description, line.quantity, line.unit_amount) for line in body.lines),
        metadata=dict(body.metadata),
    )


def order_out(view: OrderView) -> OrderOut:
    order: Order = view.order
    invoice: Invoice = view.invoice
    return OrderOut(
        id=order.id,
        customer_reference=order.customer_reference,
        currency=order.currency,
        lines=[OrderLineOut(description=line.description, quantity=line.quantity,
                            unit_amount=line.unit_amount.amount, amount=line.amount.amount) for line in order.lines],
        total=order.total.amount,
        status=order.status.value,
        invoice=OrderInvoiceOut(id=invoice.id, number=invoice.number, status=invoice.status.value,
                                amount_due=invoice.amount_due, amount_paid=invoice.amount_paid,
                                amount_remaining=invoice.amount_remaining),
        metadata=dict(order.metadata),
        created_at=rfc3339(order.created_at),
        amount_refunded=order.amount_refunded,
    )


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        order_id=invoice.order_id,
        status=invoice.status.value,
        currency=invoice.currency,
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        amount_remaining=invoice.amount_remaining,
        created_at=rfc3339(invoice.created_at),
    )
