"""Dispute: a shopper's bank pulling a charge back; a lost dispute takes the money away."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.events import DisputeClosed, DisputeOpened, DomainEvent
from domain.outcome import SettlementOutcome

# Stripe's dispute statuses: the first group is open, the rest closed.
OPEN_DISPUTE_STATUSES = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
CLOSED_DISPUTE_STATUSES = frozenset({"warning_closed", "won", "lost"})


@dataclass(frozen=True, slots=True)
class DisputeSnapshot:
    gateway_dispute_id: str
    amount: int
    currency: str
    status: str
    observed_at: datetime
    reason: str | None = None
    gateway_payment_id: str | None = None


@dataclass(slots=True)
class Dispute:
    gateway_dispute_id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    opened_at: datetime
    observed_at: datetime
    _events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_DISPUTE_STATUSES

    @property
    def is_lost(self) -> bool:
        return self.status == "lost"

    @classmethod
    def open(cls, *, payment_id: str, snapshot: DisputeSnapshot, now: datetime) -> Dispute:
        dispute = cls(gateway_dispute_id=snapshot.gateway_dispute_id, payment_id=payment_id,
                      amount=snapshot.amount, currency=snapshot.currency, status=snapshot.status,
                      reason=snapshot.reason, opened_at=now, observed_at=snapshot.observed_at)
        dispute._events.append(DisputeOpened(occurred_at=now, payment_id=payment_id,
                                             dispute_id=snapshot.gateway_dispute_id, amount=snapshot.amount,
                                             currency=snapshot.currency, reason=snapshot.reason))
        if dispute.is_closed:
            dispute._record_close(now)
        return dispute

    def pop_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def apply(self, snapshot: DisputeSnapshot, now: datetime) -> SettlementOutcome:
        """A closed dispute stays closed; among open ones the newest report wins."""
        if snapshot.status == self.status:
            return SettlementOutcome.UNCHANGED
        if self.is_closed or (snapshot.observed_at < self.observed_at
                              and snapshot.status not in CLOSED_DISPUTE_STATUSES):
            return SettlementOutcome.STALE
        self.status = snapshot.status
        self.amount = snapshot.amount
        self.observed_at = max(self.observed_at, snapshot.observed_at)
        if self.is_closed:
            self._record_close(now)
        return SettlementOutcome.APPLIED

    def _record_close(self, now: datetime) -> None:
        self._events.append(DisputeClosed(occurred_at=now, payment_id=self.payment_id,
                                          dispute_id=self.gateway_dispute_id, status=self.status,
                                          amount=self.amount, currency=self.currency))
