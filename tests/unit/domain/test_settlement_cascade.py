"""The cascade: a payment's money moves the order and its invoice, in the same settlement call."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st

from domain.events import (
    DomainEvent,
    InvoicePaid,
    OrderPaid,
    OrderPartiallyRefunded,
    OrderRefunded,
    OrderRefundReversed,
    PaymentSucceeded,
    SettlementAnomalyDetected,
)
from domain.invoice import InvoiceStatus
from domain.order import OrderStatus
from domain.payment import CaptureMethod, Payment, PaymentStatus
from domain.refund import RefundSnapshot, RefundStatus
from hexpay_testing.strategies import SettlementCase, settlement_cases
from tests.unit.domain.settlement_replay import SETTLED_AT, settle, settle_all

succeeded_cases = settlement_cases(ends_in=[PaymentStatus.SUCCEEDED])
fully_captured_cases = settlement_cases(ends_in=[PaymentStatus.SUCCEEDED], capture_method=CaptureMethod.AUTOMATIC)


def _count(events: list[DomainEvent], kind: type[DomainEvent]) -> int:
    return sum(isinstance(e, kind) for e in events)


def _refund_report(payment: Payment, refund_id: str, status: RefundStatus, minutes: int) -> RefundSnapshot:
    refund = payment.refund(refund_id)
    assert payment.observed_at is not None
    return RefundSnapshot(
        gateway_refund_id=f"re_{refund_id}", amount=refund.amount, currency=refund.currency, status=status,
        observed_at=payment.observed_at + timedelta(minutes=minutes), refund_id=refund_id,
        failure_reason="lost_or_stolen_card" if status is RefundStatus.FAILED else None,
    )


@given(case=succeeded_cases)
def test_a_succeeded_payment_pays_the_order_and_the_order_pays_its_invoice(case: SettlementCase) -> None:
    payment, order, invoice = case.fresh()
    settle_all(payment, order, invoice, case.history)

    assert payment.status is PaymentStatus.SUCCEEDED
    assert (order.status, order.payment_id) == (OrderStatus.PAID, payment.id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, payment.amount_received)
    assert invoice.amount_remaining == invoice.amount_due - payment.amount_received
    # Each fact is recorded once, however often the success was reported.
    assert _count(payment.events, PaymentSucceeded) == 1
    assert _count(order.events, OrderPaid) == 1
    assert _count(invoice.events, InvoicePaid) == 1


@given(case=settlement_cases(ends_in=[s for s in PaymentStatus if s is not PaymentStatus.SUCCEEDED]))
def test_a_payment_that_has_not_succeeded_leaves_order_and_invoice_waiting(case: SettlementCase) -> None:
    payment, order, invoice = case.fresh()
    settle_all(payment, order, invoice, case.history)

    assert payment.amount_received == 0
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 0)
    assert not order.events[1:] and not invoice.events[1:]  # only OrderCreated / InvoiceFinalized


@given(case=fully_captured_cases, data=st.data())
def test_partial_then_full_refund_moves_the_order_to_partially_refunded_then_refunded(
    case: SettlementCase, data: st.DataObject
) -> None:
    payment, order, invoice = case.fresh()
    settle_all(payment, order, invoice, case.history)
    total = payment.amount_received
    assume(total >= 2)  # one minor unit cannot be refunded in two parts; the full-refund test below covers it
    first = data.draw(st.integers(1, total - 1), label="first refund")

    payment.request_refund(refund_id="rfd_a", amount=first, reason=None, now=SETTLED_AT)
    settle(payment, order, invoice, _refund_report(payment, "rfd_a", RefundStatus.SUCCEEDED, 1))
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, first)
    assert isinstance(order.events[-1], OrderPartiallyRefunded)

    payment.request_refund(refund_id="rfd_b", amount=None, reason=None, now=SETTLED_AT)  # whatever is left
    settle(payment, order, invoice, _refund_report(payment, "rfd_b", RefundStatus.SUCCEEDED, 2))
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, total)
    assert isinstance(order.events[-1], OrderRefunded)
    assert payment.refundable_amount == 0
    assert invoice.status is InvoiceStatus.PAID  # a refund does not reopen a paid invoice


@given(case=succeeded_cases)
def test_refunding_everything_the_payment_received_refunds_the_order(case: SettlementCase) -> None:
    """Also after a partial capture: the shopper has all their money back, so the order is refunded."""
    payment, order, invoice = case.fresh()
    settle_all(payment, order, invoice, case.history)

    payment.request_refund(refund_id="rfd_all", amount=None, reason=None, now=SETTLED_AT)
    settle(payment, order, invoice, _refund_report(payment, "rfd_all", RefundStatus.SUCCEEDED, 1))

    assert payment.amount_refunded == payment.amount_received
    assert order.status is OrderStatus.REFUNDED


@given(case=succeeded_cases, data=st.data())
def test_a_refund_failing_after_it_succeeded_gives_the_amount_back_and_the_order_steps_back(
    case: SettlementCase, data: st.DataObject
) -> None:
    payment, order, invoice = case.fresh()
    settle_all(payment, order, invoice, case.history)
    kept = data.draw(st.integers(0, payment.amount_received - 1), label="refunded and kept")
    returned = payment.amount_received - kept
    if kept:
        payment.request_refund(refund_id="rfd_kept", amount=kept, reason=None, now=SETTLED_AT)
        settle(payment, order, invoice, _refund_report(payment, "rfd_kept", RefundStatus.SUCCEEDED, 1))
    payment.request_refund(refund_id="rfd_back", amount=returned, reason=None, now=SETTLED_AT)
    settle(payment, order, invoice, _refund_report(payment, "rfd_back", RefundStatus.SUCCEEDED, 2))
    assert payment.amount_refunded == payment.amount_received

    # Days later the shopper's bank returns the refund.
    settle(payment, order, invoice, _refund_report(payment, "rfd_back", RefundStatus.FAILED, 60 * 24 * 3))

    assert payment.refund("rfd_back").status is RefundStatus.FAILED
    assert payment.amount_refunded == kept
    assert payment.refundable_amount == returned  # the money is the shop's again, and refundable again
    assert order.amount_refunded == kept
    assert order.status is (OrderStatus.PARTIALLY_REFUNDED if kept else OrderStatus.PAID)
    assert isinstance(order.events[-1], OrderRefundReversed)


@given(case=succeeded_cases)
def test_a_success_on_a_canceled_order_is_flagged_once_and_never_pays_it(case: SettlementCase) -> None:
    payment, order, invoice = case.fresh()
    order.cancel(SETTLED_AT)
    invoice.void(SETTLED_AT)
    settle_all(payment, order, invoice, [*case.history, *case.history])

    assert payment.status is PaymentStatus.SUCCEEDED
    assert (order.status, invoice.status, invoice.amount_paid) == (OrderStatus.CANCELED, InvoiceStatus.VOID, 0)
    anomalies = [e for e in payment.events if isinstance(e, SettlementAnomalyDetected)]
    assert len(anomalies) == 1 and order.id in anomalies[0].reason


@given(case=succeeded_cases)
def test_a_success_on_an_order_paid_by_another_payment_never_touches_it(case: SettlementCase) -> None:
    payment, order, invoice = case.fresh()
    order.mark_paid("pay_other", SETTLED_AT)
    invoice.pay(order.total, SETTLED_AT)
    settle_all(payment, order, invoice, case.history)

    assert (order.status, order.payment_id, invoice.amount_paid) == (OrderStatus.PAID, "pay_other", order.total.amount)
    assert any(isinstance(e, SettlementAnomalyDetected) for e in payment.events)


@given(case=succeeded_cases)
def test_an_uncollectible_invoice_is_still_paid_when_the_money_arrives(case: SettlementCase) -> None:
    payment, order, invoice = case.fresh()
    invoice.mark_uncollectible(SETTLED_AT)
    settle_all(payment, order, invoice, case.history)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, payment.amount_received)


def test_the_succeeded_histories_used_here_include_partial_captures() -> None:
    """Guard on the strategy the tests above rely on: a manual capture of less than the amount does occur."""
    case = find(
        settlement_cases(ends_in=[PaymentStatus.SUCCEEDED], capture_method=CaptureMethod.MANUAL),
        lambda c: 0 < c.history[-1].amount_received < c.history[-1].amount,
        settings=settings(phases=[Phase.generate], database=None),  # any example will do: no need to shrink it
    )
    assert case.payment.capture_method is CaptureMethod.MANUAL
