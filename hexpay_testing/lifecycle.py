"""True gateway histories: what a PaymentIntent (and its refunds) really went through, one snapshot per observation.

A history is what an omniscient observer would have recorded, in order, with strictly increasing observed_at. It
walks Stripe's PaymentIntent lifecycle: created (requires_payment_method, or requires_confirmation with a saved
card), zero or more failed attempts (a decline, a failed 3-D Secure challenge, an asynchronous failure after
processing), each returning to requires_payment_method with last_error, then an ending: succeeded (a partial
capture when capture is manual), canceled, or still open in any live status. The same state may be observed more
than once (the synchronous answer, the webhook, a reconciliation poll): such re-observations carry the same fields
at a later observed_at.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime, timedelta

from hypothesis import strategies as st

from domain.money import Money
from domain.payment import CaptureMethod, NextAction, PaymentError, PaymentSnapshot, PaymentStatus
from domain.refund import RefundSnapshot, RefundStatus
from hexpay_testing.money import positive_money
from hexpay_testing.orders import EPOCH, ids

_P = PaymentStatus
_R = RefundStatus

DECLINES = (
    PaymentError("card_declined", "generic_decline", "Your card was declined."),
    PaymentError("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    PaymentError("card_declined", "lost_card", "Your card was declined."),
    PaymentError("card_declined", "do_not_honor", "Your card was declined."),
    PaymentError("expired_card", "expired_card", "Your card has expired."),
    PaymentError("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    PaymentError("processing_error", "processing_error", "An error occurred while processing your card."),
)
AUTHENTICATION_FAILURE = PaymentError(
    "payment_intent_authentication_failure",
    None,
    "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
)
REFUND_FAILURE_REASONS = ("lost_or_stolen_card", "expired_or_canceled_card", "charge_for_pending_refund_disputed",
                          "declined", "unknown")

ENDINGS: tuple[PaymentStatus, ...] = tuple(PaymentStatus)
_MANUAL_ONLY = frozenset({_P.REQUIRES_CAPTURE})

# Gaps between two observations: a second to a day, so that ordering by time is never ambiguous.
_GAPS = st.integers(1, 86_400).map(lambda seconds: timedelta(seconds=seconds))
# Built once: hypothesis validates every strategy object it meets, and histories draw these hundreds of times.
# Rare branches are True at the top of the range, so that shrinking (towards 0, False) leads to the plain path:
# were it the other way round, the simplest history would observe the same state again forever.
_ONE_IN_FIVE = st.integers(0, 4).map(lambda n: n == 4)
_ONE_IN_FOUR = st.integers(0, 3).map(lambda n: n == 3)
_FAILURE_KINDS = st.sampled_from(("declined", "authentication_failed", "failed_while_processing"))
_DECLINES = st.sampled_from(DECLINES)
_CAPTURE_METHODS = st.sampled_from(tuple(CaptureMethod))
_CANCEL_STAGES = st.sampled_from(("now", "during_authentication", "releasing_authorization"))
_REFUND_FAILURE_REASONS = st.sampled_from(REFUND_FAILURE_REASONS)


@functools.cache
def next_actions() -> st.SearchStrategy[NextAction]:
    """3-D Secure as hexpay models it: a redirect URL any frontend can follow, or a handoff to the gateway SDK."""
    redirect = ids("payatt").map(
        lambda ref: NextAction("redirect_to_url", f"https://hooks.stripe.com/3d_secure_2/hosted?merchant={ref}")
    )
    return st.one_of(redirect, st.just(NextAction("use_sdk")))


class _Observer:
    """Records one intent's observations in order, each strictly later than the one before."""

    def __init__(self, draw: st.DrawFn, money: Money, gateway_payment_id: str, start: datetime) -> None:
        self.draw, self.money, self.gateway_payment_id = draw, money, gateway_payment_id
        self.clock = start
        self.history: list[PaymentSnapshot] = []

    @property
    def status(self) -> PaymentStatus:
        return self.history[-1].status

    def observe(
        self,
        status: PaymentStatus,
        *,
        received: int = 0,
        capturable: int = 0,
        error: PaymentError | None = None,
        action: NextAction | None = None,
        payment_method: str | None = None,
    ) -> None:
        self.clock += self.draw(_GAPS)
        self.history.append(PaymentSnapshot(
            status=status,
            amount=self.money.amount,
            currency=self.money.currency,
            amount_received=received,
            amount_capturable=capturable,
            observed_at=self.clock,
            last_error=error,
            next_action=action,
            gateway_payment_id=self.gateway_payment_id,
            gateway_payment_method_id=payment_method,
        ))
        self.maybe_observe_again()

    def maybe_observe_again(self) -> None:
        """The same state seen again later: the webhook after the synchronous answer, or a poll."""
        while self.draw(_ONE_IN_FIVE):
            self.clock += self.draw(_GAPS)
            last = self.history[-1]
            self.history.append(PaymentSnapshot(
                status=last.status, amount=last.amount, currency=last.currency,
                amount_received=last.amount_received, amount_capturable=last.amount_capturable,
                observed_at=self.clock, last_error=last.last_error, next_action=last.next_action,
                amount_refunded=last.amount_refunded, gateway_payment_id=last.gateway_payment_id,
                gateway_payment_method_id=last.gateway_payment_method_id,
            ))

    def card(self, current: str | None) -> str:
        """The card of the next attempt: the same one retried, or another."""
        if current is not None and self.draw(st.booleans()):
            return current
        return self.draw(ids("pm"))

    def failed_attempt(self, card: str) -> None:
        kind = self.draw(_FAILURE_KINDS)
        if kind == "authentication_failed":
            self.observe(_P.REQUIRES_ACTION, action=self.draw(next_actions()), payment_method=card)
            error = AUTHENTICATION_FAILURE
        else:
            if kind == "failed_while_processing":
                self.observe(_P.PROCESSING, payment_method=card)
            error = self.draw(_DECLINES)
        # Stripe detaches the failed card from the intent: it is only named inside last_payment_error.
        self.observe(_P.REQUIRES_PAYMENT_METHOD, error=error)

    def toward_charge(self, card: str) -> None:
        """A confirmation that goes through, with or without a 3-D Secure challenge first."""
        if self.draw(st.booleans()):
            self.observe(_P.REQUIRES_ACTION, action=self.draw(next_actions()), payment_method=card)
            if self.draw(_ONE_IN_FOUR):  # confirmation_method=manual: the server confirms after 3DS
                self.observe(_P.REQUIRES_CONFIRMATION, payment_method=card)


