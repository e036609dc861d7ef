from __future__ import annotations

import json

import pytest

from adapters.stripe_wire.mapping import MalformedStripeObject
from adapters.stripe_wire.signature import sign
from adapters.stripe_wire.webhook import parse_webhook
from domain.errors import InvalidSignature
from domain.payment import PaymentStatus
from tests.unit.stripe.conftest import stripe_event, stripe_object

NOW = 1_767_225_600
SECRET = "whsec_hexpay_test"


def _delivery(body: bytes, secret: str = SECRET, at: int = NOW) -> dict[str, str]:
    return {"Content-Type": "application/json", "stripe-signature": sign(body, secret, at)}


def test_a_signed_event_is_verified_then_decoded() -> None:
    intent = stripe_object("payment_intent", status="succeeded", amount_received=1099, next_action=None,
                           last_payment_error=None, metadata={"hexpay_payment_id": "pay_1"})
    body = json.dumps(stripe_event("payment_intent.succeeded", intent, created=NOW - 5)).encode()
    event = parse_webhook(body, _delivery(body), [SECRET], now=NOW)
    assert event.payment is not None and event.payment.status is PaymentStatus.SUCCEEDED
    assert event.payment_id == "pay_1"


def test_the_signature_is_checked_before_the_body_is_parsed() -> None:
    body = b"not json at all"
    with pytest.raises(InvalidSignature):
        parse_webhook(body, _delivery(body, secret="whsec_forged"), SECRET, now=NOW)
    with pytest.raises(MalformedStripeObject):
        parse_webhook(body, _delivery(body), SECRET, now=NOW)


def test_a_replayed_delivery_outside_the_tolerance_is_refused() -> None:
    body = json.dumps(stripe_object("event")).encode()
    with pytest.raises(InvalidSignature):
        parse_webhook(body, _delivery(body, at=NOW - 301), SECRET, now=NOW)


def test_a_signed_body_that_is_not_an_event_is_malformed() -> None:
    body = json.dumps(stripe_object("refund")).encode()
    with pytest.raises(MalformedStripeObject):
        parse_webhook(body, _delivery(body), SECRET, now=NOW)
