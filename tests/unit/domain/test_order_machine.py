"""Order as a state machine: its status follows the money that reached it, checked against a model."""

from __future__ import annotations

import copy

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import IllegalTransition
from domain.order import Order, OrderStatus
from hexpay_testing.strategies import EPOCH, orders

O = OrderStatus  # noqa: E741


def expected_after_refunds(refunded: int, collected: int) -> OrderStatus:
    if refunded <= 0:
        return O.PAID
    return O.REFUNDED if refunded >= collected else O.PARTIALLY_REFUNDED


class OrderMachine(RuleBasedStateMachine):
    order: Order

    @initialize(order=orders())
    def place(self, order: Order) -> None:
        self.order = order
        self.total = order.total
        self.lines = order.lines
        self.was_paid = False
        self.canceled = False

    def _refused(self, call: object) -> None:
        before = copy.deepcopy(self.order)
        events = len(self.order.events)
        with pytest.raises(IllegalTransition):
            call()  # type: ignore[operator]
        assert self.order == before and len(self.order.events) == events

    @rule(payment=st.sampled_from(("pay_a", "pay_b")))
    def mark_paid(self, payment: str) -> None:
        if self.order.status is not O.PENDING_PAYMENT:
            self._refused(lambda: self.order.mark_paid(payment, EPOCH))
            return
        self.order.mark_paid(payment, EPOCH)
        assert (self.order.status, self.order.payment_id) == (O.PAID, payment)
        self.was_paid = True

    @rule()
    def cancel(self) -> None:
        if self.order.status is not O.PENDING_PAYMENT:
            self._refused(lambda: self.order.cancel(EPOCH))
            return
        self.order.cancel(EPOCH)
        assert self.order.status is O.CANCELED
        self.canceled = True

    @rule(data=st.data(), partial_capture=st.booleans())
    def record_refunded_amount(self, data: st.DataObject, partial_capture: bool) -> None:
        collected = data.draw(st.integers(1, self.total.amount), label="collected") if partial_capture else None
        refunded = data.draw(st.integers(0, collected or self.total.amount), label="refunded")
        before = copy.deepcopy(self.order)
        events = len(self.order.events)
        self.order.record_refunded_amount(refunded, EPOCH, amount_paid=collected)
        if before.status in (O.PENDING_PAYMENT, O.CANCELED):
            assert self.order == before and len(self.order.events) == events  # nothing was paid to refund
        elif refunded == before.amount_refunded:
            assert self.order == before and len(self.order.events) == events  # a repeat changes nothing
        else:
            assert self.order.amount_refunded == refunded
            assert self.order.status is expected_after_refunds(refunded, collected or self.total.amount)
            assert len(self.order.events) == events + 1

    @invariant()
    def money_and_lines_never_change(self) -> None:
        assert self.order.total == self.total and self.order.currency == self.total.currency
        assert self.order.lines == self.lines

    @invariant()
    def status_follows_the_money(self) -> None:
        o = self.order
        if self.canceled:
            assert o.status is O.CANCELED and o.payment_id is None
        if not self.was_paid:
            assert o.status in (O.PENDING_PAYMENT, O.CANCELED) and o.amount_refunded == 0
        else:
            assert o.status in (O.PAID, O.PARTIALLY_REFUNDED, O.REFUNDED) and o.payment_id is not None
        assert 0 <= o.amount_refunded <= self.total.amount
        assert (o.amount_refunded == 0) <= (o.status in (O.PENDING_PAYMENT, O.PAID, O.CANCELED))
        assert o.version == 0


TestOrderMachine = OrderMachine.TestCase
# Runs of 25 steps reach every state and back (the longest path is a handful of moves); the profile's
# example count still applies, and the suite stays within its time budget on a small CI machine.
TestOrderMachine.settings = settings(stateful_step_count=25)
