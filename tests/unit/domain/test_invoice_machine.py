"""Invoice as a state machine: Stripe's invoice model, checked against a model written from DESIGN.md."""

from __future__ import annotations

import copy

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import IllegalTransition, ValidationFailed
from domain.events import InvoiceFinalized, InvoiceMarkedUncollectible, InvoicePaid, InvoiceVoided
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from hexpay_testing.strategies import EPOCH, currencies, positive_money

I = InvoiceStatus  # noqa: E741
# Written out again rather than imported: a model that reads the table under test would agree with any table.
MODEL = {
    "finalize": ({I.DRAFT}, I.OPEN, InvoiceFinalized),
    "pay": ({I.OPEN, I.UNCOLLECTIBLE}, I.PAID, InvoicePaid),
    "void": ({I.OPEN, I.UNCOLLECTIBLE}, I.VOID, InvoiceVoided),
    "mark_uncollectible": ({I.OPEN}, I.UNCOLLECTIBLE, InvoiceMarkedUncollectible),
}
FINAL = {I.PAID, I.VOID}


class InvoiceMachine(RuleBasedStateMachine):
    invoice: Invoice

    @initialize(amount_due=positive_money())
    def draft(self, amount_due: Money) -> None:
        self.invoice = Invoice.draft(id="inv_1", order_id="ord_1", number="INV-2026-000001", amount_due=amount_due,
                                     now=EPOCH)
        self.due = amount_due
        self.final: InvoiceStatus | None = None

    def _attempt(self, verb: str, call: object) -> None:
        allowed_from, target, event = MODEL[verb]
        before = copy.deepcopy(self.invoice)
        events = len(self.invoice.events)
        if self.invoice.status in allowed_from:
            call()  # type: ignore[operator]
            assert self.invoice.status is target
            assert len(self.invoice.events) == events + 1 and isinstance(self.invoice.events[-1], event)
        else:
            with pytest.raises(IllegalTransition):
                call()  # type: ignore[operator]
            assert self.invoice == before and len(self.invoice.events) == events

    @rule()
    def finalize(self) -> None:
        self._attempt("finalize", lambda: self.invoice.finalize(EPOCH))

    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        collected = data.draw(st.integers(1, self.due.amount), label="collected")  # partial capture pays less
        self._attempt("pay", lambda: self.invoice.pay(Money(collected, self.due.currency), EPOCH))
        if self.invoice.status is I.PAID and self.invoice.events and isinstance(self.invoice.events[-1], InvoicePaid):
            assert self.invoice.amount_paid == self.invoice.events[-1].amount_paid

    @rule(data=st.data())
    def pay_in_another_currency(self, data: st.DataObject) -> None:
        currency = data.draw(currencies().filter(lambda c: c != self.due.currency), label="currency")
        before = copy.deepcopy(self.invoice)
        with pytest.raises((ValidationFailed, IllegalTransition)):
            self.invoice.pay(Money(self.due.amount, currency), EPOCH)
        assert self.invoice == before

    @rule()
    def void(self) -> None:
        self._attempt("void", lambda: self.invoice.void(EPOCH))

    @rule()
    def mark_uncollectible(self) -> None:
        self._attempt("mark_uncollectible", lambda: self.invoice.mark_uncollectible(EPOCH))

    @invariant()
    def final_states_stay_final(self) -> None:
        if self.final is not None:
            assert self.invoice.status is self.final
        elif self.invoice.status in FINAL:
            self.final = self.invoice.status
        assert self.invoice.is_final == (self.invoice.status in FINAL)

    @invariant()
    def amounts_are_consistent(self) -> None:
        inv = self.invoice
        assert (inv.currency, inv.amount_due) == (self.due.currency, self.due.amount)
        assert inv.amount_remaining == inv.amount_due - inv.amount_paid
        assert (inv.amount_paid > 0) == (inv.status is I.PAID)
        assert 0 <= inv.amount_paid <= inv.amount_due
        assert inv.version == 0


TestInvoiceMachine = InvoiceMachine.TestCase
# Runs of 25 steps reach every state and back (the longest path is a handful of moves); the profile's
# example count still applies, and the suite stays within its time budget on a small CI machine.
TestInvoiceMachine.settings = settings(stateful_step_count=25)
