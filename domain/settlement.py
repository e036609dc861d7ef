"""Settlement: one path from any report of a payment's state to Payment, Order and Invoice.

Use cases call these functions inside one unit of work, after loading the payment under a row lock, so the
whole cascade commits or none of it does.
"""

from __future__ import annotations

from datetime import datetime

from domain.dispute import DisputeSnapshot
from domain.events import SettlementAnomalyDetected
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.outcome import SettlementOutcome
from domain.payment import Payment, PaymentSnapshot, PaymentStatus
from domain.refund import RefundSnapshot


def settle_payment(
    payment: Payment, order: Order, invoice: Invoice, snapshot: PaymentSnapshot, now: datetime,
    *, direct_answer: bool = False,
) -> SettlementOutcome:
    """Apply a payment report and bring the order and its invoice in line with the payment."""
    outcome = payment.apply(snapshot, now, direct_answer=direct_answer)
    if report_cascades(payment, outcome):
        cascade(payment, order, invoice, now)
    return outcome


def report_cascades(payment: Payment, outcome: SettlementOutcome) -> bool:
    """After payment.apply(): whether settle_payment goes on to cascade(). A caller that loads order and invoice
    only when they are needed (application's settle_report) asks this between the two halves."""
    return outcome is not SettlementOutcome.ANOMALY and reaches_order(payment)


def settle_refund(
    payment: Payment, order: Order, invoice: Invoice, snapshot: RefundSnapshot, now: datetime, new_refund_id: str
) -> SettlementOutcome:
    outcome = payment.apply_refund(snapshot, now, new_refund_id)
    if outcome is not SettlementOutcome.ANOMALY:
        cascade(payment, order, invoice, now)
    return outcome


def settle_dispute(
    payment: Payment, order: Order, invoice: Invoice, snapshot: DisputeSnapshot, now: datetime
) -> SettlementOutcome:
    if snapshot.currency != payment.currency:
        payment.events.append(
            SettlementAnomalyDetected(occurred_at=now, payment_id=payment.id, reason="dispute in another currency")
        )
        return SettlementOutcome.ANOMALY
    outcome = payment.apply_dispute(snapshot, now)
    cascade(payment, order, invoice, now)
    return outcome


def reaches_order(payment: Payment) -> bool:
    """Whether cascade() can change anything: only a succeeded payment pays its order and invoice, or moves
    the order's refunded amount. A settlement whose payment ends in any other state may skip reading them."""
    return payment.status is PaymentStatus.SUCCEEDED


def cascade(payment: Payment, order: Order, invoice: Invoice, now: datetime) -> None:
    """Converge order and invoice on the payment's state. Safe to call any number of times.

    A succeeded payment pays a pending order and its invoice; then the order follows the payment's refunded
    (and lost-in-dispute) amount. A payment that succeeds on an order that is canceled, or already paid by
    another payment, is an anomaly for the shop to refund: it never silently changes the order.
    """
    if not reaches_order(payment):
        return
    if order.status is OrderStatus.PENDING_PAYMENT:
        order.mark_paid(payment.id, now)
    elif order.payment_id != payment.id:
        _flag_once(payment, f"payment succeeded but order {order.id} is {order.status.value}", now)
        return
    if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE):
        invoice.pay(Money(payment.amount_received, payment.currency), now)
    order.record_refunded_amount(payment.amount_refunded + payment.amount_lost_to_disputes, now,
                                 amount_paid=payment.amount_received)


def _flag_once(payment: Payment, reason: str, now: datetime) -> None:
    if any(isinstance(e, SettlementAnomalyDetected) and e.reason == reason for e in payment.events):
        return
    payment.events.append(SettlementAnomalyDetected(occurred_at=now, payment_id=payment.id, reason=reason))
