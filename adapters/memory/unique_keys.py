"""The unique keys of each table: the same guarantees as the SQL schema's constraints and partial indexes.

A key is a tuple whose first element names the guarantee (it becomes DuplicateRecord.what).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from domain.customer import Customer
from domain.invoice import Invoice
from domain.payment import Payment
from domain.payment_method import PaymentMethod

Key = tuple[Hashable, ...]


def customer_keys(customer: Customer) -> Iterator[Key]:
    yield ("customer reference", customer.reference)
    for account_id, gateway_customer_id in customer.gateway_customer_ids.items():
        yield ("gateway customer id", account_id, gateway_customer_id)


def payment_method_keys(method: PaymentMethod) -> Iterator[Key]:
    yield ("gateway payment method id", method.gateway_account_id, method.gateway_payment_method_id)
    if method.is_default and not method.detached:
        yield ("default payment method", method.customer_id, method.gateway_account_id)


def invoice_keys(invoice: Invoice) -> Iterator[Key]:
    yield ("invoice number", invoice.number)
    yield ("invoice for order", invoice.order_id)


def payment_keys(payment: Payment) -> Iterator[Key]:
    if payment.is_live:
        yield ("live payment", payment.order_id, payment.gateway_account_id)
    if payment.gateway_payment_id is not None:
        yield ("gateway payment id", payment.gateway_account_id, payment.gateway_payment_id)
    for refund in payment.refunds:
        yield ("refund id", refund.id)
        if refund.gateway_refund_id is not None:
            yield ("gateway refund id", payment.gateway_account_id, refund.gateway_refund_id)
    for dispute in payment.disputes:
        yield ("gateway dispute id", payment.gateway_account_id, dispute.gateway_dispute_id)


UNIQUE_KEYS: dict[str, Callable[[Any], Iterator[Key]]] = {
    "customers": customer_keys,
    "payment_methods": payment_method_keys,
    "invoices": invoice_keys,
    "payments": payment_keys,
}