@st.composite
def payment_histories(
    draw: st.DrawFn,
    *,
    amount: Money | None = None,
    capture_method: CaptureMethod | None = None,
    ends_in: Collection[PaymentStatus] | None = None,
    gateway_payment_id: str | None = None,
    start: datetime = EPOCH,
    max_failed_attempts: int = 3,
) -> list[PaymentSnapshot]:
    """A true history of one PaymentIntent, as a list of PaymentSnapshot with strictly increasing observed_at.

    amount and capture_method should match the payment the history is applied to (drawn when omitted);
    ends_in restricts the last status (requires_capture only happens with manual capture).
    """
    money = amount if amount is not None else draw(positive_money())
    if money.amount <= 0:
        raise ValueError("a payment history needs a positive amount")
    method = capture_method if capture_method is not None else draw(_CAPTURE_METHODS)
    endings = [e for e in (ends_in if ends_in is not None else ENDINGS)
               if method is CaptureMethod.MANUAL or e not in _MANUAL_ONLY]
    if not endings:
        raise ValueError(f"no ending in {ends_in} is possible with capture_method={method.value}")
    ending = draw(st.sampled_from(endings))
    observer = _Observer(draw, money, gateway_payment_id or draw(ids("pi")), start)

    card: str | None = None
    if draw(st.booleans()):  # created with a saved card and confirm=false
        card = draw(ids("pm"))
        observer.observe(_P.REQUIRES_CONFIRMATION, payment_method=card)
    else:
        observer.observe(_P.REQUIRES_PAYMENT_METHOD)
    for _ in range(draw(st.integers(0, max_failed_attempts))):
        card = observer.card(card)
        observer.failed_attempt(card)
        if draw(st.booleans()):  # the shopper picks a card first and confirms later
            card = observer.card(card)
            observer.observe(_P.REQUIRES_CONFIRMATION, payment_method=card)

    card = observer.card(card)
    amount_total = money.amount
    if ending is _P.REQUIRES_PAYMENT_METHOD and observer.status is not _P.REQUIRES_PAYMENT_METHOD:
        observer.failed_attempt(card)
    elif ending is _P.REQUIRES_CONFIRMATION and observer.status is not _P.REQUIRES_CONFIRMATION:
        observer.observe(_P.REQUIRES_CONFIRMATION, payment_method=card)
    elif ending is _P.REQUIRES_ACTION:
        observer.observe(_P.REQUIRES_ACTION, action=draw(next_actions()), payment_method=card)
    elif ending is _P.PROCESSING:
        observer.toward_charge(card)
        observer.observe(_P.PROCESSING, payment_method=card)
    elif ending in (_P.REQUIRES_CAPTURE, _P.SUCCEEDED):
        observer.toward_charge(card)
        if draw(st.booleans()):
            observer.observe(_P.PROCESSING, payment_method=card)
        if method is CaptureMethod.MANUAL:
            observer.observe(_P.REQUIRES_CAPTURE, capturable=amount_total, payment_method=card)
            if ending is _P.SUCCEEDED:
                captured = draw(st.one_of(st.just(amount_total), st.integers(1, amount_total)))
                if draw(_ONE_IN_FOUR):  # a capture the gateway settles asynchronously
                    observer.observe(_P.PROCESSING, capturable=amount_total, payment_method=card)
                observer.observe(_P.SUCCEEDED, received=captured, payment_method=card)
        else:
            observer.observe(_P.SUCCEEDED, received=amount_total, payment_method=card)
    elif ending is _P.CANCELED:
        # Canceled by the shop or expired: before any attempt, after one, during 3DS, or releasing a hold.
        stage = draw(_CANCEL_STAGES)
        if stage == "during_authentication":
            observer.observe(_P.REQUIRES_ACTION, action=draw(next_actions()), payment_method=card)
        elif stage == "releasing_authorization" and method is CaptureMethod.MANUAL:
            observer.toward_charge(card)
            observer.observe(_P.REQUIRES_CAPTURE, capturable=amount_total, payment_method=card)
        observer.observe(_P.CANCELED, payment_method=observer.history[-1].gateway_payment_method_id)
    return observer.history


