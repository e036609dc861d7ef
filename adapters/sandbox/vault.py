"""The sandbox's card vault: card forms become payment methods, as Stripe.js turns them into pm_ ids.

Tokenising happens before any account is known (Stripe.js only has a publishable key): a method belongs to the
first account that uses it. Only Stripe's test cards are accepted, so no real card number is ever held.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.sandbox.cards import TEST_CARDS, TEST_PAYMENT_METHODS, TestCard, passes_luhn
from adapters.sandbox.errors import no_such
from adapters.sandbox.records import SandboxPaymentMethod
from adapters.sandbox.rules import card_error


class PaymentMethodVault:
    def __init__(self, *, new_id: Callable[[str], str], now: Callable[[], datetime]) -> None:
        self._new_id = new_id
        self._now = now
        self._methods: dict[str, SandboxPaymentMethod] = {}

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str | None = None) -> str:
        """The card form's checks, as Stripe.js and Stripe make them, then a new payment method id."""
        digits = number.replace(" ", "").replace("-", "")
        if not passes_luhn(digits):
            raise card_error("Your card number is incorrect.", "incorrect_number", param="number")
        card = TEST_CARDS.get(digits)
        if card is None:
            raise card_error(
                "Your card was declined. Your request was in test mode, but used a non test (live) card. "
                "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
                "card_declined", decline_code="test_mode_live_card", param="number",
            )
        if not 1 <= exp_month <= 12:
            raise card_error("Your card's expiration month is invalid.", "invalid_expiry_month", param="exp_month")
        year = exp_year + 2000 if exp_year < 100 else exp_year
        today = self._now()
        if (year, exp_month) < (today.year, today.month) or year > today.year + 50:
            raise card_error("Your card's expiration year is invalid.", "invalid_expiry_year", param="exp_year")
        if cvc is not None and not (cvc.isdigit() and len(cvc) == (4 if card.brand == "amex" else 3)):
            raise card_error("Your card's security code is invalid.", "invalid_cvc", param="cvc")
        return self._store(card, exp_month, year).id

    def claim(self, account_id: str, payment_method_id: str) -> SandboxPaymentMethod:
        """The account's method (or one nobody has used yet), or a new one for a Stripe test id (pm_card_visa)."""
        number = TEST_PAYMENT_METHODS.get(payment_method_id)
        if number is not None:
            method = self._store(TEST_CARDS[number], 12, self._now().year + 1)
        else:
            found = self._methods.get(payment_method_id)
            if found is None or found.account_id not in (None, account_id):
                raise no_such("PaymentMethod", payment_method_id, "payment_method")
            method = found
        method.account_id = account_id
        return method

    def of_account(self, account_id: str, payment_method_id: str) -> SandboxPaymentMethod | None:
        """A method the account has used, without creating one for a test id."""
        method = self._methods.get(payment_method_id)
        return method if method is not None and method.account_id == account_id else None

    def _store(self, card: TestCard, exp_month: int, exp_year: int) -> SandboxPaymentMethod:
        method = SandboxPaymentMethod(self._new_id("pm"), card, exp_month, exp_year, int(self._now().timestamp()))
        self._methods[method.id] = method
        return method
