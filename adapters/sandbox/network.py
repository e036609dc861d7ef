"""SandboxNetwork: Stripe's test mode in process, for every sandbox gateway account of the process.

It speaks Stripe's API in Stripe's JSON shape (dicts) and raises Stripe-shaped errors (SandboxApiError), so that
SandboxPaymentGateway is a client of it exactly as StripePaymentGateway is a client of Stripe, and both share
adapters.stripe_wire for everything on the wire. One instance holds all state: several gateway objects for one
account see the same customers, intents and idempotency keys. Each account has its own objects, keys and
webhook outbox; payment methods are tokenised before any account is known (as Stripe.js does with a publishable
key) and belong to the first account that uses them.

Every method is synchronous and never awaits, so each call is atomic on the event loop. What Stripe does "a
moment later" (a refund that fails after succeeding, a dispute opened after a charge) is queued: run_deferred()
performs it at once (tests), and with an event loop running it also happens by itself after `later_after` seconds.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.sandbox.cards import TEST_CARDS, TEST_PAYMENT_METHODS, TestCard, passes_luhn
from adapters.sandbox.errors import SandboxApiError, invalid_request, no_such, unexpected_state
from adapters.sandbox.idempotency import IdempotencyCache
from adapters.sandbox.records import (
    SandboxCharge,
    SandboxCustomer,
    SandboxDispute,
    SandboxPaymentIntent,
    SandboxPaymentMethod,
    SandboxRefund,
)
from adapters.sandbox.webhooks import SignedWebhook, WebhookOutbox, WebhookSender
from adapters.stripe_wire.amounts import MAXIMUM_AMOUNT, minimum_charge, validate_amount
from domain.errors import AmountNotAllowed, InvalidMoney, UnknownCurrency
from domain.money import Money

ApiObject = dict[str, Any]

# The API version the events claim: the one stripe-python 16.1 pins, which the Stripe adapter speaks.
API_VERSION = "2026-10-28.endive"

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
CANCELLATION_REASONS = (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = (None, "duplicate", "fraudulent", "requested_by_customer")
REFUND_FAILURE_REASON = "expired_or_canceled_card"
AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)
_ID_ALPHABET = string.ascii_letters + string.digits


def random_stripe_id(prefix: str) -> str:
    """An id shaped like Stripe's (pi_3Q...), random so ids never repeat across restarts of the process."""
    return f"{prefix}_{''.join(secrets.choice(_ID_ALPHABET) for _ in range(24))}"


@dataclass(slots=True)
class _Account:
    id: str
    webhook_secret: str = field(repr=False)
    customers: dict[str, SandboxCustomer] = field(default_factory=dict)
    intents: dict[str, SandboxPaymentIntent] = field(default_factory=dict)
    refunds: dict[str, SandboxRefund] = field(default_factory=dict)
    disputes: dict[str, SandboxDispute] = field(default_factory=dict)
    idempotency: IdempotencyCache = field(default_factory=IdempotencyCache)


@dataclass(slots=True)
class _Deferred:
    happen: Callable[[], None]
    done: bool = False


