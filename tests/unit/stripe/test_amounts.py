from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.stripe_wire.amounts import (
    MAXIMUM_AMOUNT,
    MINIMUM_CHARGE,
    THREE_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    validate_amount,
)
from domain.errors import AmountNotAllowed
from domain.money import Money, currency_exponent


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(50, "usd"), (50, "eur"), (30, "gbp"), (50, "jpy"), (99_999_999, "usd"), (1000, "kwd"), (500, "bhd"),
     (17_500, "huf"), (1500, "czk"), (100, "krw")],
)
def test_amounts_stripe_accepts_pass(amount: int, currency: str) -> None:
    validate_amount(Money(amount, currency))


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        (49, "usd", "minimum"),
        (29, "gbp", "minimum"),
        (49, "jpy", "minimum"),
        (17_499, "huf", "minimum"),
        (1, "krw", "minimum"),  # not in Stripe's table: the documented 50-unit floor applies
        (100_000_000, "usd", "maximum"),
        (100_000_000, "jpy", "maximum"),
        (1005, "kwd", "multiple of 10"),
        (12_345, "tnd", "multiple of 10"),
        (10_000, "mga", "not supported"),  # ISO says 2 decimals, Stripe 0
        (1000, "isk", "not supported"),  # ISO says 0 decimals, Stripe's API 2
        (10_000, "clf", "not supported"),
    ],
)
def test_amounts_stripe_refuses_are_refused_with_the_reason(amount: int, currency: str, reason: str) -> None:
    with pytest.raises(AmountNotAllowed, match=reason):
        validate_amount(Money(amount, currency))


def test_the_currency_lists_agree_with_iso_where_hexpay_charges_them() -> None:
    for currency in ZERO_DECIMAL_CURRENCIES - {"mga"}:
        assert currency_exponent(currency) == 0, currency
    for currency in THREE_DECIMAL_CURRENCIES:
        assert currency_exponent(currency) == 3, currency


@given(currency=st.sampled_from(sorted(MINIMUM_CHARGE)), amount=st.integers(-10, 10**9))
def test_an_amount_passes_exactly_when_it_is_within_the_currency_bounds(currency: str, amount: int) -> None:
    allowed = MINIMUM_CHARGE[currency] <= amount <= MAXIMUM_AMOUNT
    if allowed:
        validate_amount(Money(amount, currency))
    else:
        with pytest.raises(AmountNotAllowed):
            validate_amount(Money(amount, currency))
