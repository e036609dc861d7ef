"""Payment: hexpay's mirror of one gateway PaymentIntent, with its refunds and disputes.

The settlement rule lives here (Payment.apply): every report of the intent's state, whatever its source,
goes through it. It is monotonic, idempotent and commutative over the reports of one true history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.dispute import Dispute, DisputeSnapshot
from domain.errors import IllegalTransition, RefundExceedsRefundable, Unprocessable, ValidationFailed
from domain.events import (
    DomainEvent,
    PaymentAuthorized,
    PaymentCanceled,
    PaymentCreated,
    PaymentFailed,
    PaymentProcessing,
    PaymentRequiresAction,
    PaymentSucceeded,
    SettlementAnomalyDetected,
)
from domain.money import Money
from domain.outcome import SettlementOutcome
from domain.refund import Refund, RefundSnapshot, RefundStatus


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED)


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


_S = PaymentStatus
_LIVE = frozenset({_S.REQUIRES_PAYMENT_METHOD, _S.REQUIRES_CONFIRMATION, _S.REQUIRES_ACTION, _S.PROCESSING})

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _S.REQUIRES_PAYMENT_METHOD: frozenset(
        {_S.REQUIRES_CONFIRMATION, _S.REQUIRES_ACTION, _S.PROCESSING, _S.REQUIRES_CAPTURE, _S.SUCCEEDED, _S.CANCELED}
    ),
    _S.REQUIRES_CONFIRMATION: frozenset(
        {_S.REQUIRES_PAYMENT_METHOD, _S.REQUIRES_ACTION, _S.PROCESSING, _S.REQUIRES_CAPTURE, _S.SUCCEEDED, _S.CANCELED}
    ),
    _S.REQUIRES_ACTION: frozenset(
        {_S.REQUIRES_PAYMENT_METHOD, _S.REQUIRES_CONFIRMATION, _S.PROCESSING, _S.REQUIRES_CAPTURE, _S.SUCCEEDED,
         _S.CANCELED}
    ),
    # Reports can skip states hexpay never saw: after a failed attempt (processing -> requires_payment_method) the
    # shopper may attach a card before confirming, so requires_confirmation is one unseen report away.
    _S.PROCESSING: frozenset(
        {_S.REQUIRES_PAYMENT_METHOD, _S.REQUIRES_CONFIRMATION, _S.REQUIRES_ACTION, _S.REQUIRES_CAPTURE, _S.SUCCEEDED,
         _S.CANCELED}
    ),
    # A capture can be processed asynchronously; an authorization is never declined after the fact.
    _S.REQUIRES_CAPTURE: frozenset({_S.PROCESSING, _S.SUCCEEDED, _S.CANCELED}),
    _S.SUCCEEDED: frozenset(),
    _S.CANCELED: frozenset(),
}

# Tie-break for two reports observed in the same instant: the one further along wins.
_PROGRESS = {
    _S.REQUIRES_PAYMENT_METHOD: 0,
    _S.REQUIRES_CONFIRMATION: 1,
    _S.REQUIRES_ACTION: 2,
    _S.PROCESSING: 3,
    _S.REQUIRES_CAPTURE: 4,
    _S.SUCCEEDED: 5,
    _S.CANCELED: 5,
}


@dataclass(frozen=True, slots=True)
class PaymentError:
    """Why the last attempt failed, in the gateway's terms (Stripe's code and decline_code)."""

    code: str | None
    decline_code: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class NextAction:
    """What the shopper must do next: 3-D Secure, as a redirect or through the gateway's SDK."""

    type: str  # "redirect_to_url" | "use_sdk"
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """A gateway-neutral report of an intent's state at observed_at."""

    status: PaymentStatus
    amount: int
    currency: str
    amount_received: int
    amount_capturable: int
    observed_at: datetime
    last_error: PaymentError | None = None
    next_action: NextAction | None = None
    amount_refunded: int = 0
    gateway_payment_id: str | None = None
    gateway_payment_method_id: str | None = None