def final_amount_received(history: list[PaymentSnapshot]) -> int:
    return max((s.amount_received for s in history), default=0)


@st.composite
def refund_history(
    draw: st.DrawFn,
    *,
    amount: int,
    currency: str,
    refund_id: str | None = None,
    gateway_refund_id: str | None = None,
    gateway_payment_id: str | None = None,
    start: datetime = EPOCH,
    ends_in: Collection[RefundStatus] | None = None,
) -> list[RefundSnapshot]:
    """A true history of one refund: pending, perhaps requires_action, then succeeded (which the bank can still
    turn into failed days later), failed, canceled, or still pending.

    refund_id is hexpay's id, echoed by the gateway in the refund's metadata when hexpay created the refund.
    """
    endings = tuple(ends_in) if ends_in is not None else tuple(RefundStatus)
    ending = draw(st.sampled_from(endings))
    re_id = gateway_refund_id or draw(ids("re"))
    clock = start
    history: list[RefundSnapshot] = []

    def observe(status: RefundStatus, failure_reason: str | None = None) -> None:
        nonlocal clock
        for _ in range(1 + draw(_ONE_IN_FIVE)):  # sometimes seen twice (answer + webhook)
            clock += draw(_GAPS)
            history.append(RefundSnapshot(
                gateway_refund_id=re_id, amount=amount, currency=currency, status=status, observed_at=clock,
                gateway_payment_id=gateway_payment_id, refund_id=refund_id, failure_reason=failure_reason,
            ))

    observe(_R.PENDING)
    if ending is _R.REQUIRES_ACTION or draw(_ONE_IN_FIVE):
        observe(_R.REQUIRES_ACTION)
        if ending is not _R.REQUIRES_ACTION and draw(st.booleans()):
            observe(_R.PENDING)
    if ending is _R.SUCCEEDED:
        observe(_R.SUCCEEDED)
    elif ending is _R.FAILED:
        if draw(st.booleans()):  # it succeeded first, then the bank returned it
            observe(_R.SUCCEEDED)
        observe(_R.FAILED, draw(_REFUND_FAILURE_REASONS))
    elif ending is _R.CANCELED:
        observe(_R.CANCELED)
    return history


@st.composite
def refund_amounts(draw: st.DrawFn, amount_received: int, *, max_refunds: int = 3) -> list[int]:
    """Positive refund amounts whose sum stays within what the payment received."""
    amounts: list[int] = []
    left = amount_received
    for _ in range(draw(st.integers(1, max_refunds))):
        if left <= 0:
            break
        chosen = draw(st.one_of(st.just(left), st.integers(1, left)))
        amounts.append(chosen)
        left -= chosen
    return amounts


@st.composite
def refund_histories(
    draw: st.DrawFn, payment_history: list[PaymentSnapshot], *, max_refunds: int = 3
) -> list[list[RefundSnapshot]]:
    """True histories of the refunds of a succeeded payment, made at the gateway (no hexpay refund id)."""
    succeeded = [s for s in payment_history if s.status is _P.SUCCEEDED]
    if not succeeded:
        raise ValueError("only a succeeded payment history has refunds")
    first = succeeded[0]
    amounts = draw(refund_amounts(first.amount_received, max_refunds=max_refunds))
    refund_ids = draw(st.lists(ids("re"), min_size=len(amounts), max_size=len(amounts), unique=True))
    return [
        draw(refund_history(amount=amount, currency=first.currency, gateway_refund_id=re_id,
                            gateway_payment_id=first.gateway_payment_id, start=first.observed_at))
        for amount, re_id in zip(amounts, refund_ids, strict=True)
    ]
