"""The sandbox's own objects and how each renders in Stripe's JSON shape.

Only test cards are ever tokenised (the network refuses any other number), so no real card number is held.
client_secret stays out of every repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.sandbox.cards import Decline, TestCard


@dataclass(slots=True)
class SandboxCustomer:
    id: str
    created: int
    email: str | None
    name: str | None
    description: str | None
    metadata: dict[str, str]
    default_payment_method: str | None = None

    def as_stripe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self.created,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": self.description,
            "email": self.email,
            "invoice_prefix": self.id[-8:].upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": self.default_payment_method,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(self.metadata),
            "name": self.name,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
        }


@dataclass(slots=True)
class SandboxPaymentMethod:
    id: str
    card: TestCard = field(repr=False)
    exp_month: int
    exp_year: int
    created: int
    account_id: str | None = None  # claimed by the first account that uses it
    customer: str | None = None
    # An unattached method is good for one intent only, and a detached one for none, as at Stripe.
    used_by_intent: str | None = None
    detached: bool = False

    def as_stripe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "card": self.card_details(),
            "created": self.created,
            "customer": self.customer,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }

    def card_details(self) -> dict[str, Any]:
        return {
            "brand": self.card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "display_brand": self.card.brand,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": self.card.fingerprint,
            "funding": self.card.funding,
            "generated_from": None,
            "last4": self.card.last4,
            "networks": {"available": [self.card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        }


@dataclass(slots=True)
class SandboxCharge:
    id: str
    payment_intent: str
    amount: int
    currency: str
    created: int
    payment_method: SandboxPaymentMethod = field(repr=False)
    customer: str | None
    metadata: dict[str, str]
    captured: bool = False
    amount_captured: int = 0
    amount_refunded: int = 0
    failure: Decline | None = None
    refunds: list[SandboxRefund] = field(default_factory=list, repr=False)
    disputed: bool = False

    @property
    def succeeded(self) -> bool:
        return self.failure is None

    def as_stripe(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "balance_transaction": None,
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "captured": self.captured,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": None,
            "disputed": self.disputed,
            "failure_code": failure.code if failure else None,
            "failure_message": failure.message if failure else None,
            "livemode": False,
            "metadata": dict(self.metadata),
            "outcome": self._outcome(),
            "paid": self.succeeded,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method.id,
            "payment_method_details": {"card": self.payment_method.card_details(), "type": "card"},
            "refunded": self.amount_captured > 0 and self.amount_refunded == self.amount_captured,
            "refunds": {
                "object": "list",
                "data": [refund.as_stripe() for refund in self.refunds],
                "has_more": False,
                "total_count": len(self.refunds),
                "url": f"/v1/charges/{self.id}/refunds",
            },
            "status": "succeeded" if self.succeeded else "failed",
        }

    def _outcome(self) -> dict[str, Any]:
        if self.failure is None:
            return {"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                    "seller_message": "Payment complete.", "type": "authorized"}
        return {"network_status": "declined_by_network", "reason": self.failure.decline_code,
                "risk_level": "normal", "seller_message": "The bank did not return any further details.",
                "type": "issuer_declined"}


@dataclass(slots=True)
class SandboxPaymentIntent:
    id: str
    account_id: str
    amount: int
    currency: str
    created: int
    capture_method: str
    client_secret: str = field(repr=False)
    customer: str | None
    description: str | None
    metadata: dict[str, str]
    setup_future_usage: str | None
    status: str = "requires_payment_method"
    payment_method: str | None = None
    amount_capturable: int = 0
    amount_received: int = 0
    latest_charge: SandboxCharge | None = field(default=None, repr=False)
    last_payment_error: dict[str, Any] | None = None
    next_action: dict[str, Any] | None = None
    return_url: str | None = None
    canceled_at: int | None = None
    cancellation_reason: str | None = None

    def as_stripe(self, *, expand_charge: bool = False) -> dict[str, Any]:
        charge: Any = None
        if self.latest_charge is not None:
            charge = self.latest_charge.as_stripe() if expand_charge else self.latest_charge.id
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_details": {"tip": {}},
            "amount_received": self.amount_received,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": charge,
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_action": self.next_action,
            "on_behalf_of": None,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {"installments": None, "mandate_options": None, "network": None,
                         "request_three_d_secure": "automatic"}
            },
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": None,
            "review": None,
            "setup_future_usage": self.setup_future_usage,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": self.status,
            "transfer_data": None,
            "transfer_group": None,
        }


@dataclass(slots=True)
class SandboxRefund:
    id: str
    amount: int
    currency: str
    charge: str
    payment_intent: str
    created: int
    reason: str | None
    metadata: dict[str, str]
    status: str = "succeeded"
    failure_reason: str | None = None
    fails_later: bool = False

    def as_stripe(self) -> dict[str, Any]:
        refund: dict[str, Any] = {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": None,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": dict(self.metadata),
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": self.status,
            "transfer_reversal": None,
        }
        if self.failure_reason is not None:
            refund["failure_reason"] = self.failure_reason
            refund["failure_balance_transaction"] = None
        return refund


@dataclass(slots=True)
class SandboxDispute:
    id: str
    amount: int
    currency: str
    charge: str
    payment_intent: str
    created: int
    reason: str
    status: str = "needs_response"

    def as_stripe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "dispute",
            "amount": self.amount,
            "balance_transactions": [],
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "evidence_details": {"due_by": self.created + 7 * 86400, "has_evidence": False, "past_due": False,
                                 "submission_count": 0},
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "status": self.status,
        }
