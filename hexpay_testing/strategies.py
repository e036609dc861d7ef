"""Hypothesis strategies for driving hexpay's domain from a property suite (hexpay's own, or a shop's).

Everything here builds on the domain only. The key strategy is payment_histories(): a true history of one
PaymentIntent; delivery_streams(history) turns it into what a webhook sender delivers (shuffled, duplicated).
settlement_cases() bundles a fresh order, its open invoice, a payment for it, and a true history of that payment.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass

from hypothesis import strategies as st

from domain.invoice import Invoice
from domain.order import Order
from domain.payment import CaptureMethod, Payment, PaymentSnapshot, PaymentStatus
from hexpay_testing.delivery import delivery_streams
from hexpay_testing.lifecycle import (
    AUTHENTICATION_FAILURE,
    DECLINES,
    final_amount_received,
    next_actions,
    payment_histories,
    refund_amounts,
    refund_histories,
    refund_history,
)
from hexpay_testing.money import (
    CURRENCIES_BY_EXPONENT,
    MAX_AMOUNT,
    THREE_DECIMAL_CURRENCIES,
    TWO_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    currencies,
    money,
    positive_money,
    unknown_currencies,
)
from hexpay_testing.orders import EPOCH, ids, open_invoice_for, order_lines, orders, payment_for
from hexpay_testing.snapshots import observation_times, payment_snapshots, refund_snapshots

__all__ = [
    "AUTHENTICATION_FAILURE",
    "CURRENCIES_BY_EXPONENT",
    "DECLINES",
    "EPOCH",
    "MAX_AMOUNT",
    "THREE_DECIMAL_CURRENCIES",
    "TWO_DECIMAL_CURRENCIES",
    "ZERO_DECIMAL_CURRENCIES",
    "SettlementCase",
    "currencies",
    "delivery_streams",
    "final_amount_received",
    "ids",
    "money",
    "next_actions",
    "observation_times",
    "open_invoice_for",
    "order_lines",
    "orders",
    "payment_for",
    "payment_histories",
    "payment_snapshots",
    "positive_money",
    "refund_amounts",
    "refund_histories",
    "refund_history",
    "refund_snapshots",
    "settlement_cases",
    "unknown_currencies",
]


@dataclass(frozen=True, slots=True)
class SettlementCase:
    """An order, its open invoice and a payment for it as they were before any report, plus the true history.

    The aggregates are mutable, so each replay starts from fresh() copies rather than from these objects.
    """

    order: Order
    invoice: Invoice
    payment: Payment
    history: list[PaymentSnapshot]

    def fresh(self) -> tuple[Payment, Order, Invoice]:
        return copy.deepcopy(self.payment), copy.deepcopy(self.order), copy.deepcopy(self.invoice)


@st.composite
def settlement_cases(
    draw: st.DrawFn,
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    capture_method: CaptureMethod | None = None,
    ends_in: Collection[PaymentStatus] | None = None,
) -> SettlementCase:
    order = draw(orders(currency))
    method = capture_method if capture_method is not None else draw(st.sampled_from(tuple(CaptureMethod)))
    if ends_in is not None and method is CaptureMethod.AUTOMATIC and set(ends_in) == {PaymentStatus.REQUIRES_CAPTURE}:
        method = CaptureMethod.MANUAL  # only a manual capture waits in requires_capture
    history = draw(payment_histories(amount=order.total, capture_method=method, ends_in=ends_in))
    return SettlementCase(order=order, invoice=open_invoice_for(order), payment=payment_for(order, method),
                          history=history)
