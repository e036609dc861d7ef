"""Refund: money going back to the shopper; it can fail even after it succeeded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.errors import ValidationFailed
from domain.events import DomainEvent, RefundCanceled, RefundCreated, RefundFailed, RefundSucceeded
from domain.money import Money
from domain.outcome import SettlementOutcome
from domain.state_machine import check_move


class RefundStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (RefundStatus.FAILED, RefundStatus.CANCELED)

    @property
    def holds_funds(self) -> bool:
        """Counts against what is still refundable on the payment."""
        return self in (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED)


_R = RefundStatus
REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    _R.PENDING: frozenset({_R.REQUIRES_ACTION, _R.SUCCEEDED, _R.FAILED, _R.CANCELED}),
    _R.REQUIRES_ACTION: frozenset({_R.PENDING, _R.SUCCEEDED, _R.FAILED, _R.CANCELED}),
    _R.SUCCEEDED: frozenset({_R.FAILED}),  # the bank can return a refund days later
    _R.FAILED: frozenset(),
    _R.CANCELED: frozenset(),
}

_PROGRESS = {_R.PENDING: 0, _R.REQUIRES_ACTION: 1, _R.SUCCEEDED: 2, _R.FAILED: 3, _R.CANCELED: 3}


@dataclass(frozen=True, slots=True)
class RefundSnapshot:
    """A gateway-neutral report of a refund's state at observed_at."""

    gateway_refund_id: str
    amount: int
    currency: str
    status: RefundStatus
    observed_at: datetime
    gateway_payment_id: str | None = None
    refund_id: str | None = None  # hexpay's id, when the gateway echoes our metadata
    reason: str | None = None
    failure_reason: str | None = None


@dataclass(slots=True)
class Refund:
    id: str
    payment_id: str
    amount: int
    currency: str
    status: RefundStatus
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    gateway_refund_id: str | None = None
    failure_reason: str | None = None
    observed_at: datetime | None = None
    _events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def request(cls, *, id: str, payment_id: str, amount: Money, reason: str | None, now: datetime) -> Refund:
        if not amount.is_positive:
            raise ValidationFailed("a refund's amount must be positive")
        refund = cls(id=id, payment_id=payment_id, amount=amount.amount, currency=amount.currency,
                     status=_R.PENDING, created_at=now, updated_at=now, reason=reason)
        refund._events.append(
            RefundCreated(occurred_at=now, refund_id=id, payment_id=payment_id, amount=amount.amount,
                          currency=amount.currency)
        )
        return refund

    @classmethod
    def from_gateway(cls, *, id: str, payment_id: str, snapshot: RefundSnapshot, now: datetime) -> Refund:
        """A refund made at the gateway (its dashboard) that hexpay learns of by report."""
        refund = cls.request(id=id, payment_id=payment_id, amount=Money(snapshot.amount, snapshot.currency),
                             reason=snapshot.reason, now=now)
        refund.gateway_refund_id = snapshot.gateway_refund_id
        refund.apply(snapshot, now)
        return refund

    def pop_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def abandon(self, failure_reason: str, now: datetime) -> None:
        """The gateway refused to create this refund (a definite answer, not a timeout): it holds nothing."""
        self._move(_R.FAILED)
        self.failure_reason = failure_reason
        self.updated_at = now
        self._events.append(RefundFailed(occurred_at=now, refund_id=self.id, payment_id=self.payment_id,
                                         amount=self.amount, currency=self.currency, failure_reason=failure_reason))

    def _move(self, target: RefundStatus) -> None:
        self.status = check_move("refund", REFUND_TRANSITIONS, self.status, target)

    def apply(self, snapshot: RefundSnapshot, now: datetime) -> SettlementOutcome:
        """Same rule as payments: final states stick, older reports never override newer ones."""
        if self.gateway_refund_id is None:
            self.gateway_refund_id = snapshot.gateway_refund_id
        if snapshot.status is self.status:
            if self.observed_at is None or snapshot.observed_at > self.observed_at:
                self.observed_at = snapshot.observed_at
            return SettlementOutcome.UNCHANGED
        if self.status.is_final:
            return SettlementOutcome.STALE
        newer = self.observed_at is None or (snapshot.observed_at, _PROGRESS[snapshot.status]) > (
            self.observed_at, _PROGRESS[self.status])
        if not (snapshot.status.is_final or newer) or snapshot.status not in REFUND_TRANSITIONS[self.status]:
            return SettlementOutcome.STALE
        self._move(snapshot.status)
        self.observed_at = max(snapshot.observed_at, self.observed_at or snapshot.observed_at)
        self.updated_at = now
        if snapshot.failure_reason:
            self.failure_reason = snapshot.failure_reason
        ids = {"refund_id": self.id, "payment_id": self.payment_id}
        if self.status is _R.SUCCEEDED:
            self._events.append(RefundSucceeded(occurred_at=now, amount=self.amount, currency=self.currency, **ids))
        elif self.status is _R.FAILED:
            self._events.append(RefundFailed(occurred_at=now, amount=self.amount, currency=self.currency,
                                             failure_reason=self.failure_reason, **ids))
        elif self.status is _R.CANCELED:
            self._events.append(RefundCanceled(occurred_at=now, **ids))
        return SettlementOutcome.APPLIED