class SandboxNetwork:
    def __init__(
        self,
        *,
        public_base_url: str = "http://127.0.0.1:8000",
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[str], str] | None = None,
        deliver: WebhookSender | None = None,
        later_after: float | None = 2.0,
        delivery_retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self._now = now or (lambda: datetime.now(UTC))
        self._new_id = new_id or random_stripe_id
        self._later_after = later_after
        self._accounts: dict[str, _Account] = {}
        self._payment_methods: dict[str, SandboxPaymentMethod] = {}
        self._intent_accounts: dict[str, str] = {}  # the 3-D Secure page knows the intent, not the account
        self._dispute_accounts: dict[str, str] = {}
        self._deferred: list[_Deferred] = []
        self.webhooks = WebhookOutbox(
            secret_of=lambda account_id: self._accounts[account_id].webhook_secret,
            now=self.unix_now,
            deliver=deliver,
            retry_delays=delivery_retry_delays,
        )

    def __repr__(self) -> str:
        return f"SandboxNetwork(public_base_url={self.public_base_url!r}, accounts={len(self._accounts)})"

    # ---- the process around the API ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now()

    def unix_now(self) -> int:
        return int(self._now().timestamp())

    def register_account(self, account_id: str, webhook_secret: str) -> None:
        """Open the account, or take its current webhook secret (later events are signed with it)."""
        account = self._accounts.get(account_id)
        if account is None:
            self._accounts[account_id] = _Account(account_id, webhook_secret)
        else:
            account.webhook_secret = webhook_secret

    def set_webhook_sender(self, deliver: WebhookSender | None) -> None:
        """deliver(account_id, body, headers) POSTs a signed event to the account's callback path."""
        self.webhooks.set_sender(deliver)

    def drain_webhooks(self, account_id: str) -> list[SignedWebhook]:
        """The account's events since the last drain, oldest first, each (body, headers) signed now."""
        return self.webhooks.drain(account_id)

    async def wait_for_deliveries(self) -> None:
        await self.webhooks.wait_for_deliveries()

    def run_deferred(self) -> int:
        """Perform now what Stripe would do a moment later (refund.failed, charge.dispute.created); how many."""
        performed = 0
        while self._deferred:
            item = self._deferred.pop(0)
            if not item.done:
                item.done = True
                item.happen()
                performed += 1
        return performed

    # ---- the shopper's side: Stripe.js and the bank's 3-D Secure page -----------------------------------------
    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str | None = None) -> str:
        """A card form becomes a payment method id (POST /sandbox/v1/payment_methods). Only Stripe's test cards."""
        digits = number.replace(" ", "").replace("-", "")
        if not passes_luhn(digits):
            raise _card_error("Your card number is incorrect.", "incorrect_number", param="number")
        card = TEST_CARDS.get(digits)
        if card is None:
            raise _card_error(
                "Your card was declined. Your request was in test mode, but used a non test (live) card. "
                "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
                "card_declined", decline_code="test_mode_live_card", param="number",
            )
        if not 1 <= exp_month <= 12:
            raise _card_error("Your card's expiration month is invalid.", "invalid_expiry_month", param="exp_month")
        year = exp_year + 2000 if exp_year < 100 else exp_year
        today = self._now()
        if (year, exp_month) < (today.year, today.month) or year > today.year + 50:
            raise _card_error("Your card's expiration year is invalid.", "invalid_expiry_year", param="exp_year")
        if cvc is not None and not (cvc.isdigit() and len(cvc) == (4 if card.brand == "amex" else 3)):
            raise _card_error("Your card's security code is invalid.", "invalid_cvc", param="cvc")
        return self._new_payment_method(card, exp_month, year).id

    def challenge(self, intent_id: str) -> ApiObject:
        """What the 3-D Secure page shows: the intent's amount and card, without its client_secret."""
        _, intent = self._intent_anywhere(intent_id)
        method = self._payment_methods.get(intent.payment_method or "")
        return {
            "id": intent.id,
            "amount": intent.amount,
            "currency": intent.currency,
            "status": intent.status,
            "card": {"brand": method.card.brand, "last4": method.card.last4} if method else None,
            "return_url": intent.return_url,
        }

    def authenticate(self, intent_id: str, success: bool) -> ApiObject:
        """The shopper completes (or fails) 3-D Secure for an intent in requires_action."""
        account, intent = self._intent_anywhere(intent_id)
        if intent.status != "requires_action" or intent.payment_method is None:
            raise unexpected_state(
                f"This PaymentIntent's status is {intent.status}; only one in requires_action can be authenticated."
            )
        method = self._payment_methods[intent.payment_method]
        intent.next_action = None
        if success:
            try:
                self._charge(account, intent, method, ())
            except SandboxApiError as decline:  # declined after authenticating: the intent itself reports it
                if decline.type != "card_error":
                    raise
        else:
            intent.status = "requires_payment_method"
            intent.payment_method = None
            intent.last_payment_error = {
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "message": AUTHENTICATION_FAILED,
                "payment_method": method.as_stripe(),
            }
            self._emit(account, "payment_intent.payment_failed", intent.as_stripe())
        return intent.as_stripe()

    def close_dispute(self, dispute_id: str, won: bool) -> ApiObject:
        """The bank's decision on a dispute (charge.dispute.closed)."""
        account = self._accounts.get(self._dispute_accounts.get(dispute_id, ""))
        if account is None:
            raise no_such("dispute", dispute_id)
        dispute = account.disputes[dispute_id]
        if dispute.status in ("won", "lost"):
            raise invalid_request(f"Dispute {dispute_id} is already closed.")
        dispute.status = "won" if won else "lost"
        self._emit(account, "charge.dispute.closed", dispute.as_stripe())
        return dispute.as_stripe()

    # ---- customers and payment methods ---------------------------------------------------------------------
    def create_customer(
        self,
        account_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ApiObject:
        account = self._account(account_id)
        params = {"email": email, "name": name, "description": description, "metadata": metadata or {}}

        def perform() -> ApiObject:
            customer = SandboxCustomer(self._new_id("cus"), self.unix_now(), email, name, description,
                                       dict(metadata or {}))
            account.customers[customer.id] = customer
            self._emit(account, "customer.created", customer.as_stripe())
            return customer.as_stripe()

        return account.idempotency.run(idempotency_key, "POST /v1/customers", params, self.unix_now(), perform)

    def retrieve_customer(self, account_id: str, customer_id: str) -> ApiObject:
        return self._customer(self._account(account_id), customer_id, "id").as_stripe()

    def set_default_payment_method(
        self, account_id: str, customer_id: str, payment_method_id: str | None, *, idempotency_key: str | None = None
    ) -> ApiObject:
        """POST /v1/customers/{id} with invoice_settings[default_payment_method]."""
        account = self._account(account_id)
        params = {"customer": customer_id, "default_payment_method": payment_method_id}

        def perform() -> ApiObject:
            customer = self._customer(account, customer_id, "id")
            if payment_method_id is not None:
                method = self._payment_methods.get(payment_method_id)
                if method is None or method.customer != customer.id:
                    raise invalid_request(
                        f"No such PaymentMethod: '{payment_method_id}'; it must be attached to customer "
                        f"{customer.id} to become its default.",
                        code="resource_missing", param="invoice_settings[default_payment_method]",
                    )
            customer.default_payment_method = payment_method_id
            self._emit(account, "customer.updated", customer.as_stripe())
            return customer.as_stripe()

        return account.idempotency.run(idempotency_key, f"POST /v1/customers/{customer_id}", params,
                                       self.unix_now(), perform)

    def attach_payment_method(
        self, account_id: str, payment_method_id: str, *, customer: str, idempotency_key: str | None = None
    ) -> ApiObject:
        """Attaching runs the card's $0 check: a card that fails it is declined here, as at Stripe. Attaching a
        method again to its own customer answers the method; to another customer is an error."""
        account = self._account(account_id)

        def perform() -> ApiObject:
            owner = self._customer(account, customer, "customer")
            method = self._payment_method(account, payment_method_id)
            if method.customer == owner.id:
                return method.as_stripe()
            if method.customer is not None:
                raise invalid_request("The payment method you provided has already been attached to a customer.",
                                      code="payment_method_unexpected_state")
            if method.detached or method.used_by_intent is not None:
                raise _used_up(method.id)
            decline = method.card.declines_at_attach
            if decline is not None:
                raise _card_error(decline.message, decline.code, decline_code=decline.decline_code)
            method.customer = owner.id
            self._emit(account, "payment_method.attached", method.as_stripe())
            return method.as_stripe()

        return account.idempotency.run(idempotency_key, f"POST /v1/payment_methods/{payment_method_id}/attach",
                                       {"customer": customer}, self.unix_now(), perform)

    def detach_payment_method(
        self, account_id: str, payment_method_id: str, *, idempotency_key: str | None = None
    ) -> ApiObject:
        account = self._account(account_id)

        def perform() -> ApiObject:
            method = self._payment_methods.get(payment_method_id)
            if method is None or method.account_id != account.id:
                raise no_such("PaymentMethod", payment_method_id)
            if method.customer is None:
                raise invalid_request(
                    "The payment method you provided is not attached to a customer so detachment is impossible.",
                    code="payment_method_unexpected_state",
                )
            owner = account.customers[method.customer]
            method.customer, method.detached = None, True
            if owner.default_payment_method == method.id:
                owner.default_payment_method = None
                self._emit(account, "customer.updated", owner.as_stripe())
            self._emit(account, "payment_method.detached", method.as_stripe())
            return method.as_stripe()

        return account.idempotency.run(idempotency_key, f"POST /v1/payment_methods/{payment_method_id}/detach",
                                       {}, self.unix_now(), perform)

    # ---- payment intents -----------------------------------------------------------------------------------
    def create_payment_intent(
        self,
        account_id: str,
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
        account = self._account(account_id)
        params = {
            "amount": amount, "currency": currency, "capture_method": capture_method, "customer": customer,
            "payment_method": payment_method, "confirm": confirm, "return_url": return_url,
            "description": description, "metadata": metadata or {}, "setup_future_usage": setup_future_usage,
            "expand": list(expand),
        }

        def perform() -> ApiObject:
            lowered = currency.lower()
            _check_amount(amount, lowered)
            _check_expand(expand)
            if capture_method not in ("automatic", "automatic_async", "manual"):
                raise invalid_request(f"Invalid capture_method: {capture_method}", param="capture_method")
            if setup_future_usage not in (None, "on_session", "off_session"):
                raise invalid_request(f"Invalid setup_future_usage: {setup_future_usage}",
                                      param="setup_future_usage")
            owner = self._customer(account, customer, "customer") if customer is not None else None
            method = self._payment_method(account, payment_method) if payment_method is not None else None
            if confirm and method is None:
                raise unexpected_state("You cannot confirm this PaymentIntent because it's missing a payment method.")
            intent = SandboxPaymentIntent(
                id=self._new_id("pi"), account_id=account.id, amount=amount, currency=lowered,
                created=self.unix_now(), capture_method=capture_method, client_secret="",
                customer=owner.id if owner else None, description=description, metadata=dict(metadata or {}),
                setup_future_usage=setup_future_usage, return_url=return_url,
            )
            intent.client_secret = f"{intent.id}_secret_{''.join(secrets.choice(_ID_ALPHABET) for _ in range(25))}"
            if method is not None:
                _check_usable(method, intent)
                intent.payment_method, intent.status = method.id, "requires_confirmation"
            account.intents[intent.id] = intent
            self._intent_accounts[intent.id] = account.id
            self._emit(account, "payment_intent.created", intent.as_stripe())
            if confirm and method is not None:
                self._confirm(account, intent, method, expand)
            return _render(intent, expand)

        return account.idempotency.run(idempotency_key, "POST /v1/payment_intents", params, self.unix_now(),
                                       perform)

    def confirm_payment_intent(
        self,
        account_id: str,
        intent_id: str,
        *,
        payment_method: str | None = None,
        return_url: str | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """A decline raises a card_error carrying the intent, back in requires_payment_method."""
        account = self._account(account_id)
        params = {"payment_method": payment_method, "return_url": return_url, "expand": list(expand)}

        def perform() -> ApiObject:
            _check_expand(expand)
            intent = self._intent(account, intent_id)
            if intent.status not in CONFIRMABLE:
                raise unexpected_state(
                    f"You cannot confirm this PaymentIntent because it has a status of {intent.status}. Only a "
                    f"PaymentIntent with one of the following statuses may be confirmed: {', '.join(CONFIRMABLE)}."
                )
            if payment_method is not None:
                method = self._payment_method(account, payment_method)
            elif intent.payment_method is not None:
                method = self._payment_methods[intent.payment_method]
            else:
                raise unexpected_state("You cannot confirm this PaymentIntent because it's missing a payment method.")
            _check_usable(method, intent)
            if return_url is not None:
                intent.return_url = return_url
            self._confirm(account, intent, method, expand)
            return _render(intent, expand)

        return account.idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/confirm", params,
                                       self.unix_now(), perform)

    def capture_payment_intent(
        self,
        account_id: str,
        intent_id: str,
        *,
        amount_to_capture: int | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """Capture all or part of an authorisation; the rest is released and amount_received is what was taken."""
        account = self._account(account_id)
        params = {"amount_to_capture": amount_to_capture, "expand": list(expand)}

        def perform() -> ApiObject:
            _check_expand(expand)
            intent = self._intent(account, intent_id)
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
            self._emit(account, "charge.captured", charge.as_stripe())
            self._emit(account, "payment_intent.succeeded", intent.as_stripe())
            if charge.payment_method.card.disputed:
                self._defer(lambda: self._open_dispute(account, charge))
            return _render(intent, expand)

        return account.idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/capture", params,
                                       self.unix_now(), perform)

    def cancel_payment_intent(
        self,
        account_id: str,
        intent_id: str,
        *,
        cancellation_reason: str | None = None,
        expand: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ApiObject:
        account = self._account(account_id)
        params = {"cancellation_reason": cancellation_reason, "expand": list(expand)}

        def perform() -> ApiObject:
            _check_expand(expand)
            if cancellation_reason not in CANCELLATION_REASONS:
                raise invalid_request(f"Invalid cancellation_reason: {cancellation_reason}",
                                      param="cancellation_reason")
            intent = self._intent(account, intent_id)
            if intent.status not in CANCELABLE:
                raise unexpected_state(
                    f"You cannot cancel this PaymentIntent because it has a status of {intent.status}. Only a "
                    f"PaymentIntent with one of the following statuses may be canceled: {', '.join(CANCELABLE)}."
                )
            intent.status, intent.amount_capturable, intent.next_action = "canceled", 0, None
            intent.canceled_at, intent.cancellation_reason = self.unix_now(), cancellation_reason
            self._emit(account, "payment_intent.canceled", intent.as_stripe())
            return _render(intent, expand)

        return account.idempotency.run(idempotency_key, f"POST /v1/payment_intents/{intent_id}/cancel", params,
                                       self.unix_now(), perform)

    def retrieve_payment_intent(self, account_id: str, intent_id: str, *, expand: Sequence[str] = ()) -> ApiObject:
        _check_expand(expand)
        return _render(self._intent(self._account(account_id), intent_id, "id"), expand)

    def search_payment_intents(
        self, account_id: str, metadata: dict[str, str], *, expand: Sequence[str] = ()
    ) -> list[ApiObject]:
        """Stripe's search with `metadata['k']:'v'` clauses joined by AND; newest first."""
        _check_expand(expand)
        found = [
            intent for intent in self._account(account_id).intents.values()
            if all(intent.metadata.get(key) == value for key, value in metadata.items())
        ]
        return [_render(intent, expand) for intent in reversed(found)]  # kept in creation order

    # ---- refunds -------------------------------------------------------------------------------------------
    def create_refund(
        self,
        account_id: str,
        *,
        payment_intent: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ApiObject:
        """Never more than what is still refundable on the charge; the default is all of it."""
        account = self._account(account_id)
        params = {"payment_intent": payment_intent, "amount": amount, "reason": reason, "metadata": metadata or {}}

        def perform() -> ApiObject:
            intent = self._intent(account, payment_intent, "payment_intent")
            charge = intent.latest_charge
            if reason not in REFUND_REASONS:
                raise invalid_request(f"Invalid reason: {reason}", param="reason")
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
            refund = SandboxRefund(self._new_id("re"), chosen, intent.currency, charge.id, intent.id,
                                   self.unix_now(), reason, dict(metadata or {}))
            charge.refunds.insert(0, refund)  # Stripe lists the newest first
            charge.amount_refunded += chosen
            account.refunds[refund.id] = refund
            self._emit(account, "refund.created", refund.as_stripe())
            self._emit(account, "charge.refunded", charge.as_stripe())
            if charge.payment_method.card.refund_fails:
                self._defer(lambda: self._fail_refund(account, charge, refund))
            return refund.as_stripe()

        return account.idempotency.run(idempotency_key, "POST /v1/refunds", params, self.unix_now(), perform)

    def retrieve_refund(self, account_id: str, refund_id: str) -> ApiObject:
        refund = self._account(account_id).refunds.get(refund_id)
        if refund is None:
            raise no_such("refund", refund_id)
        return refund.as_stripe()

    def retrieve_dispute(self, account_id: str, dispute_id: str) -> ApiObject:
        dispute = self._account(account_id).disputes.get(dispute_id)
        if dispute is None:
            raise no_such("dispute", dispute_id)
        return dispute.as_stripe()

    # ---- what happens inside -------------------------------------------------------------------------------
    def _confirm(
        self, account: _Account, intent: SandboxPaymentIntent, method: SandboxPaymentMethod, expand: Sequence[str]
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
                "redirect_to_url": {"url": f"{self.public_base_url}/sandbox/3ds/{intent.id}",
                                    "return_url": intent.return_url},
            }
            self._emit(account, "payment_intent.requires_action", intent.as_stripe())
            return
        self._charge(account, intent, method, expand)

    def _charge(
        self, account: _Account, intent: SandboxPaymentIntent, method: SandboxPaymentMethod, expand: Sequence[str]
    ) -> None:
        charge = SandboxCharge(
            id=self._new_id("ch"), payment_intent=intent.id, amount=intent.amount, currency=intent.currency,
            created=self.unix_now(), payment_method=method, customer=intent.customer, metadata=dict(intent.metadata),
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
            self._emit(account, "charge.failed", charge.as_stripe())
            self._emit(account, "payment_intent.payment_failed", intent.as_stripe())
            raise _card_error(decline.message, decline.code, decline_code=decline.decline_code,
                              payment_intent=_render(intent, expand), payment_method=method.as_stripe())
        if intent.setup_future_usage and intent.customer and method.customer is None:
            # Saving the card for later is attaching it to the intent's customer once the payment went through.
            method.customer, method.used_by_intent = intent.customer, None
            self._emit(account, "payment_method.attached", method.as_stripe())
        if intent.capture_method == "manual":
            intent.status, intent.amount_capturable = "requires_capture", intent.amount
            self._emit(account, "charge.succeeded", charge.as_stripe())
            self._emit(account, "payment_intent.amount_capturable_updated", intent.as_stripe())
            return
        charge.captured, charge.amount_captured = True, intent.amount
        intent.status, intent.amount_received = "succeeded", intent.amount
        self._emit(account, "charge.succeeded", charge.as_stripe())
        self._emit(account, "payment_intent.succeeded", intent.as_stripe())
        if method.card.disputed:
            self._defer(lambda: self._open_dispute(account, charge))

    def _fail_refund(self, account: _Account, charge: SandboxCharge, refund: SandboxRefund) -> None:
        if refund.status != "succeeded":
            return
        refund.status, refund.failure_reason = "failed", REFUND_FAILURE_REASON
        charge.amount_refunded -= refund.amount  # the money came back to the merchant
        self._emit(account, "charge.refund.updated", refund.as_stripe())
        self._emit(account, "refund.failed", refund.as_stripe())

    def _open_dispute(self, account: _Account, charge: SandboxCharge) -> None:
        if charge.disputed:
            return
        dispute = SandboxDispute(self._new_id("dp"), charge.amount_captured, charge.currency, charge.id,
                                 charge.payment_intent, self.unix_now(), reason="fraudulent")
        charge.disputed = True
        account.disputes[dispute.id] = dispute
        self._dispute_accounts[dispute.id] = account.id
        self._emit(account, "charge.dispute.created", dispute.as_stripe())

    def _defer(self, happen: Callable[[], None]) -> None:
        item = _Deferred(happen)
        self._deferred.append(item)
        if self._later_after is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(self._later_after, self._run_one, item)

    def _run_one(self, item: _Deferred) -> None:
        if item.done:
            return
        item.done = True
        self._deferred.remove(item)
        item.happen()

    def _emit(self, account: _Account, event_type: str, obj: ApiObject) -> None:
        self.webhooks.publish(account.id, {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.unix_now(),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        })

    # ---- lookups -------------------------------------------------------------------------------------------
    def _account(self, account_id: str) -> _Account:
        account = self._accounts.get(account_id)
        if account is None:
            raise SandboxApiError(401, "authentication_error", "Invalid API Key provided: no such sandbox account.")
        return account

    def _customer(self, account: _Account, customer_id: str, param: str) -> SandboxCustomer:
        customer = account.customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id, param)
        return customer

    def _intent(self, account: _Account, intent_id: str, param: str = "intent") -> SandboxPaymentIntent:
        intent = account.intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id, param)
        return intent

    def _intent_anywhere(self, intent_id: str) -> tuple[_Account, SandboxPaymentIntent]:
        account = self._accounts.get(self._intent_accounts.get(intent_id, ""))
        if account is None:
            raise no_such("payment_intent", intent_id)
        return account, account.intents[intent_id]

    def _payment_method(self, account: _Account, payment_method_id: str) -> SandboxPaymentMethod:
        """A known method of this account (or not yet claimed), or a new one for a Stripe test id (pm_card_visa)."""
        number = TEST_PAYMENT_METHODS.get(payment_method_id)
        if number is not None:
            method = self._new_payment_method(TEST_CARDS[number], 12, self._now().year + 1)
        else:
            found = self._payment_methods.get(payment_method_id)
            if found is None or found.account_id not in (None, account.id):
                raise no_such("PaymentMethod", payment_method_id, "payment_method")
            method = found
        method.account_id = account.id
        return method

    def _new_payment_method(self, card: TestCard, exp_month: int, exp_year: int) -> SandboxPaymentMethod:
        method = SandboxPaymentMethod(self._new_id("pm"), card, exp_month, exp_year, self.unix_now())
        self._payment_methods[method.id] = method
        return method


def _card_error(
    message: str,
    code: str,
    *,
    decline_code: str | None = None,
    param: str | None = None,
    payment_intent: ApiObject | None = None,
    payment_method: ApiObject | None = None,
) -> SandboxApiError:
    return SandboxApiError(402, "card_error", message, code=code, decline_code=decline_code, param=param,
                           payment_intent=payment_intent, payment_method=payment_method)


def _used_up(payment_method_id: str) -> SandboxApiError:
    return invalid_request(
        f"The provided PaymentMethod {payment_method_id} was previously used with a PaymentIntent without Customer "
        "attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple "
        "times, you must attach it to a Customer first.",
        code="payment_method_unexpected_state", param="payment_method",
    )


def _check_usable(method: SandboxPaymentMethod, intent: SandboxPaymentIntent) -> None:
    if method.detached or method.used_by_intent not in (None, intent.id):
        raise _used_up(method.id)
    if method.customer is not None and method.customer != intent.customer:
        raise invalid_request(
            f"The provided PaymentMethod {method.id} belongs to a Customer other than the PaymentIntent's: provide "
            "the PaymentMethod's Customer on the PaymentIntent.",
            code="payment_method_unexpected_state", param="payment_method",
        )


def _check_amount(amount: int, currency: str) -> None:
    try:
        money = Money(amount, currency)
    except UnknownCurrency as exc:
        raise invalid_request(exc.message, code="invalid_currency", param="currency") from None
    except InvalidMoney as exc:
        raise invalid_request(exc.message, code="parameter_invalid_integer", param="amount") from None
    try:
        validate_amount(money)
    except AmountNotAllowed as exc:
        if amount > MAXIMUM_AMOUNT:
            code = "amount_too_large"
        elif amount < minimum_charge(currency):
            code = "amount_too_small"
        else:
            code = "invalid_amount"
        raise invalid_request(exc.message, code=code, param="amount") from None


def _check_expand(expand: Sequence[str]) -> None:
    for path in expand:
        if path != "latest_charge":
            raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")


def _render(intent: SandboxPaymentIntent, expand: Sequence[str]) -> ApiObject:
    return intent.as_stripe(expand_charge="latest_charge" in expand)
