"""Stripe's test cards and test payment-method ids, and what each one does in the sandbox.

The numbers and behaviours follow Stripe's testing page, so a flow written against the sandbox behaves the
same in Stripe's test mode: declines carry Stripe's code / decline_code / message, the cards that fail their
$0 check decline already when attached to a customer, 4000000000000341 attaches and declines only when charged.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass


@functools.lru_cache(maxsize=256)  # a handful of test card numbers, rendered in every intent and event
def _fingerprint(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Decline:
    code: str
    decline_code: str | None
    message: str


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
LOST_CARD = Decline("card_declined", "lost_card", "Your card was declined.")
STOLEN_CARD = Decline("card_declined", "stolen_card", "Your card was declined.")
EXPIRED_CARD = Decline("expired_card", "expired_card", "Your card has expired.")
INCORRECT_CVC = Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")
PROCESSING_ERROR = Decline(
    "processing_error", "processing_error", "An error occurred while processing your card. Try again in a little bit."
)


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    declines_at_attach: Decline | None = None
    declines_on_charge: Decline | None = None
    requires_3ds: bool = False
    refund_fails: bool = False  # the refund succeeds, then fails a moment later (refund.failed)
    disputed: bool = False  # the charge succeeds, then the shopper's bank opens a dispute

    __test__ = False  # not a pytest class, whatever its name

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        """Stable per card number, like Stripe's, without revealing it."""
        return _fingerprint(self.number)


_CARDS = [
    TestCard("4242424242424242", "visa"),
    TestCard("4000056655665556", "visa", funding="debit"),
    TestCard("5555555555554444", "mastercard"),
    TestCard("2223003122003222", "mastercard"),
    TestCard("5200828282828210", "mastercard", funding="debit"),
    TestCard("378282246310005", "amex"),
    TestCard("371449635398431", "amex"),
    TestCard("6011111111111117", "discover"),
    TestCard("3056930009020004", "diners"),
    TestCard("3566002020360505", "jcb"),
    TestCard("6200000000000005", "unionpay"),
    # 3-D Secure: authentication required on every payment.
    TestCard("4000002760003184", "visa", requires_3ds=True),
    TestCard("4000002500003155", "visa", requires_3ds=True),
    TestCard("4000000000003220", "visa", requires_3ds=True),
    # Declines: the $0 check at attach fails too, as at Stripe.
    TestCard("4000000000000002", "visa", declines_at_attach=GENERIC_DECLINE, declines_on_charge=GENERIC_DECLINE),
    TestCard("4000000000009995", "visa", declines_at_attach=INSUFFICIENT_FUNDS,
             declines_on_charge=INSUFFICIENT_FUNDS),
    TestCard("4000000000009987", "visa", declines_at_attach=LOST_CARD, declines_on_charge=LOST_CARD),
    TestCard("4000000000009979", "visa", declines_at_attach=STOLEN_CARD, declines_on_charge=STOLEN_CARD),
    TestCard("4000000000000069", "visa", declines_at_attach=EXPIRED_CARD, declines_on_charge=EXPIRED_CARD),
    TestCard("4000000000000127", "visa", declines_at_attach=INCORRECT_CVC, declines_on_charge=INCORRECT_CVC),
    TestCard("4000000000000119", "visa", declines_at_attach=PROCESSING_ERROR, declines_on_charge=PROCESSING_ERROR),
    TestCard("4000000000000341", "visa", declines_on_charge=GENERIC_DECLINE),
    # After the payment.
    TestCard("4000000000005126", "visa", refund_fails=True),
    TestCard("4000000000000259", "visa", disputed=True),
]

TEST_CARDS: dict[str, TestCard] = {card.number: card for card in _CARDS}

# Stripe's test PaymentMethod ids: each use creates a new PaymentMethod with this card.
TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_diners": "3056930009020004",
    "pm_card_jcb": "3566002020360505",
    "pm_card_unionpay": "6200000000000005",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003220",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_refundFail": "4000000000005126",
    "pm_card_createDispute": "4000000000000259",
}


def passes_luhn(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
