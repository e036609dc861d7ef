"""One sandbox account: Stripe's server side for its customers, payment methods, intents, refunds and disputes.

Each mutating call runs under the account's idempotency keys and checks everything before it changes anything;
every change is announced as a Stripe event. A decline while confirming raises a card_error that carries the
intent, back in requires_payment_method, as Stripe's 402 does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.sandbox.errors import SandboxApiError, invalid_request, no_such, unexpected_state
from adapters.sandbox.idempotency import IdempotencyCache
from adapters.sandbox.randomness import random_letters
from adapters.sandbox.records import (
    SandboxCharge,
    SandboxCustomer,
    SandboxDispute,
    SandboxPaymentIntent,
    SandboxPaymentMethod,
    SandboxRefund,
)
from adapters.sandbox.rules import (
    CANCELABLE,
    CANCELLATION_REASONS,
    CAPTURE_METHODS,
    CONFIRMABLE,
    FUTURE_USAGES,
    REFUND_REASONS,
    card_error,
    check_amount,
    check_choice,
    check_expand,
    check_usable,
    render,
    used_up,
)
from adapters.sandbox.vault import PaymentMethodVault
from domain.money import Money

ApiObject = dict[str, Any]


REFUND_FAILURE_REASON = "expired_or_canceled_card"
AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What an account takes from the network it lives in."""

    vault: PaymentMethodVault
    new_id: Callable[[str], str]
    unix_now: Callable[[], int]
    emit: Callable[[str, str, ApiObject], None]  # (account id, event type, object)
    defer: Callable[[Callable[[], None]], None]  # what Stripe does a moment later
    three_ds_url: Callable[[str], str]


