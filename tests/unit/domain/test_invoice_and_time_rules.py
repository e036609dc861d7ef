"""Two edge rules the state machines' generators do not reach: an invoice pays only what it is owed, and a
payment's observed time never goes back when an older final report settles it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import ValidationFailed
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.payment import CaptureMethod, Payment, PaymentSnapshot, PaymentStatus

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("paid", [0, -1, 1001])
def test_an_invoice_refuses_to_be_paid_nothing_a_negative_or_more_than_it_is_owed(paid: int) -> None:
    invoice = Invoice.draft(id="inv_1", order_id="ord_1", number="INV-2026-000001",
                            amount_due=Money(1000, "usd"), now=T0)
    invoice.finalize(T0)
    before = copy.deepcopy(invoice)
    with pytest.raises(ValidationFailed):
        invoice.pay(Money(paid, "usd"), T0)
    assert invoice == before and invoice.status is InvoiceStatus.OPEN


def test_an_older_final_report_settles_the_payment_without_moving_its_clock_back() -> None:
    payment = Payment.open(id="pay_1", order_id="ord_1", customer_id="cus_1", gateway_account_id="gw_1",
                           amount=Money(500, "eur"), capture_method=CaptureMethod.AUTOMATIC, now=T0)

    def report(status: PaymentStatus, at: datetime, received: int = 0) -> PaymentSnapshot:
        return PaymentSnapshot(status=status, amount=500, currency="eur", amount_received=received,
                               amount_capturable=0, observed_at=at)

    payment.apply(report(PaymentStatus.PROCESSING, T0 + timedelta(seconds=10)), T0)
    payment.apply(report(PaymentStatus.SUCCEEDED, T0 + timedelta(seconds=5), received=500), T0)
    assert payment.status is PaymentStatus.SUCCEEDED and payment.amount_received == 500
    assert payment.observed_at == T0 + timedelta(seconds=10)
