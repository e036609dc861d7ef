"""Aggregates with every field set to a non-default value, so a round trip that drops one is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.customer import Customer
from domain.dispute import Dispute
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.order import Order, OrderLine, OrderStatus
from domain.payment import CaptureMethod, NextAction, Payment, PaymentError, PaymentStatus
from domain.payment_method import Card, PaymentMethod
from domain.refund import Refund, RefundStatus

T0 = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
SECRET_KEY = "sk_test_never_in_a_row_8f3a"
WEBHOOK_SECRET = "whsec_never_in_a_row_71bc"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def gateway_account(id: str = "gwa_1", *, active: bool = True) -> GatewayAccount:
    return GatewayAccount(
        id=id,
        name=f"Stripe EU {id}",
        kind="stripe",
        publishable_key=f"pk_test_{id}",
        credentials=GatewayCredentials(Secret(SECRET_KEY), Secret(WEBHOOK_SECRET), api_base="http://127.0.0.1:8420"),
        is_active=active,
        created_at=at(0),
    )


def customer(id: str = "cus_1", reference: str = "user-1", **gateway_ids: str) -> Customer:
    return Customer(id=id, reference=reference, email=f"{reference}@example.com", created_at=at(1),
                    gateway_customer_ids=dict(gateway_ids))


def payment_method(
    id: str = "pm_1", *, customer_id: str = "cus_1", account_id: str = "gwa_1", gateway_id: str = "pm_gw_1",
    is_default: bool = True, detached: bool = False, created: float = 2,
) -> PaymentMethod:
    return PaymentMethod(
        id=id, customer_id=customer_id, gateway_account_id=account_id, gateway_payment_method_id=gateway_id,
        card=Card(brand="visa", last4="4242", exp_month=12, exp_year=2034), is_default=is_default,
        created_at=at(created), cardholder_name="Ada Lovelace", detached=detached,
    )


def order(id: str = "ord_1", *, customer_id: str = "cus_1", created: float = 3, placed_only: bool = False) -> Order:
    placed = Order.place(
        id=id, customer_id=customer_id, customer_reference="user-1", currency="kwd",
        lines=(OrderLine("Tea", 3, Money(1_250, "kwd")), OrderLine("Cup", 1, Money(4_005, "kwd"))),
        metadata={"cart": "c-9", "channel": "web"}, now=at(created),
    )
    if placed_only:
        return placed
    placed.status = OrderStatus.PARTIALLY_REFUNDED
    placed.amount_refunded = 500
    placed.payment_id = "pay_1"
    return placed


def invoice(id: str = "inv_1", *, order_id: str = "ord_1", number: str = "INV-2026-000001") -> Invoice:
    drafted = Invoice.draft(id=id, order_id=order_id, number=number, amount_due=Money(7_755, "kwd"), now=at(4))
    drafted.status = InvoiceStatus.PAID
    drafted.amount_paid = 7_755
    return drafted


def payment(
    id: str = "pay_1", *, order_id: str = "ord_1", account_id: str = "gwa_1", gateway_id: str | None = "pi_1",
    status: PaymentStatus = PaymentStatus.REQUIRES_ACTION, refund_gateway_id: str = "re_1",
    dispute_gateway_id: str = "dp_1",
) -> Payment:
    """A payment whose every field differs from its default, with a refund and a dispute."""
    opened = Payment.open(
        id=id, order_id=order_id, customer_id="cus_1", gateway_account_id=account_id, amount=Money(7_755, "kwd"),
        capture_method=CaptureMethod.MANUAL, now=at(5), payment_method_id="pm_1",
        gateway_payment_method_id="pm_gw_1", save_card=True,
    )
    opened.status = status
    opened.updated_at = at(6)
    opened.gateway_payment_id = gateway_id
    opened.client_secret = f"{gateway_id}_secret_abc"
    opened.amount_received = 7_755
    opened.amount_capturable = 10
    opened.last_payment_error = PaymentError(code="card_declined", decline_code="insufficient_funds",
                                             message="Your card has insufficient funds.")
    opened.next_action = NextAction(type="redirect_to_url", url="https://hooks.example/3ds?x=1")
    opened.observed_at = at(7)
    opened.failed_attempts = 2
    opened.refunds.append(Refund(
        id=f"rfd_{id}", payment_id=id, amount=500, currency="kwd", status=RefundStatus.SUCCEEDED,
        created_at=at(8), updated_at=at(9), reason="requested_by_customer", gateway_refund_id=refund_gateway_id,
        failure_reason="expired_or_canceled_card", observed_at=at(10),
    ))
    opened.refunds.append(Refund(
        id=f"rfd_{id}_2", payment_id=id, amount=100, currency="kwd", status=RefundStatus.PENDING,
        created_at=at(11), updated_at=at(11),
    ))
    opened.disputes.append(Dispute(
        gateway_dispute_id=dispute_gateway_id, payment_id=id, amount=7_755, currency="kwd",
        status="needs_response", reason="fraudulent", opened_at=at(12), observed_at=at(13),
    ))
    return opened


def live_payment(id: str, *, order_id: str = "ord_1", account_id: str = "gwa_1") -> Payment:
    return Payment.open(
        id=id, order_id=order_id, customer_id="cus_1", gateway_account_id=account_id, amount=Money(7_755, "kwd"),
        capture_method=CaptureMethod.AUTOMATIC, now=at(5),
    )
