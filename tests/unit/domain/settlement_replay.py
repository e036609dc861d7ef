"""Replaying reports through domain.settlement, and what of the result a shop can observe."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.invoice import Invoice
from domain.order import Order
from domain.outcome import SettlementOutcome
from domain.payment import Payment, PaymentSnapshot
from domain.refund import RefundSnapshot
from domain.settlement import settle_payment, settle_refund
from hexpay_testing.strategies import EPOCH

# When hexpay applies a report. Deliberately unrelated to observed_at: settlement must order reports by what the
# gateway observed, never by when they happened to arrive.
SETTLED_AT = EPOCH.replace(year=EPOCH.year + 1)

Report = PaymentSnapshot | RefundSnapshot


def refund_id_for(snapshot: RefundSnapshot) -> str:
    """hexpay's id for a refund first learned of by report; derived, so that every replay names it alike."""
    return f"rfd_{snapshot.gateway_refund_id}"


def settle(payment: Payment, order: Order, invoice: Invoice, report: Report,
           now: datetime = SETTLED_AT) -> SettlementOutcome:
    if isinstance(report, PaymentSnapshot):
        return settle_payment(payment, order, invoice, report, now)
    return settle_refund(payment, order, invoice, report, now, refund_id_for(report))


def settle_all(payment: Payment, order: Order, invoice: Invoice, reports: Iterable[Report]) -> None:
    for report in reports:
        settle(payment, order, invoice, report)


def observable(payment: Payment, order: Order, invoice: Invoice) -> dict[str, Any]:
    """The state a shop can see and act on.

    Left out on purpose, because they record how hexpay learned the state rather than the state itself:
    - payment.events / order.events / invoice.events: a report that arrives after a newer one is ignored, so the
      events of skipped intermediate states (requires_action, processing...) exist only for some delivery orders;
    - payment.failed_attempts: it counts declines hexpay saw, and a decline superseded before it arrived is never
      seen (it only feeds confirmation idempotency keys, which need to be new after a decline, not to count all);
    - updated_at: the time hexpay applied a report, not anything the gateway said;
    - gateway_payment_method_id: "last card seen", and a decline reports no card, so it depends on which
      earlier report arrived before the newest one.
    """
    return {
        "payment": (payment.status, payment.amount, payment.currency, payment.amount_received,
                    payment.amount_capturable, payment.last_payment_error, payment.next_action, payment.observed_at,
                    payment.gateway_payment_id, payment.amount_refunded, payment.refundable_amount),
        "refunds": sorted(
            (r.id, r.gateway_refund_id, r.status, r.amount, r.currency, r.failure_reason, r.observed_at)
            for r in payment.refunds
        ),
        "order": (order.status, order.amount_refunded, order.payment_id),
        "invoice": (invoice.status, invoice.amount_paid, invoice.amount_remaining),
    }
