"""Stripe's amount rules, checked before any call so the shopper gets a clear error instead of a gateway 400.

Sources: Stripe's "Supported currencies" guide (zero-decimal list, three-decimal rule, minimum charge amounts,
"amount supports up to eight digits"). hexpay's Money uses ISO 4217 minor units; a currency whose ISO exponent
differs from the decimals Stripe's API expects (mga: ISO 2, Stripe 0; isk: ISO 0, Stripe two-decimal "00") would
need converting both ways, which hexpay does not do, so such amounts are refused rather than charged 100x off.
"""

from __future__ import annotations

from domain.errors import AmountNotAllowed
from domain.money import Money, currency_exponent

ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
# Stripe takes these in three decimals but the acquirers round to two: the last digit must be 0.
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())
# Zero-decimal at Stripe, but its API still takes two decimals with "00" for backwards compatibility.
_TWO_DECIMAL_FOR_COMPATIBILITY = frozenset({"isk"})

# Stripe's published minimum charge amounts, in minor units of the charge currency.
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}
# For other currencies Stripe's rule is "converts to at least 0.50 USD", which needs an exchange rate: hexpay
# applies this floor only and leaves the exact check to Stripe, whose refusal comes back as InvalidGatewayRequest.
DEFAULT_MINIMUM_CHARGE = 50
MAXIMUM_AMOUNT = 99_999_999  # eight digits


def stripe_decimals(currency: str) -> int:
    """How many decimals Stripe's API expects in `amount` for this currency."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2  # includes _TWO_DECIMAL_FOR_COMPATIBILITY


def minimum_charge(currency: str) -> int:
    return MINIMUM_CHARGE.get(currency, DEFAULT_MINIMUM_CHARGE)


def validate_amount(money: Money) -> None:
    """Raise AmountNotAllowed for an amount Stripe would refuse to charge."""
    currency, amount = money.currency, money.amount
    if currency_exponent(currency) != stripe_decimals(currency):
        raise AmountNotAllowed(
            f"{currency} amounts are not supported by the Stripe gateway: Stripe counts its minor unit differently"
        )
    if amount > MAXIMUM_AMOUNT:
        raise AmountNotAllowed(f"{money} exceeds Stripe's maximum of {Money(MAXIMUM_AMOUNT, currency)}")
    minimum = minimum_charge(currency)
    if amount < minimum:
        raise AmountNotAllowed(f"{money} is below Stripe's minimum charge of {Money(minimum, currency)}")
    if currency in THREE_DECIMAL_CURRENCIES and amount % 10:
        raise AmountNotAllowed(f"{currency} amounts must be a multiple of 10 minor units at Stripe (got {amount})")
