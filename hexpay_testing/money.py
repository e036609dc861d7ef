"""Strategies for currencies and Money: integer minor units of real ISO 4217 currencies, never floats."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from hypothesis import strategies as st

from domain.money import Money, is_known_currency

# Real ISO 4217 codes grouped by minor-unit exponent. Spelled out (not read from the domain's private tables) so
# that a drift between the two is caught by hexpay's own tests instead of silently followed.
ZERO_DECIMAL_CURRENCIES = ("jpy", "krw", "clp", "vnd", "isk", "ugx", "xaf", "xof", "pyg", "bif", "kmf", "rwf")
TWO_DECIMAL_CURRENCIES = ("usd", "eur", "gbp", "chf", "cad", "aud", "sek", "nok", "dkk", "pln", "brl", "inr", "sgd")
THREE_DECIMAL_CURRENCIES = ("bhd", "jod", "kwd", "omr", "tnd", "iqd", "lyd")
CURRENCIES_BY_EXPONENT: dict[int, tuple[str, ...]] = {
    0: ZERO_DECIMAL_CURRENCIES,
    2: TWO_DECIMAL_CURRENCIES,
    3: THREE_DECIMAL_CURRENCIES,
}

# Stripe's largest amount is eight digits of minor units; staying below it keeps generated amounts chargeable.
MAX_AMOUNT = 99_999_999


def currencies(exponents: Iterable[int] = (0, 2, 3)) -> st.SearchStrategy[str]:
    """Lowercase ISO 4217 codes whose minor unit has one of these exponents (0: jpy, 2: usd, 3: kwd)."""
    return _currencies(tuple(exponents))


@functools.cache
def _currencies(chosen: tuple[int, ...]) -> st.SearchStrategy[str]:
    unknown = [e for e in chosen if e not in CURRENCIES_BY_EXPONENT]
    if not chosen or unknown:
        raise ValueError(f"exponents must be drawn from {sorted(CURRENCIES_BY_EXPONENT)}, got {chosen}")
    # One strategy per exponent, so a rare exponent (three decimals) is drawn as often as the common one.
    return st.one_of(*(st.sampled_from(CURRENCIES_BY_EXPONENT[e]) for e in chosen))


def unknown_currencies() -> st.SearchStrategy[str]:
    """Codes the domain must refuse: made-up codes, upper case, padded, empty, too long."""
    made_up = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=3).filter(
        lambda code: not is_known_currency(code)
    )
    known = currencies()
    return st.one_of(
        made_up,
        known.map(str.upper),
        known.map(lambda code: f" {code}"),
        known.map(lambda code: code + "x"),
        st.just(""),
        st.text(max_size=6).filter(lambda code: not is_known_currency(code)),
    )


def money(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    min_amount: int = 0,
    max_amount: int = MAX_AMOUNT,
) -> st.SearchStrategy[Money]:
    """Money in one currency (a fixed code, a strategy of codes, or any of currencies())."""
    if min_amount > max_amount:
        raise ValueError("min_amount must not exceed max_amount")
    codes: st.SearchStrategy[str]
    if currency is None:
        codes = currencies()
    elif isinstance(currency, str):
        codes = st.just(currency)
    else:
        codes = currency
    return st.builds(Money, amount=st.integers(min_amount, max_amount), currency=codes)


def positive_money(currency: str | st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Money]:
    """An amount a payment can be opened for: at least one minor unit."""
    return money(currency, min_amount=1)
