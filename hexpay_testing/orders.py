"""Strategies and builders for what a payment settles against: orders, their open invoice, the payment itself."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from hypothesis import strategies as st

from domain.invoice import Invoice, invoice_number
from domain.money import Money
from domain.order import Order, OrderLine
from domain.payment import CaptureMethod, Payment
from hexpay_testing.money import MAX_AMOUNT, currencies

# A fixed, timezone-aware instant: generated data must not depend on the wall clock of the machine running it.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_MAX_UNIT_AMOUNT = 2_000_000
_MAX_QUANTITY = 5
# (lines + one possibly appended paid line) x quantity x unit amount must stay within Stripe's eight digits.
_MAX_LINES = MAX_AMOUNT // (_MAX_QUANTITY * _MAX_UNIT_AMOUNT) - 1


@functools.cache
def ids(prefix: str) -> st.SearchStrategy[str]:
    """Identifiers in Stripe's and hexpay's style: a type prefix and a random tail (ord_..., pi_..., re_...)."""
    # One integer rather than a string of characters: far cheaper to draw, and it still shrinks (to ..._0000...).
    return st.integers(0, 2**64 - 1).map(lambda n: f"{prefix}_{_base36(n):0>14}")


def _base36(n: int) -> str:
    digits = ""
    while True:
        n, digit = divmod(n, 36)
        digits = _ID_ALPHABET[digit] + digits
        if n == 0:
            return digits


_DESCRIPTIONS = st.builds(
    lambda first, rest: (first + rest).rstrip(),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789äéøßЖ中"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -,.'éü", max_size=39),
)


@functools.cache
def order_lines(
    currency: str, *, max_unit_amount: int = _MAX_UNIT_AMOUNT, max_quantity: int = _MAX_QUANTITY
) -> st.SearchStrategy[OrderLine]:
    return st.builds(
        OrderLine,
        description=_DESCRIPTIONS,
        quantity=st.integers(1, max_quantity),
        unit_amount=st.builds(Money, amount=st.integers(0, max_unit_amount), currency=st.just(currency)),
    )


@functools.cache
def _line_lists(currency: str, max_lines: int) -> st.SearchStrategy[list[OrderLine]]:
    return st.lists(order_lines(currency), min_size=1, max_size=max_lines)


@functools.cache
def _paid_lines(currency: str) -> st.SearchStrategy[OrderLine]:
    return order_lines(currency).filter(lambda line: line.amount.is_positive)


@st.composite
def orders(
    draw: st.DrawFn,
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    max_lines: int = 4,
    now: datetime = EPOCH,
) -> Order:
    """A freshly placed order (pending_payment) whose total is positive and chargeable (at most 8 digits)."""
    if not 1 <= max_lines <= _MAX_LINES:
        raise ValueError(f"max_lines must be 1-{_MAX_LINES} so that a total stays within {MAX_AMOUNT}")
    if currency is None:
        code = draw(currencies())
    elif isinstance(currency, str):
        code = currency
    else:
        code = draw(currency)
    lines = draw(_line_lists(code, max_lines))
    # A free line alongside a paid one is real (a gift); an order of only free lines cannot be placed.
    if sum(line.amount.amount for line in lines) <= 0:
        lines.append(draw(_paid_lines(code)))
    return Order.place(
        id=draw(ids("ord")),
        customer_id=draw(ids("cus")),
        customer_reference=draw(ids("user")),
        currency=code,
        lines=tuple(lines),
        metadata={},
        now=now,
    )


def open_invoice_for(order: Order, *, sequence: int = 1, now: datetime = EPOCH) -> Invoice:
    """The order's invoice, finalized (open) as the create-order use case leaves it."""
    invoice = Invoice.draft(
        id=f"inv_{order.id}",
        order_id=order.id,
        number=invoice_number(now.year, sequence),
        amount_due=order.total,
        now=now,
    )
    invoice.finalize(now)
    return invoice


def payment_for(order: Order, capture_method: CaptureMethod, *, now: datetime = EPOCH) -> Payment:
    """A payment freshly opened for the order's whole total, not yet linked to a gateway intent."""
    return Payment.open(
        id=f"pay_{order.id}",
        order_id=order.id,
        customer_id=order.customer_id,
        gateway_account_id="gwa_test",
        amount=order.total,
        capture_method=capture_method,
        now=now,
    )
