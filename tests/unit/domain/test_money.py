"""Money: minor units <-> decimal strings per ISO 4217 exponent, arithmetic within one currency, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, InvalidMoney, UnknownCurrency
from domain.money import Money, currency_exponent
from hexpay_testing.strategies import CURRENCIES_BY_EXPONENT, currencies, money, unknown_currencies

amounts = st.integers(-(10**12), 10**12)


@pytest.mark.parametrize(("exponent", "codes"), sorted(CURRENCIES_BY_EXPONENT.items()))
def test_published_currency_groups_agree_with_the_domain(exponent: int, codes: tuple[str, ...]) -> None:
    assert {currency_exponent(code) for code in codes} == {exponent}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1234, "usd", "12.34"), (5, "usd", "0.05"), (-5, "usd", "-0.05"), (0, "usd", "0.00"), (1234, "jpy", "1234"),
     (1234, "kwd", "1.234"), (7, "bhd", "0.007"), (-1000, "jod", "-1.000")],
)
def test_known_values_render(amount: int, currency: str, text: str) -> None:
    assert Money(amount, currency).to_decimal_string() == text
    assert Money.from_decimal_string(text, currency) == Money(amount, currency)


@given(currency=currencies(), amount=amounts)
def test_minor_units_round_trip_through_decimal_strings(currency: str, amount: int) -> None:
    text = Money(amount, currency).to_decimal_string()
    exponent = currency_exponent(currency)
    assert ("." in text) == (exponent > 0)
    if exponent:
        assert len(text.split(".")[1]) == exponent
    assert Decimal(text) == Decimal(amount).scaleb(-exponent)
    assert Money.from_decimal_string(text, currency) == Money(amount, currency)


@given(currency=currencies(), amount=amounts, extra_zeros=st.integers(0, 4))
def test_trailing_zeros_parse_to_the_same_amount(currency: str, amount: int, extra_zeros: int) -> None:
    text = Money(amount, currency).to_decimal_string()
    padded = text + ("" if "." in text or not extra_zeros else ".") + "0" * extra_zeros
    assert Money.from_decimal_string(padded, currency) == Money(amount, currency)


@given(currency=currencies(), amount=amounts, digit=st.integers(1, 9))
def test_more_decimals_than_the_currency_has_are_refused(currency: str, amount: int, digit: int) -> None:
    text = Money(amount, currency).to_decimal_string()
    too_precise = f"{text}{digit}" if "." in text else f"{text}.{digit}"
    with pytest.raises(InvalidMoney):
        Money.from_decimal_string(too_precise, currency)


@pytest.mark.parametrize("text", ["", "abc", "1,00", "NaN", "Infinity", "-inf", "1e", "12.3.4"])
def test_text_that_is_not_a_finite_decimal_is_refused(text: str) -> None:
    with pytest.raises(InvalidMoney):
        Money.from_decimal_string(text, "usd")


@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.decimals() | st.booleans() | st.text(max_size=3),
       currency=currencies())
def test_an_amount_that_is_not_an_int_is_refused(value: object, currency: str) -> None:
    with pytest.raises(InvalidMoney):
        Money(value, currency)  # type: ignore[arg-type]


@given(amount=money(), factor=st.floats(allow_nan=False) | st.decimals(allow_nan=False) | st.booleans())
def test_multiplying_by_anything_but_an_int_is_refused(amount: Money, factor: object) -> None:
    with pytest.raises(InvalidMoney):
        amount * factor  # type: ignore[operator]


@given(code=unknown_currencies(), amount=amounts)
def test_unknown_currencies_are_refused(code: str, amount: int) -> None:
    with pytest.raises(UnknownCurrency):
        Money(amount, code)
    with pytest.raises(UnknownCurrency):
        Money.from_decimal_string("1", code)
    with pytest.raises(UnknownCurrency):
        currency_exponent(code)


@given(data=st.data(), currency=currencies())
def test_arithmetic_within_one_currency_is_integer_arithmetic(data: st.DataObject, currency: str) -> None:
    a = data.draw(money(currency))
    b = data.draw(money(currency))
    factor = data.draw(st.integers(-1000, 1000))
    assert (a + b).amount == a.amount + b.amount
    assert (a - b).amount == a.amount - b.amount
    assert (a * factor).amount == a.amount * factor
    for result in (a + b, a - b, a * factor):
        assert result.currency == currency
        assert type(result.amount) is int
    assert (a < b) == (a.amount < b.amount)
    assert (a <= b) == (a.amount <= b.amount)
    assert (a > b) == (a.amount > b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert (a == b) == (a.amount == b.amount)


@given(data=st.data(), pair=st.lists(currencies(), min_size=2, max_size=2, unique=True))
def test_arithmetic_and_ordering_across_currencies_raise(data: st.DataObject, pair: list[str]) -> None:
    a, b = data.draw(money(pair[0])), data.draw(money(pair[1]))
    for combine in (lambda: a + b, lambda: a - b, lambda: a < b, lambda: a <= b, lambda: a > b, lambda: a >= b):
        with pytest.raises(CurrencyMismatch):
            combine()
    assert a != b  # equality is defined (different currencies are simply different amounts)


def test_money_is_immutable_and_hashable() -> None:
    amount = Money(100, "eur")
    with pytest.raises(AttributeError):
        amount.amount = 5  # type: ignore[misc]
    assert len({amount, Money(100, "eur"), Money(100, "usd")}) == 2
