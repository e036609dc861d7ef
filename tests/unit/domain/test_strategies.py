"""The published strategies keep their promises: other teams' suites rely on what a "true history" means."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money
from domain.payment import PAYMENT_TRANSITIONS, CaptureMethod, PaymentSnapshot, PaymentStatus
from domain.refund import REFUND_TRANSITIONS, RefundSnapshot, RefundStatus
from hexpay_testing.strategies import (
    delivery_streams,
    payment_histories,
    positive_money,
    refund_histories,
)

_ENDINGS = st.lists(st.sampled_from(PaymentStatus), min_size=1, unique=True)


@given(amount=positive_money(), method=st.sampled_from(CaptureMethod), ends_in=_ENDINGS, data=st.data())
def test_a_payment_history_is_a_walk_through_the_lifecycle(
    amount: Money, method: CaptureMethod, ends_in: list[PaymentStatus], data: st.DataObject
) -> None:
    if ends_in == [PaymentStatus.REQUIRES_CAPTURE]:
        method = CaptureMethod.MANUAL
    history = data.draw(payment_histories(amount=amount, capture_method=method, ends_in=ends_in))

    assert all(a.observed_at < b.observed_at for a, b in itertools.pairwise(history))
    assert history[-1].status in ends_in
    assert len({s.gateway_payment_id for s in history}) == 1
    for before, after in itertools.pairwise(history):
        assert after.status is before.status or after.status in PAYMENT_TRANSITIONS[before.status]
        assert not before.status.is_final or after == _later(before, after)  # after a final state: polls only
    for s in history:
        assert (s.amount, s.currency) == (amount.amount, amount.currency)
        assert (s.next_action is not None) == (s.status is PaymentStatus.REQUIRES_ACTION)
        assert s.last_error is None or s.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
        assert s.amount_received == 0 or s.status is PaymentStatus.SUCCEEDED
        assert 0 <= s.amount_received <= s.amount and 0 <= s.amount_capturable <= s.amount
    if method is CaptureMethod.AUTOMATIC:
        assert all(s.status is not PaymentStatus.REQUIRES_CAPTURE for s in history)
        assert all(s.amount_received in (0, s.amount) for s in history)


def _later(before: PaymentSnapshot, after: PaymentSnapshot) -> PaymentSnapshot:
    """before, as observed again at after's time."""
    return dataclasses.replace(before, observed_at=after.observed_at)


@given(data=st.data())
def test_refund_histories_stay_within_what_was_received_and_walk_the_refund_lifecycle(data: st.DataObject) -> None:
    history = data.draw(payment_histories(ends_in=[PaymentStatus.SUCCEEDED]))
    refunds = data.draw(refund_histories(history))
    received = history[-1].amount_received

    assert sum(r[0].amount for r in refunds) <= received
    assert len({r[0].gateway_refund_id for r in refunds}) == len(refunds)
    for refund in refunds:
        assert refund[0].status is RefundStatus.PENDING
        assert refund[0].observed_at > _first_success(history)  # a refund needs the money first
        for before, after in itertools.pairwise(refund):
            assert before.observed_at < after.observed_at
            assert after.status is before.status or after.status in REFUND_TRANSITIONS[before.status]
        assert all((s.failure_reason is not None) == (s.status is RefundStatus.FAILED) for s in refund)


def _first_success(history: list[PaymentSnapshot]) -> datetime:
    return next(s.observed_at for s in history if s.status is PaymentStatus.SUCCEEDED)


@given(data=st.data())
def test_a_delivery_stream_delivers_every_report_at_least_once_and_nothing_else(data: st.DataObject) -> None:
    history = data.draw(payment_histories())
    stream = data.draw(delivery_streams(history))
    sent, delivered = Counter(map(_key, history)), Counter(map(_key, stream))
    assert set(delivered) == set(sent)
    assert all(delivered[k] >= n for k, n in sent.items())
    assert len(stream) <= 2 * len(history)


def _key(report: PaymentSnapshot | RefundSnapshot) -> tuple[object, ...]:
    return (report.status, report.observed_at)