class SandboxAccount:
    def __init__(self, account_id: str, webhook_secret: str, around: Surroundings) -> None:
        self.id = account_id
        self.webhook_secret = webhook_secret
        self.customers: dict[str, SandboxCustomer] = {}
        self.intents: dict[str, SandboxPaymentIntent] = {}
        self.refunds: dict[str, SandboxRefund] = {}
        self.disputes: dict[str, SandboxDispute] = {}
        self._idempotency = IdempotencyCache()
        self._around = around
        self._vault = around.vault

    def __repr__(self) -> str:
        return f"SandboxAccount({self.id!r}, intents={len(self.intents)})"

    # ---- customers and payment methods ---------------------------------------------------------------------
    def create_customer(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ApiObject:
        params = {"email": email, "name": name, "description": description, "metadata": metadata or {}}

        def perform() -> ApiObject:
            customer = SandboxCustomer(self._around.new_id("cus"), self._around.unix_now(), email, name, description,
                                       dict(metadata or {}))
            self.customers[customer.id] = customer
            self._around.emit(self.id, "customer.created", customer.as_stripe())
            return customer.as_stripe()

        return self._idempotency.run(idempotency_key, "POST /v1/customers", params, self._around.unix_now(), perform)

    def retrieve_customer(self, customer_id: str) -> ApiObject:
        return self._customer(customer_id, "id").as_stripe()

    def set_default_payment_method(
        self, customer_id: str, payment_method_id: str | None, *, idempotency_key: str | None = None
    ) -> ApiObject:
        """POST /v1/customers/{id} with invoice_settings[default_payment_method]."""
        params = {"customer": customer_id, "default_payment_method": payment_method_id}

        def perform() -> ApiObject:
            customer = self._customer(customer_id, "id")
            if payment_method_id is not None:
                method = self._vault.of_account(self.id, payment_method_id)
                if method is None or method.customer != customer.id:
                    raise invalid_request(
                        f"No such PaymentMethod: '{payment_method_id}'; it must be attached to customer "
                        f"{customer.id} to become its default.",
                        code="resource_missing", param="invoice_settings[default_payment_method]",
                    )
            customer.default_payment_method = payment_method_id
            self._around.emit(self.id, "customer.updated", customer.as_stripe())
            return customer.as_stripe()

        return self._idempotency.run(idempotency_key, f"POST /v1/customers/{customer_id}", params,
                                     self._around.unix_now(), perform)

    def attach_payment_method(
        self, payment_method_id: str, *, customer: str, idempotency_key: str | None = None
    ) -> ApiObject:
        """Attaching runs the card's $0 check: a card that fails it is declined here, as at Stripe. Attaching a
        method again to its own customer answers the method; to another customer is an error."""

        def perform() -> ApiObject:
            owner = self._customer(customer, "customer")
            method = self._claim(payment_method_id)
            if method.customer == owner.id:
                return method.as_stripe()
            if method.customer is not None:
                raise invalid_request("The payment method you provided has already been attached to a customer.",
                                      code="payment_method_unexpected_state")
            if method.detached or method.used_by_intent is not None:
                raise used_up(method.id)
            decline = method.card.declines_at_attach
            if decline is not None:
                raise card_error(decline.message, decline.code, decline_code=decline.decline_code)
            method.customer = owner.id
            self._around.emit(self.id, "payment_method.attached", method.as_stripe())
            return method.as_stripe()

        return self._idempotency.run(idempotency_key, f"POST /v1/payment_methods/{payment_method_id}/attach",
                                     {"customer": customer}, self._around.unix_now(), perform)

    def detach_payment_method(
        self, payment_method_id: str, *, idempotency_key: str | None = None
    ) -> ApiObject:

        def perform() -> ApiObject:
            method = self._vault.of_account(self.id, payment_method_id)
            if method is None:
                raise no_such("PaymentMethod", payment_method_id)
            if method.customer is None:
                raise invalid_request(
                    "The payment method you provided is not attached to a customer so detachment is impossible.",
                    code="payment_method_unexpected_state",
                )
            owner = self.customers[method.customer]
            method.customer, method.detached = None, True
            if owner.default_payment_method == method.id:
                owner.default_payment_method = None
                self._around.emit(self.id, "customer.updated", owner.as_stripe())
            self._around.emit(self.id, "payment_method.detached", method.as_stripe())
            return method.as_stripe()

        return self._idempotency.run(idempotency_key, f"POST /v1/payment_methods/{payment_method_id}/detach",
                                     {}, self._around.unix_now(), perform)

    # ---- payment intents -----------------------------------------------------------------------------------
    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        capture_method: str = "automatic",
        customer: str | None = None,
        payment_method: str | None = None,
        confirm: bool = False,
        return_url: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        setup_future_usage: str | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """A decline while confirming raises a card_error carrying the intent in requires_payment_method."""
        params = {
            "amount": amount, "currency": currency, "capture_method": capture_method, "customer": customer,
            "payment_method": payment_method, "confirm": confirm, "return_url": return_url,
            "description": description, "metadata": metadata or {}, "setup_future_usage": setup_future_usage,
            "expand": list(expand),
        }

        def perform() -> ApiObject:
            lowered = currency.lower()
            check_amount(amount, lowered)
            check_expand(expand)
            check_choice(capture_method, CAPTURE_METHODS, "capture_method")
            check_choice(setup_future_usage, FUTURE_USAGES, "setup_future_usage")
            owner = self._customer(customer, "customer") if customer is not None else None
            method = self._claim(payment_method) if payment_method is not None else None
            if confirm and method is None:
                raise unexpected_state("You cannot confirm this PaymentIntent because it's missing a payment method.")
            intent = SandboxPaymentIntent(
                id=self._around.new_id("pi"), account_id=self.id, amount=amount, currency=lowered,
                created=self._around.unix_now(), capture_method=capture_method, client_secret="",
                customer=owner.id if owner else None, description=description, metadata=dict(metadata or {}),
                setup_future_usage=setup_future_usage, return_url=return_url,
            )
            intent.client_secret = f"{intent.id}_secret_{random_letters(25)}"
            if method is not None:
                check_usable(method, intent)
                intent.payment_method, intent.status = method.id, "requires_confirmation"
            self.intents[intent.id] = intent
            self._around.emit(self.id, "payment_intent.created", intent.as_stripe())
            if confirm and method is not None:
                self._confirm(intent, method, expand)
            return render(intent, expand)

        return self._idempotency.run(idempotency_key, "POST /v1/payment_intents", params, self._around.unix_now(),
                                     perform)

    def confirm_payment_intent(
        self,
        intent_id: str,
        *,
        payment_method: str | None = None,
        return_url: str | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """A decline raises a card_error carrying the intent, back in requires_payment_method."""
        params = {"payment_method": payment_method, "return_url": return_url, "expand": list(expand)}

        def perform() -> ApiObject:
            check_expand(expand)
            intent = self._intent(intent_id)
            if intent.status not in CONFIRMABLE:
                raise unexpected_state(
                    f"You cannot confirm this PaymentIntent because it has a status of {intent.status}. Only a "
                    f"PaymentIntent with one of the following statuses may be confirmed: {', '.join(CONFIRMABLE)}."
                )
            if payment_method is not None:
                method = self._claim(payment_method)
            elif intent.payment_method is not None:
                method = self._method_of(intent)
            else:
                raise unexpected_state("You cannot confirm this PaymentIntent because it's missing a payment method.")
            check_usable(method, intent)
            if return_url is not None:
                intent.return_url = return_url
            self._confirm(intent, method, expand)
            return render(intent, expand)

        return self._idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/confirm", params,
                                     self._around.unix_now(), perform)

    def capture_payment_intent(
        self,
        intent_id: str,
        *,
        amount_to_capture: int | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """Capture all or part of an authorisation; the rest is released and amount_received is what was taken."""
        params = {"amount_to_capture": amount_to_capture, "expand": list(expand)}

        def perform() -> ApiObject:
            check_expand(expand)
            intent = self._intent(intent_id)
            charge = intent.latest_charge
            if intent.status != "requires_capture" or charge is None:
                raise unexpected_state(
                    f"This PaymentIntent could not be captured because it has a status of {intent.status}. Only a "
                    "PaymentIntent with one of the following statuses may be captured: requires_capture."
                )
            amount = intent.amount_capturable if amount_to_capture is None else amount_to_capture
            if not 0 < amount <= intent.amount_capturable:
                raise invalid_request(
                    f"The amount_to_capture ({amount}) must be positive and at most the amount_capturable "
                    f"({intent.amount_capturable}).",
                    code="amount_too_large" if amount > 0 else "parameter_invalid_integer",
                    param="amount_to_capture",
                )
            charge.captured, charge.amount_captured = True, amount
            intent.status, intent.amount_received, intent.amount_capturable = "succeeded", amount, 0
            self._around.emit(self.id, "charge.captured", charge.as_stripe())
            self._around.emit(self.id, "payment_intent.succeeded", intent.as_stripe())
            if charge.payment_method.card.disputed:
                self._around.defer(lambda: self._open_dispute(charge))
            return render(intent, expand)

        return self._idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/capture", params,
                                     self._around.unix_now(), perform)

    def cancel_payment_intent(
        self,
        intent_id: str,
        *,
        cancellation_reason: str | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        params = {"cancellation_reason": cancellation_reason, "expand": list(expand)}

        def perform() -> ApiObject:
            check_expand(expand)
            check_choice(cancellation_reason, CANCELLATION_REASONS, "cancellation_reason")
            intent = self._intent(intent_id)
            if intent.status not in CANCELABLE:
                raise unexpected_state(
                    f"You cannot cancel this PaymentIntent because it has a status of {intent.status}. Only a "
                    f"PaymentIntent with one of the following statuses may be canceled: {', '.join(CANCELABLE)}."
                )
            intent.status, intent.amount_capturable, intent.next_action = "canceled", 0, None
            intent.canceled_at, intent.cancellation_reason = self._around.unix_now(), cancellation_reason
            self._around.emit(self.id, "payment_intent.canceled", intent.as_stripe())
            return render(intent, expand)

        return self._idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/cancel", params,
                                     self._around.unix_now(), perform)

    def retrieve_payment_intent(self, intent_id: str, *, expand: Sequence[str] = ()) -> ApiObject:
        check_expand(expand)
        return render(self._intent(intent_id, "id"), expand)

    def search_payment_intents(
        self, metadata: dict[str, str], *, expand: Sequence[str] = ()
    ) -> list[ApiObject]:
        """Stripe's search with `metadata['k']:'v'` clauses joined by AND; newest first."""
        check_expand(expand)
        found = [
            intent for intent in self.intents.values()
            if all(intent.metadata.get(key) == value for key, value in metadata.items())
        ]
        return [render(intent, expand) for intent in reversed(found)]  # kept in creation order

    # ---- refunds -------------------------------------------------------------------------------------------
    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """Never more than what is still refundable on the charge; the default is all of it."""
        params = {"payment_intent": payment_intent, "amount": amount, "reason": reason, "metadata": metadata or {}}

        def perform() -> ApiObject:
            intent = self._intent(payment_intent, "payment_intent")
            charge = intent.latest_charge
            check_choice(reason, REFUND_REASONS, "reason")
            if intent.status != "succeeded" or charge is None or not charge.captured:
                raise unexpected_state(f"This PaymentIntent ({intent.id}) does not have a successful charge to refund.")
            if charge.disputed:
                raise invalid_request(f"Charge {charge.id} has been charged back; cannot issue a refund.",
                                      code="charge_disputed")
            refundable = charge.amount_captured - charge.amount_refunded
            if refundable <= 0:
                raise invalid_request(f"Charge {charge.id} has already been refunded.", code="charge_already_refunded")
            chosen = refundable if amount is None else amount
            if chosen <= 0:
                raise invalid_request("Invalid positive integer", code="parameter_invalid_integer", param="amount")
            if chosen > refundable:
                raise invalid_request(
                    f"Refund amount ({Money(chosen, intent.currency)}) is greater than unrefunded amount on charge "
                    f"({Money(refundable, intent.currency)})",
                    code="amount_too_large", param="amount",
                )
            refund = SandboxRefund(self._around.new_id("re"), chosen, intent.currency, charge.id, intent.id,
                                   self._around.unix_now(), reason, dict(metadata or {}))
            charge.refunds.insert(0, refund)  # Stripe lists the newest first
            charge.amount_refunded += chosen
            self.refunds[refund.id] = refund
            self._around.emit(self.id, "refund.created", refund.as_stripe())
            self._around.emit(self.id, "charge.refunded", charge.as_stripe())
            if charge.payment_method.card.refund_fails:
                self._around.defer(lambda: self._fail_refund(charge, refund))
            return refund.as_stripe()

        return self._idempotency.run(idempotency_key, "POST /v1/refunds", params, self._around.unix_now(), perform)

    def retrieve_refund(self, refund_id: str) -> ApiObject:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise no_such("refund", refund_id)
        return refund.as_stripe()

    def retrieve_dispute(self, dispute_id: str) -> ApiObject:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise no_such("dispute", dispute_id)
        return dispute.as_stripe()

    # ---- what happens inside -------------------------------------------------------------------------------
    def _confirm(
        self, intent: SandboxPaymentIntent, method: SandboxPaymentMethod, expand: Sequence[str]
    ) -> None:
        if method.customer is None:
            method.used_by_intent = intent.id
        intent.payment_method = method.id
        intent.last_payment_error = None
        intent.next_action = None
        if method.card.requires_3ds:
            intent.status = "requires_action"
            intent.next_action = {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": self._around.three_ds_url(intent.id),
                                    "return_url": intent.return_url},
            }
            self._around.emit(self.id, "payment_intent.requires_action", intent.as_stripe())
            return
        self._charge(intent, method, expand)

    def _charge(
        self, intent: SandboxPaymentIntent, method: SandboxPaymentMethod, expand: Sequence[str]
    ) -> None:
        charge = SandboxCharge(
            id=self._around.new_id("ch"), payment_intent=intent.id, amount=intent.amount, currency=intent.currency,
            created=self._around.unix_now(), payment_method=method, customer=intent.customer,
            metadata=dict(intent.metadata),
        )
        intent.latest_charge = charge
        decline = method.card.declines_on_charge
        if decline is not None:
            charge.failure = decline
            intent.status, intent.payment_method = "requires_payment_method", None
            intent.last_payment_error = {
                "type": "card_error",
                "charge": charge.id,
                "code": decline.code,
                "decline_code": decline.decline_code,
                "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
                "message": decline.message,
                "payment_method": method.as_stripe(),
            }
            self._around.emit(self.id, "charge.failed", charge.as_stripe())
            self._around.emit(self.id, "payment_intent.payment_failed", intent.as_stripe())
            raise card_error(decline.message, decline.code, decline_code=decline.decline_code,
                              payment_intent=render(intent, expand), payment_method=method.as_stripe())
        if intent.setup_future_usage and intent.customer and method.customer is None:
            # Saving the card for later is attaching it to the intent's customer once the payment went through.
            method.customer, method.used_by_intent = intent.customer, None
            self._around.emit(self.id, "payment_method.attached", method.as_stripe())
        if intent.capture_method == "manual":
            intent.status, intent.amount_capturable = "requires_capture", intent.amount
            self._around.emit(self.id, "charge.succeeded", charge.as_stripe())
            self._around.emit(self.id, "payment_intent.amount_capturable_updated", intent.as_stripe())
            return
        charge.captured, charge.amount_captured = True, intent.amount
        intent.status, intent.amount_received = "succeeded", intent.amount
        self._around.emit(self.id, "charge.succeeded", charge.as_stripe())
        self._around.emit(self.id, "payment_intent.succeeded", intent.as_stripe())
        if method.card.disputed:
            self._around.defer(lambda: self._open_dispute(charge))

    def _fail_refund(self, charge: SandboxCharge, refund: SandboxRefund) -> None:
        if refund.status != "succeeded":
            return
        refund.status, refund.failure_reason = "failed", REFUND_FAILURE_REASON
        charge.amount_refunded -= refund.amount  # the money came back to the merchant
        self._around.emit(self.id, "charge.refund.updated", refund.as_stripe())
        self._around.emit(self.id, "refund.failed", refund.as_stripe())

    def _open_dispute(self, charge: SandboxCharge) -> None:
        if charge.disputed:
            return
        dispute = SandboxDispute(self._around.new_id("dp"), charge.amount_captured, charge.currency, charge.id,
                                 charge.payment_intent, self._around.unix_now(), reason="fraudulent")
        charge.disputed = True
        self.disputes[dispute.id] = dispute
        self._around.emit(self.id, "charge.dispute.created", dispute.as_stripe())


    # ---- the shopper at the bank's 3-D Secure page, and the bank -------------------------------------------
    def challenge(self, intent_id: str) -> ApiObject:
        """What the 3-D Secure page shows: the intent's amount and card, without its client_secret."""
        intent = self._intent(intent_id)
        method = self._vault.of_account(self.id, intent.payment_method or "")
        return {
            "id": intent.id,
            "amount": intent.amount,
            "currency": intent.currency,
            "status": intent.status,
            "card": {"brand": method.card.brand, "last4": method.card.last4} if method else None,
            "return_url": intent.return_url,
        }

    def confirm_from_browser(
        self, intent_id: str, client_secret: str, payment_method: str, return_url: str | None
    ) -> ApiObject:
        """What Stripe.js's confirmCardPayment does: the frontend holds only the client_secret. A decline
        raises the card_error, as Stripe.js reports it; the intent is back in requires_payment_method."""
        intent = self._intent(intent_id)
        if not intent.client_secret or not secrets.compare_digest(intent.client_secret, client_secret):
            raise invalid_request("The client_secret provided does not match this PaymentIntent.",
                                  param="client_secret")
        return self.confirm_payment_intent(intent_id, payment_method=payment_method, return_url=return_url)

    def authenticate(self, intent_id: str, success: bool) -> ApiObject:
        """The shopper completes (or fails) 3-D Secure for an intent in requires_action."""
        intent = self._intent(intent_id)
        if intent.status != "requires_action" or intent.payment_method is None:
            raise unexpected_state(
                f"This PaymentIntent's status is {intent.status}; only one in requires_action can be authenticated."
            )
        method = self._method_of(intent)
        intent.next_action = None
        if success:
            try:
                self._charge(intent, method, ())
            except SandboxApiError as decline:  # declined after authenticating: the intent itself reports it
                if decline.type != "card_error":
                    raise
        else:
            intent.status, intent.payment_method = "requires_payment_method", None
            intent.last_payment_error = {
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "message": AUTHENTICATION_FAILED,
                "payment_method": method.as_stripe(),
            }
            self._around.emit(self.id, "payment_intent.payment_failed", intent.as_stripe())
        return intent.as_stripe()

    def close_dispute(self, dispute_id: str, won: bool) -> ApiObject:
        """The bank's decision on a dispute (charge.dispute.closed)."""
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise no_such("dispute", dispute_id)
        if dispute.status in ("won", "lost"):
            raise invalid_request(f"Dispute {dispute_id} is already closed.")
        dispute.status = "won" if won else "lost"
        self._around.emit(self.id, "charge.dispute.closed", dispute.as_stripe())
        return dispute.as_stripe()

    # ---- lookups -------------------------------------------------------------------------------------------
    def _customer(self, customer_id: str, param: str) -> SandboxCustomer:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id, param)
        return customer

    def _intent(self, intent_id: str, param: str = "intent") -> SandboxPaymentIntent:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id, param)
        return intent

    def _claim(self, payment_method_id: str) -> SandboxPaymentMethod:
        return self._vault.claim(self.id, payment_method_id)

    def _method_of(self, intent: SandboxPaymentIntent) -> SandboxPaymentMethod:
        method = self._vault.of_account(self.id, intent.payment_method or "")
        if method is None:
            raise unexpected_state(f"This PaymentIntent ({intent.id}) has no payment method.")
        return method
