"""Refund as a state machine under arbitrary reports: final states stick, succeeded can only fail, time never runs
backwards, and a refused abandon changes nothing."""

from __future__ import annotations

import copy

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import IllegalTransition
from domain.events import RefundCanceled, RefundFailed, RefundSucceeded
from domain.money import Money
from domain.outcome import SettlementOutcome
from domain.refund import Refund, RefundStatus
from hexpay_testing.strategies import EPOCH, positive_money, refund_snapshots

R = RefundStatus
# Written out from DESIGN.md, not imported: which moves a report may cause.
MODEL = {
    R.PENDING: {R.REQUIRES_ACTION, R.SUCCEEDED, R.FAILED, R.CANCELED},
    R.REQUIRES_ACTION: {R.PENDING, R.SUCCEEDED, R.FAILED, R.CANCELED},
    R.SUCCEEDED: {R.FAILED},
    R.FAILED: set(),
    R.CANCELED: set(),
}
EVENT_OF = {R.SUCCEEDED: RefundSucceeded, R.FAILED: RefundFailed, R.CANCELED: RefundCanceled}


class RefundMachine(RuleBasedStateMachine):
    refund: Refund

    @initialize(amount=positive_money())
    def request(self, amount: Money) -> None:
        self.refund = Refund.request(id="rfd_1", payment_id="pay_1", amount=amount, reason=None, now=EPOCH)
        self.refund.pop_events()
        self.money = amount
        self.final: RefundStatus | None = None
        self.observed = None

    @rule(data=st.data())
    def apply_report(self, data: st.DataObject) -> None:
        snapshot = data.draw(refund_snapshots(gateway_refund_id="re_1", amount=self.money.amount,
                                              currency=self.money.currency, refund_id="rfd_1"), label="report")
        before = self.refund.status
        outcome = self.refund.apply(snapshot, EPOCH)
        events = self.refund.pop_events()
        if outcome is SettlementOutcome.APPLIED:
            assert self.refund.status in MODEL[before] and self.refund.status is snapshot.status
            assert [type(e) for e in events] == ([EVENT_OF[snapshot.status]] if snapshot.status in EVENT_OF else [])
        else:
            assert self.refund.status is before and not events

    @rule()
    def abandon(self) -> None:
        if R.FAILED in MODEL[self.refund.status]:
            self.refund.abandon("declined", EPOCH)
            assert self.refund.status is R.FAILED and self.refund.failure_reason == "declined"
            assert [type(e) for e in self.refund.pop_events()] == [RefundFailed]
            return
        before = copy.deepcopy(self.refund)
        with pytest.raises(IllegalTransition):
            self.refund.abandon("declined", EPOCH)
        assert self.refund == before and not self.refund.pop_events()

    @invariant()
    def final_states_stay_final(self) -> None:
        if self.final is not None:
            assert self.refund.status is self.final
        elif self.refund.status.is_final:
            self.final = self.refund.status
        assert self.refund.status.holds_funds == (not self.refund.status.is_final)

    @invariant()
    def money_never_changes_and_time_never_runs_backwards(self) -> None:
        assert (self.refund.amount, self.refund.currency) == (self.money.amount, self.money.currency)
        if self.observed is not None:
            assert self.refund.observed_at is not None and self.refund.observed_at >= self.observed
        self.observed = self.refund.observed_at
        assert self.refund.gateway_refund_id in (None, "re_1")


TestRefundMachine = RefundMachine.TestCase
# Runs of 25 steps reach every state and back (the longest path is a handful of moves); the profile's
# example count still applies, and the suite stays within its time budget on a small CI machine.
TestRefundMachine.settings = settings(stateful_step_count=25)
