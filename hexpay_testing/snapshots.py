"""Arbitrary, well-formed reports: any status, any time, for driving state machines beyond what a gateway does.

Unlike the true histories in hexpay_testing.lifecycle these need not be consistent with each other; each one is
still well-formed on its own (the payment's amount and currency, received and capturable within the amount).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from hypothesis import strategies as st

from domain.money import Money
from domain.payment import PaymentSnapshot, PaymentStatus
from domain.refund import RefundSnapshot, RefundStatus
from hexpay_testing.lifecycle import AUTHENTICATION_FAILURE, DECLINES, REFUND_FAILURE_REASONS, next_actions
from hexpay_testing.orders import EPOCH

# A short window of whole minutes, so that two reports often share an instant (the tie the progress rank breaks).
_INSTANTS = st.integers(0, 30).map(lambda minutes: timedelta(minutes=minutes))
# Built once: hypothesis validates every strategy object it meets, and state machines draw these every step.
_PAYMENT_STATUSES = st.sampled_from(tuple(PaymentStatus))
_REFUND_STATUSES = st.sampled_from(tuple(RefundStatus))
_ERRORS = st.none() | st.sampled_from((*DECLINES, AUTHENTICATION_FAILURE))
_FAILURE_REASONS = st.sampled_from(REFUND_FAILURE_REASONS)


@functools.cache
def observation_times(start: datetime = EPOCH) -> st.SearchStrategy[datetime]:
    return _INSTANTS.map(lambda offset: start + offset)


@st.composite
def payment_snapshots(
    draw: st.DrawFn,
    amount: Money,
    *,
    gateway_payment_id: str | None = None,
    start: datetime = EPOCH,
    statuses: st.SearchStrategy[PaymentStatus] | None = None,
) -> PaymentSnapshot:
    """One report about a payment of this amount, in any status, at any time in a short window."""
    status = draw(statuses if statuses is not None else _PAYMENT_STATUSES)
    received = draw(st.integers(0, amount.amount)) if status is PaymentStatus.SUCCEEDED else 0
    capturable = amount.amount if status is PaymentStatus.REQUIRES_CAPTURE else 0
    error = None
    if status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
        error = draw(_ERRORS)
    return PaymentSnapshot(
        status=status,
        amount=amount.amount,
        currency=amount.currency,
        amount_received=received,
        amount_capturable=capturable,
        observed_at=draw(observation_times(start)),
        last_error=error,
        next_action=draw(next_actions()) if status is PaymentStatus.REQUIRES_ACTION else None,
        gateway_payment_id=gateway_payment_id,
    )


@st.composite
def refund_snapshots(
    draw: st.DrawFn,
    *,
    gateway_refund_id: str,
    amount: int,
    currency: str,
    refund_id: str | None = None,
    start: datetime = EPOCH,
) -> RefundSnapshot:
    """One report about a known refund, in any status, at any time in a short window."""
    status = draw(_REFUND_STATUSES)
    failure = draw(_FAILURE_REASONS) if status is RefundStatus.FAILED else None
    return RefundSnapshot(
        gateway_refund_id=gateway_refund_id,
        amount=amount,
        currency=currency,
        status=status,
        observed_at=draw(observation_times(start)),
        refund_id=refund_id,
        failure_reason=failure,
    )