@dataclass(slots=True)
class Payment:
    id: str
    order_id: str
    customer_id: str
    gateway_account_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    gateway_payment_id: str | None = None
    client_secret: str | None = None
    payment_method_id: str | None = None
    gateway_payment_method_id: str | None = None
    save_card: bool = False
    amount_received: int = 0
    amount_capturable: int = 0
    last_payment_error: PaymentError | None = None
    next_action: NextAction | None = None
    observed_at: datetime | None = None
    failed_attempts: int = 0
    confirmation_attempts: int = 0
    version: int = 0
    refunds: list[Refund] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def open(
        cls,
        *,
        id: str,
        order_id: str,
        customer_id: str,
        gateway_account_id: str,
        amount: Money,
        capture_method: CaptureMethod,
        now: datetime,
        payment_method_id: str | None = None,
        gateway_payment_method_id: str | None = None,
        save_card: bool = False,
    ) -> Payment:
        if not amount.is_positive:
            raise ValidationFailed("a payment's amount must be positive")
        payment = cls(
            id=id,
            order_id=order_id,
            customer_id=customer_id,
            gateway_account_id=gateway_account_id,
            amount=amount.amount,
            currency=amount.currency,
            capture_method=capture_method,
            status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
            created_at=now,
            updated_at=now,
            payment_method_id=payment_method_id,
            gateway_payment_method_id=gateway_payment_method_id,
            save_card=save_card,
        )
        payment.events.append(
            PaymentCreated(occurred_at=now, payment_id=id, order_id=order_id, amount=amount.amount,
                           currency=amount.currency)
        )
        return payment

    # ---- reading -------------------------------------------------------------------------------------------
    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def number(self) -> str:
        """The human payment number BFG's storefront shows."""
        return "PAY-" + self.id.rsplit("_", 1)[-1][-12:].upper()

    @property
    def is_live(self) -> bool:
        """Not final: the one payment an order may have open per gateway account."""
        return not self.status.is_final

    @property
    def amount_refunded(self) -> int:
        return sum(r.amount for r in self.refunds if r.status is RefundStatus.SUCCEEDED)

    @property
    def amount_reserved_by_refunds(self) -> int:
        return sum(r.amount for r in self.refunds if r.status.holds_funds)

    @property
    def refundable_amount(self) -> int:
        return max(0, self.amount_received - self.amount_reserved_by_refunds - self.amount_lost_to_disputes)

    @property
    def amount_lost_to_disputes(self) -> int:
        return sum(d.amount for d in self.disputes if d.is_lost)

    @property
    def confirmation_key(self) -> str:
        """Idempotency key of the confirmation started last (see start_confirmation)."""
        return f"{self.id}:confirm:{self.confirmation_attempts}"

    def refund(self, refund_id: str) -> Refund:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise Unprocessable(f"payment {self.id} has no refund {refund_id}")

    # ---- verbs ---------------------------------------------------------------------------------------------
    def link_gateway_intent(self, gateway_payment_id: str, client_secret: str | None, now: datetime) -> None:
        """Record the gateway's intent; a payment is bound to one intent for life (never charge twice)."""
        if self.gateway_payment_id is not None and self.gateway_payment_id != gateway_payment_id:
            raise IllegalTransition("payment", f"linked to {self.gateway_payment_id}", gateway_payment_id)
        self.gateway_payment_id = gateway_payment_id
        if client_secret is not None:
            self.client_secret = client_secret
        self.updated_at = now

    def choose_payment_method(self, payment_method_id: str | None, gateway_payment_method_id: str) -> None:
        if self.status.is_final:
            raise IllegalTransition("payment", self.status.value, "confirm")
        self.payment_method_id = payment_method_id
        self.gateway_payment_method_id = gateway_payment_method_id

    def start_confirmation(self) -> str:
        """Number a new confirmation attempt and return its idempotency key. Each attempt gets its own key:
        reusing the previous one would replay the gateway's cached answer to an attempt that has since failed
        (a 3-D Secure failure the webhook has not told us about yet). One intent can only succeed once, so a
        new attempt can never charge twice."""
        self.ensure_confirmable()
        self.confirmation_attempts += 1
        return self.confirmation_key

    def ensure_confirmable(self) -> None:
        if self.status not in (_S.REQUIRES_PAYMENT_METHOD, _S.REQUIRES_CONFIRMATION, _S.REQUIRES_ACTION):
            raise IllegalTransition("payment", self.status.value, "confirm")

    def ensure_capturable(self, amount: int | None) -> int:
        """The amount a capture would take; the whole authorization unless a smaller amount is asked."""
        if self.status is not _S.REQUIRES_CAPTURE:
            raise IllegalTransition("payment", self.status.value, "capture")
        capturable = self.amount_capturable or self.amount
        chosen = capturable if amount is None else amount
        if not (0 < chosen <= capturable):
            raise Unprocessable(f"capture amount must be between 1 and {capturable}")
        return chosen

    def ensure_cancelable(self) -> None:
        if self.status.is_final or self.status is _S.PROCESSING:
            raise IllegalTransition("payment", self.status.value, "cancel")

    def request_refund(
        self, *, refund_id: str, amount: int | None, reason: str | None, now: datetime
    ) -> Refund:
        """Open a pending refund; it holds its amount against what is still refundable."""
        if self.status is not _S.SUCCEEDED:
            raise Unprocessable("only a succeeded payment can be refunded")
        refundable = self.refundable_amount
        chosen = refundable if amount is None else amount
        if chosen <= 0:
            raise RefundExceedsRefundable("nothing left to refund on this payment")
        if chosen > refundable:
            raise RefundExceedsRefundable(f"refund of {chosen} exceeds the refundable {refundable}")
        refund = Refund.request(
            id=refund_id, payment_id=self.id, amount=Money(chosen, self.currency), reason=reason, now=now
        )
        self.refunds.append(refund)
        self.events.extend(refund.pop_events())
        self.updated_at = now
        return refund

    def abandon_refund(self, refund_id: str, failure_reason: str, now: datetime) -> None:
        refund = self.refund(refund_id)
        refund.abandon(failure_reason, now)
        self.events.extend(refund.pop_events())
        self.updated_at = now

    def apply(self, snapshot: PaymentSnapshot, now: datetime, *, direct_answer: bool = False) -> SettlementOutcome:
        """Settle one report of the gateway's state.

        Guarantees: a report whose amount or currency disagree changes nothing but an anomaly event; a final
        state is never left; an older report never overrides a newer one (a late payment_failed after
        succeeded is ignored); the same report twice changes nothing; amount_received never decreases.
        direct_answer marks the gateway's answer to our own call (or a fresh read): it describes the state
        after everything observed up to the same instant, so it also wins a tie on observed_at (gateways
        stamp events in whole seconds, and a create and a declined confirm often share one).
        """
        if snapshot.currency != self.currency or snapshot.amount != self.amount:
            return self._anomaly(
                f"report says {snapshot.amount} {snapshot.currency}, payment is {self.amount} {self.currency}", now
            )
        if not (0 <= snapshot.amount_received <= self.amount and 0 <= snapshot.amount_capturable <= self.amount):
            return self._anomaly("report's received or capturable amount is out of range", now)
        if self.gateway_payment_id and snapshot.gateway_payment_id and (
            snapshot.gateway_payment_id != self.gateway_payment_id
        ):
            return self._anomaly("report is about another gateway intent", now)

        newer = (
            self.observed_at is None
            or (snapshot.observed_at, _PROGRESS[snapshot.status]) > (self.observed_at, _PROGRESS[self.status])
            or (direct_answer and snapshot.observed_at >= self.observed_at)
        )
        if self.status.is_final:
            if snapshot.status is not self.status:
                return SettlementOutcome.STALE
            return self._take_fields(snapshot, newer, now)
        if not (snapshot.status.is_final or newer):
            return SettlementOutcome.STALE
        if snapshot.status is not self.status and snapshot.status not in PAYMENT_TRANSITIONS[self.status]:
            return SettlementOutcome.STALE
        previous_status, previous_error = self.status, self.last_payment_error
        self.status = snapshot.status
        outcome = self._take_fields(snapshot, True, now)
        if self.status is not previous_status or self.last_payment_error != previous_error:
            self._record_move(previous_status, previous_error, now)
            return SettlementOutcome.APPLIED
        return outcome

    def apply_refund(self, snapshot: RefundSnapshot, now: datetime, new_refund_id: str) -> SettlementOutcome:
        """Settle one report of a refund: one hexpay already requested, or one made at the gateway directly."""
        if snapshot.currency != self.currency:
            return self._anomaly("refund report in another currency", now)
        refund = self._find_refund(snapshot)
        if refund is None:
            if snapshot.amount <= 0 or snapshot.amount > self.amount:
                return self._anomaly("refund report's amount is out of range", now)
            refund = Refund.from_gateway(id=new_refund_id, payment_id=self.id, snapshot=snapshot, now=now)
            self.refunds.append(refund)
            self.events.extend(refund.pop_events())
            self.updated_at = now
            return SettlementOutcome.APPLIED
        if snapshot.amount != refund.amount:
            return self._anomaly(f"refund {refund.id} reported with amount {snapshot.amount}", now)
        outcome = refund.apply(snapshot, now)
        self.events.extend(refund.pop_events())
        if outcome is SettlementOutcome.APPLIED:
            self.updated_at = now
        return outcome

    def apply_dispute(self, snapshot: DisputeSnapshot, now: datetime) -> SettlementOutcome:
        for dispute in self.disputes:
            if dispute.gateway_dispute_id == snapshot.gateway_dispute_id:
                outcome = dispute.apply(snapshot, now)
                self.events.extend(dispute.pop_events())
                if outcome is SettlementOutcome.APPLIED:
                    self.updated_at = now
                return outcome
        dispute = Dispute.open(payment_id=self.id, snapshot=snapshot, now=now)
        self.disputes.append(dispute)
        self.events.extend(dispute.pop_events())
        self.updated_at = now
        return SettlementOutcome.APPLIED

    # ---- internals -----------------------------------------------------------------------------------------
    def _find_refund(self, snapshot: RefundSnapshot) -> Refund | None:
        for refund in self.refunds:
            if snapshot.gateway_refund_id and refund.gateway_refund_id == snapshot.gateway_refund_id:
                return refund
        for refund in self.refunds:
            if snapshot.refund_id and refund.id == snapshot.refund_id:
                if snapshot.gateway_refund_id and refund.gateway_refund_id is None:
                    refund.gateway_refund_id = snapshot.gateway_refund_id
                return refund
        return None

    def _take_fields(self, snapshot: PaymentSnapshot, newer: bool, now: datetime) -> SettlementOutcome:
        # observed_at is bookkeeping: a fresher report of the same state is "unchanged", not "applied".
        before = (self.amount_received, self.amount_capturable, self.last_payment_error, self.next_action,
                  self.gateway_payment_method_id, self.gateway_payment_id)
        self.amount_received = max(self.amount_received, snapshot.amount_received)
        if newer:
            self.amount_capturable = snapshot.amount_capturable
            self.last_payment_error = snapshot.last_error
            self.next_action = snapshot.next_action if self.status is _S.REQUIRES_ACTION else None
            # A final report may be older than a non-final one already seen; time itself never goes back.
            self.observed_at = max(snapshot.observed_at, self.observed_at or snapshot.observed_at)
            if snapshot.gateway_payment_method_id:
                self.gateway_payment_method_id = snapshot.gateway_payment_method_id
        if self.gateway_payment_id is None and snapshot.gateway_payment_id:
            self.gateway_payment_id = snapshot.gateway_payment_id
        after = (self.amount_received, self.amount_capturable, self.last_payment_error, self.next_action,
                 self.gateway_payment_method_id, self.gateway_payment_id)
        if before == after:
            return SettlementOutcome.UNCHANGED
        self.updated_at = now
        return SettlementOutcome.APPLIED

    def _record_move(self, previous: PaymentStatus, previous_error: PaymentError | None, now: datetime) -> None:
        ids = {"payment_id": self.id, "order_id": self.order_id}
        status = self.status
        if status is _S.REQUIRES_PAYMENT_METHOD and self.last_payment_error is not None:
            self.failed_attempts += 1
            err = self.last_payment_error
            self.events.append(
                PaymentFailed(occurred_at=now, code=err.code, decline_code=err.decline_code, message=err.message,
                              **ids)
            )
        elif status is previous:
            return
        elif status is _S.REQUIRES_ACTION:
            self.events.append(PaymentRequiresAction(occurred_at=now, **ids))
        elif status is _S.PROCESSING:
            self.events.append(PaymentProcessing(occurred_at=now, **ids))
        elif status is _S.REQUIRES_CAPTURE:
            self.events.append(PaymentAuthorized(occurred_at=now, amount_capturable=self.amount_capturable, **ids))
        elif status is _S.SUCCEEDED:
            self.events.append(
                PaymentSucceeded(occurred_at=now, amount_received=self.amount_received, currency=self.currency,
                                 **ids)
            )
        elif status is _S.CANCELED:
            self.events.append(PaymentCanceled(occurred_at=now, **ids))

    def _anomaly(self, reason: str, now: datetime) -> SettlementOutcome:
        self.events.append(SettlementAnomalyDetected(occurred_at=now, payment_id=self.id, reason=reason))
        return SettlementOutcome.ANOMALY


LIVE_STATUSES = _LIVE | {_S.REQUIRES_CAPTURE}
