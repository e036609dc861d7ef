"""Payment as a state machine driven by arbitrary (not necessarily consistent) reports and verbs.

Where the settlement theorem feeds true histories, this machine feeds anything well-formed, in any order, and
checks what must hold whatever the gateway or a forger says: final states stay final, money never changes
currency or amount, amount_received never decreases, refunds hexpay requests never exceed what was received,
and a refused verb raises and leaves the payment exactly as it was.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import DomainError, IllegalTransition, RefundExceedsRefundable, Unprocessable
from domain.events import PaymentSucceeded
from domain.money import Money
from domain.outcome import SettlementOutcome
from domain.payment import CaptureMethod, Payment, PaymentStatus
from domain.refund import RefundStatus
from hexpay_testing.strategies import (
    EPOCH,
    currencies,
    payment_snapshots,
    positive_money,
    refund_snapshots,
)

NOW = EPOCH
_CONFIRMABLE = {PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.REQUIRES_CONFIRMATION,
                PaymentStatus.REQUIRES_ACTION}
_FINAL_REFUND = {RefundStatus.FAILED, RefundStatus.CANCELED}


def other_amounts(amount: int) -> st.SearchStrategy[int]:
    larger = st.integers(amount + 1, amount + 10**8)
    return st.one_of(st.integers(1, amount - 1), larger) if amount > 1 else larger


class PaymentMachine(RuleBasedStateMachine):
    payment: Payment

    @initialize(amount=positive_money(), capture_method=st.sampled_from(CaptureMethod))
    def open_payment(self, amount: Money, capture_method: CaptureMethod) -> None:
        self.payment = Payment.open(id="pay_1", order_id="ord_1", customer_id="cus_1", gateway_account_id="gwa_1",
                                    amount=amount, capture_method=capture_method, now=NOW)
        self.money = amount
        self.intent = "pi_1"
        self.final_status: PaymentStatus | None = None
        self.received = 0
        self.hexpay_refunds: list[str] = []
        self.final_refunds: dict[str, RefundStatus] = {}
        self.refund_seen_succeeded: set[str] = set()
        self.counters = (0, 0)
        self.refunds_made = 0

    # ---- helpers -----------------------------------------------------------------------------------------------
    def _refused_changes_nothing(self, verb: Callable[[], Any], error: type[DomainError]) -> None:
        before = copy.deepcopy(self.payment)
        events = len(self.payment.events)
        with pytest.raises(error):
            verb()
        assert self.payment == before
        assert len(self.payment.events) == events

    def _unchanged_by(self, verb: Callable[[], Any]) -> Any:
        before = copy.deepcopy(self.payment)
        events = len(self.payment.events)
        result = verb()
        assert self.payment == before
        assert len(self.payment.events) == events
        return result

    # ---- reports -----------------------------------------------------------------------------------------------
    @rule(data=st.data(), direct_answer=st.booleans())
    def apply_report(self, data: st.DataObject, direct_answer: bool) -> None:
        snapshot = data.draw(payment_snapshots(self.money, gateway_payment_id=self.intent), label="report")
        before_status = self.payment.status
        outcome = self.payment.apply(snapshot, NOW, direct_answer=direct_answer)
        event(f"report {outcome.value}")
        assert outcome is not SettlementOutcome.ANOMALY  # well-formed and about this intent
        if before_status.is_final:
            assert self.payment.status is before_status
        if outcome is SettlementOutcome.STALE:
            assert self.payment.status is before_status
        if self.payment.status is snapshot.status and outcome is SettlementOutcome.APPLIED:
            assert self.payment.observed_at is not None

    @rule(data=st.data(), status=st.sampled_from((PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.SUCCEEDED)))
    def apply_report_of_money_held_or_taken(self, data: st.DataObject, status: PaymentStatus) -> None:
        """Each is one status of seven: reported on their own as well, so that captures and refunds get
        exercised."""
        snapshot = data.draw(payment_snapshots(self.money, gateway_payment_id=self.intent,
                                               statuses=st.just(status)), label="report")
        outcome = self.payment.apply(snapshot, NOW)
        assert outcome is not SettlementOutcome.ANOMALY
        if status is PaymentStatus.SUCCEEDED:
            assert self.payment.status is (self.final_status or PaymentStatus.SUCCEEDED)

    @rule(data=st.data())
    def apply_report_about_other_money(self, data: st.DataObject) -> None:
        snapshot = data.draw(payment_snapshots(self.money, gateway_payment_id=self.intent), label="report")
        other = data.draw(st.one_of(
            st.builds(lambda a: dataclasses.replace(snapshot, amount=a), other_amounts(self.money.amount)),
            st.builds(lambda c: dataclasses.replace(snapshot, currency=c),
                      currencies().filter(lambda c: c != self.money.currency)),
            st.just(dataclasses.replace(snapshot, gateway_payment_id="pi_someone_else")),
        ), label="forged")
        if other.gateway_payment_id != self.intent and self.payment.gateway_payment_id is None:
            return  # before the intent is linked, an intent id alone cannot be told apart
        before = copy.deepcopy(self.payment)
        assert self.payment.apply(other, NOW) is SettlementOutcome.ANOMALY
        assert self.payment == before
        assert type(self.payment.events[-1]).__name__ == "SettlementAnomalyDetected"

    # ---- refunds -----------------------------------------------------------------------------------------------
    @rule(data=st.data())
    def request_refund(self, data: st.DataObject) -> None:
        refundable = self.payment.refundable_amount
        amount = data.draw(st.none() | st.integers(-2, self.money.amount + 2), label="refund amount")
        refund_id = f"rfd_{self.refunds_made}"
        verb = lambda: self.payment.request_refund(refund_id=refund_id, amount=amount, reason=None, now=NOW)  # noqa: E731
        if self.payment.status is not PaymentStatus.SUCCEEDED:
            self._refused_changes_nothing(verb, Unprocessable)
        elif (refundable if amount is None else amount) <= 0 or (amount or 0) > refundable:
            self._refused_changes_nothing(verb, RefundExceedsRefundable)
        else:
            refund = verb()
            event("refund requested")
            self.refunds_made += 1
            self.hexpay_refunds.append(refund.id)
            assert refund.status is RefundStatus.PENDING
            assert refund.amount == (refundable if amount is None else amount)
            assert self.payment.refundable_amount == refundable - refund.amount

    @precondition(lambda self: bool(self.hexpay_refunds))
    @rule(data=st.data())
    def apply_refund_report(self, data: st.DataObject) -> None:
        refund = self.payment.refund(data.draw(st.sampled_from(self.hexpay_refunds), label="refund"))
        snapshot = data.draw(refund_snapshots(gateway_refund_id=f"re_{refund.id}", amount=refund.amount,
                                              currency=refund.currency, refund_id=refund.id), label="report")
        before = refund.status
        event(f"refund report {self.payment.apply_refund(snapshot, NOW, new_refund_id='rfd_never_used').value}")
        assert self.payment.refund(refund.id) is refund  # matched, never mistaken for a new refund
        if before is RefundStatus.SUCCEEDED:
            assert refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)

    @rule(data=st.data())
    def apply_report_of_a_refund_made_at_the_gateway(self, data: st.DataObject) -> None:
        made = len(self.payment.refunds)
        amount = data.draw(st.integers(1, self.money.amount), label="amount")
        snapshot = data.draw(refund_snapshots(gateway_refund_id=f"re_dash_{made}", amount=amount,
                                              currency=self.money.currency), label="report")
        assert self.payment.apply_refund(snapshot, NOW, new_refund_id=f"rfd_dash_{made}") is (
            SettlementOutcome.APPLIED)
        assert self.payment.refund(f"rfd_dash_{made}").gateway_refund_id == snapshot.gateway_refund_id

    @precondition(lambda self: bool(self.hexpay_refunds))
    @rule(data=st.data())
    def abandon_refund(self, data: st.DataObject) -> None:
        refund = self.payment.refund(data.draw(st.sampled_from(self.hexpay_refunds), label="refund"))
        verb = lambda: self.payment.abandon_refund(refund.id, "declined", NOW)  # noqa: E731
        if refund.status in _FINAL_REFUND:
            self._refused_changes_nothing(verb, IllegalTransition)
        else:
            verb()
            assert refund.status is RefundStatus.FAILED

    # ---- verbs that only check, and must not change anything -----------------------------------------------
    @rule(amount=st.none() | st.integers(-1, 10**8))
    def check_capture(self, amount: int | None) -> None:
        verb = lambda: self.payment.ensure_capturable(amount)  # noqa: E731
        if self.payment.status is not PaymentStatus.REQUIRES_CAPTURE:
            self._refused_changes_nothing(verb, IllegalTransition)
            return
        capturable = self.payment.amount_capturable or self.payment.amount
        if amount is not None and not 0 < amount <= capturable:
            self._refused_changes_nothing(verb, Unprocessable)
        else:
            event("capture allowed")
            assert self._unchanged_by(verb) == (capturable if amount is None else amount)

    @rule()
    def check_cancel(self) -> None:
        verb = self.payment.ensure_cancelable
        if self.payment.status.is_final or self.payment.status is PaymentStatus.PROCESSING:
            self._refused_changes_nothing(verb, IllegalTransition)
        else:
            self._unchanged_by(verb)

    @rule()
    def start_confirmation(self) -> None:
        if self.payment.status not in _CONFIRMABLE:
            self._refused_changes_nothing(self.payment.start_confirmation, IllegalTransition)
            return
        before = self.payment.confirmation_key
        assert self.payment.start_confirmation() != before  # each attempt its own idempotency key

    @rule(card=st.sampled_from(("pm_a", "pm_b")))
    def choose_card(self, card: str) -> None:
        verb = lambda: self.payment.choose_payment_method(None, card)  # noqa: E731
        if self.payment.status.is_final:
            self._refused_changes_nothing(verb, IllegalTransition)
        else:
            verb()
            assert self.payment.gateway_payment_method_id == card

    @rule()
    def link_another_intent(self) -> None:
        self.payment.link_gateway_intent(self.intent, None, NOW)  # linking the same intent again is harmless
        self._refused_changes_nothing(lambda: self.payment.link_gateway_intent("pi_2", None, NOW), IllegalTransition)

    # ---- invariants --------------------------------------------------------------------------------------------
    @invariant()
    def money_never_changes(self) -> None:
        assert (self.payment.amount, self.payment.currency) == (self.money.amount, self.money.currency)
        assert all(r.currency == self.money.currency for r in self.payment.refunds)

    @invariant()
    def final_states_stay_final(self) -> None:
        if self.final_status is not None:
            assert self.payment.status is self.final_status
        elif self.payment.status.is_final:
            self.final_status = self.payment.status

    @invariant()
    def amounts_stay_in_range_and_received_never_decreases(self) -> None:
        p = self.payment
        assert self.received <= p.amount_received <= p.amount
        assert 0 <= p.amount_capturable <= p.amount
        self.received = p.amount_received
        assert p.refundable_amount >= 0

    @invariant()
    def refunds_hexpay_requests_never_exceed_what_was_received(self) -> None:
        mine = [self.payment.refund(i) for i in self.hexpay_refunds]
        assert sum(r.amount for r in mine if r.status is RefundStatus.SUCCEEDED) <= self.payment.amount_received
        assert sum(r.amount for r in mine if r.status.holds_funds) <= self.payment.amount_received
        if not any(r.id.startswith("rfd_dash") for r in self.payment.refunds):
            assert self.payment.amount_refunded <= self.payment.amount_received

    @invariant()
    def refund_final_states_stay_final(self) -> None:
        for refund in self.payment.refunds:
            if refund.id in self.final_refunds:
                assert refund.status is self.final_refunds[refund.id]
            elif refund.status in _FINAL_REFUND:
                self.final_refunds[refund.id] = refund.status

    @invariant()
    def fields_are_sane(self) -> None:
        p = self.payment
        assert p.version == 0  # the store's optimistic lock: the domain never moves it
        assert (p.next_action is not None) <= (p.status is PaymentStatus.REQUIRES_ACTION)
        assert p.gateway_payment_id in (None, self.intent)
        counters = (p.failed_attempts, p.confirmation_attempts)
        assert counters[0] >= self.counters[0] and counters[1] >= self.counters[1]
        self.counters = counters
        assert sum(isinstance(e, PaymentSucceeded) for e in p.events) == (p.status is PaymentStatus.SUCCEEDED)
        assert len({r.id for r in p.refunds}) == len(p.refunds)


TestPaymentMachine = PaymentMachine.TestCase
# Runs of 40 steps (not hypothesis' 50): enough to reach capture and refund flows in most runs, while the profile's
# example count still applies and the suite stays within its time budget on a small CI machine.
TestPaymentMachine.settings = settings(stateful_step_count=40)
