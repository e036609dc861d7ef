"""Explicit row <-> aggregate mapping: the domain classes never learn that a database exists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from application.ports.secret_box import SecretBox
from domain.customer import Customer
from domain.dispute import Dispute
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.order import Order, OrderLine, OrderStatus
from domain.payment import CaptureMethod, NextAction, Payment, PaymentError, PaymentStatus
from domain.payment_method import Card, PaymentMethod
from domain.refund import Refund, RefundStatus

Row = Mapping[Any, Any]

# Members by their stored value, and values written as `_value_`: calling an enum class, or reading its `value`
# property, runs Python code in the enum module every time, and a settlement maps three rows each way.
_ORDER_STATUS = {status._value_: status for status in OrderStatus}
_INVOICE_STATUS = {status._value_: status for status in InvoiceStatus}
_PAYMENT_STATUS = {status._value_: status for status in PaymentStatus}
_CAPTURE_METHOD = {method._value_: method for method in CaptureMethod}
_REFUND_STATUS = {status._value_: status for status in RefundStatus}


# ---- gateway accounts ------------------------------------------------------------------------------------------
def gateway_account_row(account: GatewayAccount, box: SecretBox) -> dict[str, Any]:
    return {
        "id": account.id, "name": account.name, "kind": account.kind, "publishable_key": account.publishable_key,
        "secret_key_sealed": box.seal(account.credentials.secret_key.reveal()),
        "webhook_secret_sealed": box.seal(account.credentials.webhook_secret.reveal()),
        "api_base": account.credentials.api_base, "is_active": account.is_active,
        "created_at": account.created_at, "version": account.version,
    }


def gateway_account_from(row: Row, box: SecretBox) -> GatewayAccount:
    return GatewayAccount(
        id=row["id"], name=row["name"], kind=row["kind"], publishable_key=row["publishable_key"],
        credentials=GatewayCredentials(
            secret_key=Secret(box.open(row["secret_key_sealed"])),
            webhook_secret=Secret(box.open(row["webhook_secret_sealed"])),
            api_base=row["api_base"],
        ),
        is_active=row["is_active"], created_at=row["created_at"], version=row["version"],
    )


# ---- customers -------------------------------------------------------------------------------------------------
def customer_row(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "reference": customer.reference, "email": customer.email,
            "created_at": customer.created_at, "version": customer.version}


def customer_gateway_id_rows(customer: Customer) -> list[dict[str, Any]]:
    return [{"customer_id": customer.id, "gateway_account_id": account_id, "gateway_customer_id": gateway_id}
            for account_id, gateway_id in sorted(customer.gateway_customer_ids.items())]


def customer_from(row: Row, gateway_ids: Sequence[Row]) -> Customer:
    return Customer(
        id=row["id"], reference=row["reference"], email=row["email"], created_at=row["created_at"],
        gateway_customer_ids={g["gateway_account_id"]: g["gateway_customer_id"] for g in gateway_ids},
        version=row["version"],
    )


# ---- payment methods -------------------------------------------------------------------------------------------
def payment_method_row(method: PaymentMethod) -> dict[str, Any]:
    return {
        "id": method.id, "customer_id": method.customer_id, "gateway_account_id": method.gateway_account_id,
        "gateway_payment_method_id": method.gateway_payment_method_id, "card_brand": method.card.brand,
        "card_last4": method.card.last4, "card_exp_month": method.card.exp_month,
        "card_exp_year": method.card.exp_year, "cardholder_name": method.cardholder_name,
        "is_default": method.is_default, "detached": method.detached, "created_at": method.created_at,
        "version": method.version,
    }


def payment_method_from(row: Row) -> PaymentMethod:
    return PaymentMethod(
        id=row["id"], customer_id=row["customer_id"], gateway_account_id=row["gateway_account_id"],
        gateway_payment_method_id=row["gateway_payment_method_id"],
        card=Card(brand=row["card_brand"], last4=row["card_last4"], exp_month=row["card_exp_month"],
                  exp_year=row["card_exp_year"]),
        is_default=row["is_default"], created_at=row["created_at"], cardholder_name=row["cardholder_name"],
        detached=row["detached"], version=row["version"],
    )


# ---- orders ----------------------------------------------------------------------------------------------------
def order_row(order: Order) -> dict[str, Any]:
    return {
        "id": order.id, "customer_id": order.customer_id, "customer_reference": order.customer_reference,
        "currency": order.currency, "status": order.status._value_, "created_at": order.created_at,
        "metadata": dict(order.metadata), "amount_refunded": order.amount_refunded, "payment_id": order.payment_id,
        "version": order.version,
    }


def order_line_rows(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "position": n, "description": line.description, "quantity": line.quantity,
             "unit_amount": line.unit_amount.amount, "currency": line.unit_amount.currency}
            for n, line in enumerate(order.lines)]


def order_from(row: Row, lines: Sequence[Row]) -> Order:
    return Order(
        id=row["id"], customer_id=row["customer_id"], customer_reference=row["customer_reference"],
        currency=row["currency"],
        lines=tuple(OrderLine(line["description"], line["quantity"], Money(line["unit_amount"], line["currency"]))
                    for line in sorted(lines, key=lambda line: line["position"])),
        status=_ORDER_STATUS[row["status"]], created_at=row["created_at"], metadata=dict(row["metadata"]),
        amount_refunded=row["amount_refunded"], payment_id=row["payment_id"], version=row["version"],
    )


# ---- invoices --------------------------------------------------------------------------------------------------
def invoice_row(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id, "order_id": invoice.order_id, "number": invoice.number, "currency": invoice.currency,
        "amount_due": invoice.amount_due, "amount_paid": invoice.amount_paid, "status": invoice.status._value_,
        "created_at": invoice.created_at, "version": invoice.version,
    }


def invoice_from(row: Row) -> Invoice:
    return Invoice(
        id=row["id"], order_id=row["order_id"], number=row["number"], currency=row["currency"],
        amount_due=row["amount_due"], status=_INVOICE_STATUS[row["status"]], created_at=row["created_at"],
        amount_paid=row["amount_paid"], version=row["version"],
    )


# ---- payments, refunds, disputes -------------------------------------------------------------------------------
def _error_document(error: PaymentError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"code": error.code, "decline_code": error.decline_code, "message": error.message}


def _next_action_document(action: NextAction | None) -> dict[str, Any] | None:
    return None if action is None else {"type": action.type, "url": action.url}


def payment_row(payment: Payment, box: SecretBox) -> dict[str, Any]:
    return {
        "id": payment.id, "order_id": payment.order_id, "customer_id": payment.customer_id,
        "gateway_account_id": payment.gateway_account_id, "amount": payment.amount, "currency": payment.currency,
        "capture_method": payment.capture_method._value_, "status": payment.status._value_,
        "created_at": payment.created_at, "updated_at": payment.updated_at,
        "gateway_payment_id": payment.gateway_payment_id,
        "client_secret_sealed": box.seal(payment.client_secret) if payment.client_secret is not None else None,
        "payment_method_id": payment.payment_method_id,
        "gateway_payment_method_id": payment.gateway_payment_method_id, "save_card": payment.save_card,
        "amount_received": payment.amount_received, "amount_capturable": payment.amount_capturable,
        "last_payment_error": _error_document(payment.last_payment_error),
        "next_action": _next_action_document(payment.next_action), "observed_at": payment.observed_at,
        "failed_attempts": payment.failed_attempts,
        "confirmation_attempts": payment.confirmation_attempts,
        "has_refunds": bool(payment.refunds), "has_disputes": bool(payment.disputes), "version": payment.version,
    }


def refund_rows(payment: Payment) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "payment_id": payment.id, "gateway_account_id": payment.gateway_account_id, "position": n,
         "amount": r.amount, "currency": r.currency, "status": r.status._value_, "created_at": r.created_at,
         "updated_at": r.updated_at, "reason": r.reason, "gateway_refund_id": r.gateway_refund_id,
         "failure_reason": r.failure_reason, "observed_at": r.observed_at}
        for n, r in enumerate(payment.refunds)
    ]


def dispute_rows(payment: Payment) -> list[dict[str, Any]]:
    return [
        {"gateway_account_id": payment.gateway_account_id, "gateway_dispute_id": d.gateway_dispute_id,
         "payment_id": payment.id, "position": n, "amount": d.amount, "currency": d.currency, "status": d.status,
         "reason": d.reason, "opened_at": d.opened_at, "observed_at": d.observed_at}
        for n, d in enumerate(payment.disputes)
    ]


def payment_from(row: Row, refunds: Sequence[Row], disputes: Sequence[Row], box: SecretBox) -> Payment:
    error, action = row["last_payment_error"], row["next_action"]
    return Payment(
        id=row["id"], order_id=row["order_id"], customer_id=row["customer_id"],
        gateway_account_id=row["gateway_account_id"], amount=row["amount"], currency=row["currency"],
        capture_method=_CAPTURE_METHOD[row["capture_method"]], status=_PAYMENT_STATUS[row["status"]],
        created_at=row["created_at"], updated_at=row["updated_at"], gateway_payment_id=row["gateway_payment_id"],
        client_secret=box.open(row["client_secret_sealed"]) if row["client_secret_sealed"] is not None else None,
        payment_method_id=row["payment_method_id"], gateway_payment_method_id=row["gateway_payment_method_id"],
        save_card=row["save_card"], amount_received=row["amount_received"],
        amount_capturable=row["amount_capturable"],
        last_payment_error=PaymentError(error["code"], error["decline_code"], error["message"]) if error else None,
        next_action=NextAction(action["type"], action["url"]) if action else None,
        observed_at=row["observed_at"], failed_attempts=row["failed_attempts"],
        confirmation_attempts=row["confirmation_attempts"], version=row["version"],
        refunds=[
            Refund(id=r["id"], payment_id=r["payment_id"], amount=r["amount"], currency=r["currency"],
                   status=_REFUND_STATUS[r["status"]], created_at=r["created_at"], updated_at=r["updated_at"],
                   reason=r["reason"], gateway_refund_id=r["gateway_refund_id"],
                   failure_reason=r["failure_reason"], observed_at=r["observed_at"])
            for r in sorted(refunds, key=lambda r: r["position"])
        ],
        disputes=[
            Dispute(gateway_dispute_id=d["gateway_dispute_id"], payment_id=d["payment_id"], amount=d["amount"],
                    currency=d["currency"], status=d["status"], reason=d["reason"], opened_at=d["opened_at"],
                    observed_at=d["observed_at"])
            for d in sorted(disputes, key=lambda d: d["position"])
        ],
    )
