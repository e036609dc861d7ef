"""Every change is an event in Stripe's shape, signed in Stripe's scheme, kept per account and delivered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from adapters.clock import FixedClock
from adapters.sandbox import SandboxApiError, SandboxNetwork, SandboxPaymentGateway
from adapters.stripe_wire.signature import verify
from domain.errors import InvalidSignature
from domain.payment import PaymentStatus
from domain.refund import RefundStatus
from tests.unit.sandbox.conftest import ACCOUNT, WEBHOOK_SECRET, account


def events(network: SandboxNetwork, account_id: str = ACCOUNT) -> list[dict[str, Any]]:
    return [json.loads(body) for body, _ in network.drain_webhooks(account_id)]


def types(network: SandboxNetwork) -> list[str]:
    return [event["type"] for event in events(network)]


def paid(network: SandboxNetwork, method: str = "pm_card_visa", **params: Any) -> dict[str, Any]:
    return network.create_payment_intent(ACCOUNT, amount=2000, currency="usd", payment_method=method, confirm=True,
                                         **params)


def test_an_event_has_stripes_shape(network: SandboxNetwork, gateway: object, clock: FixedClock) -> None:
    created = network.create_payment_intent(ACCOUNT, amount=2000, currency="usd")
    [event] = events(network)
    assert event == {
        "id": event["id"], "object": "event", "api_version": "2026-10-28.endive",
        "created": int(clock.now().timestamp()), "data": {"object": created}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": "payment_intent.created",
    }
    assert event["id"].startswith("evt_")


def test_each_event_is_signed_with_the_accounts_secret_when_it_is_sent(
    network: SandboxNetwork, gateway: object, clock: FixedClock
) -> None:
    paid(network)
    clock.advance(3600)  # Stripe signs each delivery afresh: an hour-old event is still signed now
    sent = network.drain_webhooks(ACCOUNT)
    assert sent
    for body, headers in sent:
        assert headers["Content-Type"].startswith("application/json")
        assert verify(body, headers["Stripe-Signature"], WEBHOOK_SECRET, now=network.unix_now()) == network.unix_now()
        with pytest.raises(InvalidSignature):
            verify(body, headers["Stripe-Signature"], "whsec_someone_else", now=network.unix_now())


def test_a_payment_reports_creation_charge_and_success(network: SandboxNetwork, gateway: object) -> None:
    paid(network)
    assert types(network) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]


def test_a_decline_reports_the_failed_charge_and_payment(network: SandboxNetwork, gateway: object) -> None:
    with pytest.raises(SandboxApiError):
        paid(network, "pm_card_chargeDeclinedInsufficientFunds")
    sent = events(network)
    assert [e["type"] for e in sent] == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]
    failed = sent[-1]["data"]["object"]
    assert (failed["status"], failed["last_payment_error"]["decline_code"]) == (
        "requires_payment_method", "insufficient_funds")


def test_3ds_reports_the_action_then_the_outcome(network: SandboxNetwork, gateway: object) -> None:
    intent = paid(network, "pm_card_threeDSecure2Required")
    assert types(network) == ["payment_intent.created", "payment_intent.requires_action"]
    network.authenticate(intent["id"], success=False)
    assert types(network) == ["payment_intent.payment_failed"]
    network.confirm_payment_intent(ACCOUNT, intent["id"], payment_method="pm_card_authenticationRequired")
    network.authenticate(intent["id"], success=True)
    assert types(network) == ["payment_intent.requires_action", "charge.succeeded", "payment_intent.succeeded"]


def test_an_event_drained_late_shows_the_object_as_it_was_when_it_happened(network: SandboxNetwork,
                                                                          gateway: object) -> None:
    # Events are encoded when they are sent, not when they happen: what was published must be a snapshot that
    # the object's later changes (a failed challenge, a retry, a capture, a refund) leave as it was.
    intent = paid(network, "pm_card_threeDSecure2Required", capture_method="manual")
    network.authenticate(intent["id"], success=False)
    network.confirm_payment_intent(ACCOUNT, intent["id"], payment_method="pm_card_visa")
    network.capture_payment_intent(ACCOUNT, intent["id"])
    network.create_refund(ACCOUNT, payment_intent=intent["id"], amount=500)
    sent = {e["type"]: e["data"]["object"] for e in events(network)}
    created = sent["payment_intent.created"]
    assert (created["status"], created["next_action"], created["last_payment_error"]) == (
        "requires_confirmation", None, None)
    assert sent["payment_intent.requires_action"]["status"] == "requires_action"
    assert sent["payment_intent.requires_action"]["next_action"]["redirect_to_url"]["url"].endswith(
        f"/sandbox/3ds/{intent['id']}")
    assert sent["payment_intent.requires_action"]["last_payment_error"] is None
    failed = sent["payment_intent.payment_failed"]
    assert failed["status"] == "requires_payment_method" and failed["next_action"] is None
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert sent["payment_intent.amount_capturable_updated"]["last_payment_error"] is None
    assert sent["payment_intent.amount_capturable_updated"]["amount_received"] == 0
    assert sent["charge.captured"]["amount_refunded"] == 0 and sent["charge.refunded"]["amount_refunded"] == 500


def test_capture_cancel_and_refunds_report_themselves(network: SandboxNetwork, gateway: object) -> None:
    authorised = paid(network, capture_method="manual")
    assert types(network)[-1] == "payment_intent.amount_capturable_updated"
    network.capture_payment_intent(ACCOUNT, authorised["id"])
    assert types(network) == ["charge.captured", "payment_intent.succeeded"]
    network.create_refund(ACCOUNT, payment_intent=authorised["id"], amount=300)
    refunded = events(network)
    assert [e["type"] for e in refunded] == ["refund.created", "charge.refunded"]
    assert refunded[1]["data"]["object"]["amount_refunded"] == 300
    other = paid(network, capture_method="manual")
    events(network)
    network.cancel_payment_intent(ACCOUNT, other["id"])
    assert types(network) == ["payment_intent.canceled"]


def test_a_refund_that_fails_later_reports_its_failure(network: SandboxNetwork, gateway: object) -> None:
    intent = paid(network, "pm_card_refundFail")
    network.create_refund(ACCOUNT, payment_intent=intent["id"])
    events(network)
    network.run_deferred()
    sent = events(network)
    assert [e["type"] for e in sent] == ["charge.refund.updated", "refund.failed"]
    assert sent[1]["data"]["object"]["status"] == "failed"


def test_customers_and_cards_report_themselves(network: SandboxNetwork, customer: str) -> None:
    card = network.attach_payment_method(ACCOUNT, "pm_card_visa", customer=customer)["id"]
    network.set_default_payment_method(ACCOUNT, customer, card)
    network.detach_payment_method(ACCOUNT, card)
    assert types(network) == ["customer.created", "payment_method.attached", "customer.updated",
                              "customer.updated", "payment_method.detached"]


def test_a_drained_outbox_is_empty_and_accounts_are_apart(network: SandboxNetwork, gateway: object) -> None:
    network.register_account("gw_other", "whsec_other")
    paid(network)
    assert network.drain_webhooks("gw_other") == []
    assert len(network.drain_webhooks(ACCOUNT)) == 3
    assert network.drain_webhooks(ACCOUNT) == []


def test_a_rotated_secret_signs_the_events_sent_after_it(network: SandboxNetwork, gateway: object) -> None:
    paid(network)
    SandboxPaymentGateway(account(webhook_secret="whsec_rotated"), network)
    body, headers = network.drain_webhooks(ACCOUNT)[0]
    verify(body, headers["Stripe-Signature"], "whsec_rotated", now=network.unix_now())


async def test_the_gateway_parses_what_the_network_sends(network: SandboxNetwork,
                                                         gateway: SandboxPaymentGateway) -> None:
    intent = paid(network, metadata={"hexpay_payment_id": "pay_1"})
    network.create_refund(ACCOUNT, payment_intent=intent["id"], amount=500, metadata={"hexpay_refund_id": "rfd_1"})
    parsed = [gateway.parse_webhook(body, headers) for body, headers in network.drain_webhooks(ACCOUNT)]
    succeeded = next(e for e in parsed if e.type == "payment_intent.succeeded")
    assert succeeded.payment is not None
    assert (succeeded.payment.status, succeeded.payment_id, succeeded.gateway_payment_id) == (
        PaymentStatus.SUCCEEDED, "pay_1", intent["id"])
    refund = next(e for e in parsed if e.type == "refund.created")
    assert [(r.refund_id, r.amount, r.status) for r in refund.refunds] == [("rfd_1", 500, RefundStatus.SUCCEEDED)]
    assert not next(e for e in parsed if e.type == "charge.succeeded").handled


async def test_events_are_delivered_in_the_background_with_a_fresh_signature(clock: FixedClock) -> None:
    received: list[tuple[str, bytes, dict[str, str]]] = []

    async def deliver(account_id: str, body: bytes, headers: dict[str, str]) -> None:
        received.append((account_id, body, headers))

    network = SandboxNetwork(now=clock.now, deliver=deliver, later_after=None)
    gateway = SandboxPaymentGateway(account(), network)
    paid(network)
    assert received == []  # nothing is sent inside the call that made the change
    await network.wait_for_deliveries()
    assert [json.loads(body)["type"] for _, body, _ in received] == [
        "payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    for account_id, body, headers in received:
        assert account_id == ACCOUNT
        assert gateway.parse_webhook(body, headers).event_id == json.loads(body)["id"]
    assert len(network.drain_webhooks(ACCOUNT)) == 3  # the outbox keeps them for a test to read as well


async def test_a_failing_receiver_never_breaks_the_payment_and_is_retried(clock: FixedClock) -> None:
    attempts: list[str] = []

    async def deliver(account_id: str, body: bytes, headers: dict[str, str]) -> None:
        attempts.append(json.loads(body)["type"])
        if len(attempts) <= 2:
            raise ConnectionError("receiver down")

    network = SandboxNetwork(now=clock.now, deliver=deliver, later_after=None, delivery_retry_delays=(0.0, 0.0))
    SandboxPaymentGateway(account(), network)
    created = network.create_payment_intent(ACCOUNT, amount=2000, currency="usd")
    assert created["status"] == "requires_payment_method"
    await network.wait_for_deliveries()
    assert attempts == ["payment_intent.created"] * 3  # failed twice, delivered on the third attempt


async def test_a_receiver_that_never_answers_is_given_up_on(clock: FixedClock) -> None:
    attempts = 0

    async def deliver(account_id: str, body: bytes, headers: dict[str, str]) -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("receiver down")

    network = SandboxNetwork(now=clock.now, deliver=deliver, later_after=None, delivery_retry_delays=(0.0,))
    SandboxPaymentGateway(account(), network)
    network.create_payment_intent(ACCOUNT, amount=2000, currency="usd")
    await asyncio.wait_for(network.wait_for_deliveries(), timeout=1)
    assert attempts == 2


def test_outside_an_event_loop_events_wait_in_the_outbox(clock: FixedClock) -> None:
    async def deliver(account_id: str, body: bytes, headers: dict[str, str]) -> None:
        raise AssertionError("no loop, no delivery")

    network = SandboxNetwork(now=clock.now, deliver=deliver, later_after=None)
    SandboxPaymentGateway(account(), network)
    network.create_payment_intent(ACCOUNT, amount=2000, currency="usd")
    assert len(network.drain_webhooks(ACCOUNT)) == 1
