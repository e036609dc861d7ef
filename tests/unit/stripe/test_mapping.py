"""Stripe's example objects (and variations of them) become the right gateway-neutral snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from adapters.stripe_wire.mapping import (
    HANDLED_EVENT_TYPES,
    MalformedStripeObject,
    charge_refund_snapshots,
    dispute_snapshot,
    gateway_event,
    gateway_payment_method,
    payment_snapshot,
    refund_snapshot,
)
from domain.errors import InvalidGatewayRequest
from domain.payment import NextAction, PaymentError, PaymentStatus
from domain.refund import RefundStatus
from tests.unit.stripe.conftest import stripe_event, stripe_object

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HEXPAY_META = {"hexpay_payment_id": "pay_000001", "hexpay_order_id": "ord_000001"}


def test_the_published_payment_intent_maps_as_is() -> None:
    snapshot = payment_snapshot(stripe_object("payment_intent"), AT)
    assert snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert (snapshot.amount, snapshot.currency) == (1099, "usd")
    assert (snapshot.amount_received, snapshot.amount_capturable, snapshot.amount_refunded) == (0, 0, 0)
    assert snapshot.gateway_payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"
    assert snapshot.gateway_payment_method_id is None
    assert snapshot.observed_at == AT
    # the example's error has only a type: nothing hexpay shows, but it is an error
    assert snapshot.last_error == PaymentError(code=None, decline_code=None, message=None)
    assert snapshot.next_action is None  # only an intent that requires action has one


def test_a_succeeded_intent_with_its_expanded_charge_reports_received_and_refunded() -> None:
    charge = stripe_object("charge", id="ch_1", amount=5000, amount_captured=5000, amount_refunded=1200,
                           payment_intent="pi_1")
    intent = stripe_object("payment_intent", id="pi_1", amount=5000, amount_received=5000, status="succeeded",
                           last_payment_error=None, next_action=None, latest_charge=charge,
                           payment_method="pm_1", metadata=HEXPAY_META)
    snapshot = payment_snapshot(intent, AT)
    assert snapshot.status is PaymentStatus.SUCCEEDED
    assert (snapshot.amount_received, snapshot.amount_refunded) == (5000, 1200)
    assert snapshot.gateway_payment_method_id == "pm_1"
    assert snapshot.last_error is None


def test_a_decline_carries_code_decline_code_and_message() -> None:
    intent = stripe_object("payment_intent", next_action=None, last_payment_error={
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.", "payment_method": {"id": "pm_x", "object": "payment_method"},
    })
    assert payment_snapshot(intent, AT).last_error == PaymentError(
        code="card_declined", decline_code="insufficient_funds", message="Your card has insufficient funds.")


def test_3ds_redirect_becomes_a_url_and_the_sdk_handoff_stays_one() -> None:
    redirect = stripe_object("payment_intent", status="requires_action", last_payment_error=None, next_action={
        "type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3d_secure_2/x",
                                                       "return_url": "https://shop.example/back"}})
    sdk = stripe_object("payment_intent", status="requires_action", last_payment_error=None, next_action={
        "type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""}})
    assert payment_snapshot(redirect, AT).next_action == NextAction("redirect_to_url",
                                                                    "https://hooks.stripe.com/3d_secure_2/x")
    assert payment_snapshot(sdk, AT).next_action == NextAction("use_sdk")


def test_a_manual_capture_intent_reports_what_can_be_captured() -> None:
    intent = stripe_object("payment_intent", status="requires_capture", amount_capturable=1099, next_action=None,
                           last_payment_error=None, capture_method="manual", payment_method={"id": "pm_2"})
    snapshot = payment_snapshot(intent, AT)
    assert (snapshot.status, snapshot.amount_capturable) == (PaymentStatus.REQUIRES_CAPTURE, 1099)
    assert snapshot.gateway_payment_method_id == "pm_2"


def test_a_server_omitting_received_amounts_gets_them_derived_from_its_charge() -> None:
    # localstripe's intents have no amount_received/amount_capturable; its latest_charge is always expanded
    intent = {"id": "pi_2", "object": "payment_intent", "amount": 700, "currency": "eur", "status": "succeeded",
              "latest_charge": {"id": "ch_2", "amount": 700, "status": "succeeded", "amount_refunded": 0}}
    assert payment_snapshot(intent, AT).amount_received == 700
    intent |= {"status": "requires_capture"}
    snapshot = payment_snapshot(intent, AT)
    assert (snapshot.amount_received, snapshot.amount_capturable) == (0, 700)


def test_legacy_statuses_are_translated() -> None:
    intent = stripe_object("payment_intent", status="requires_source_action", next_action=None)
    assert payment_snapshot(intent, AT).status is PaymentStatus.REQUIRES_ACTION


@pytest.mark.parametrize("change", [{"status": "exploded"}, {"amount": None}, {"amount": "1099"}, {"currency": None}])
def test_an_intent_without_a_usable_status_amount_or_currency_is_malformed(change: dict[str, object]) -> None:
    with pytest.raises(MalformedStripeObject):
        payment_snapshot(stripe_object("payment_intent", **change), AT)
    assert issubclass(MalformedStripeObject, InvalidGatewayRequest)


def test_the_published_refund_maps_as_is() -> None:
    snapshot = refund_snapshot(stripe_object("refund"), AT)
    assert snapshot.gateway_refund_id == "re_1Pgc72B7WZ01zgkWqPvrRrPE"
    assert (snapshot.amount, snapshot.currency, snapshot.status) == (100, "usd", RefundStatus.SUCCEEDED)
    assert (snapshot.refund_id, snapshot.gateway_payment_id, snapshot.failure_reason) == (None, None, None)


@pytest.mark.parametrize("status", ["pending", "requires_action", "succeeded", "failed", "canceled"])
def test_every_refund_status_maps_and_hexpay_ids_come_back_from_metadata(status: str) -> None:
    refund = stripe_object("refund", status=status, payment_intent="pi_9", metadata={"hexpay_refund_id": "rfd_1"},
                           failure_reason="expired_or_canceled_card" if status == "failed" else None,
                           reason="requested_by_customer")
    snapshot = refund_snapshot(refund, AT)
    assert snapshot.status is RefundStatus(status)
    assert (snapshot.refund_id, snapshot.gateway_payment_id, snapshot.reason) == ("rfd_1", "pi_9",
                                                                                   "requested_by_customer")
    assert snapshot.failure_reason == ("expired_or_canceled_card" if status == "failed" else None)


def test_an_unknown_refund_status_is_malformed() -> None:
    with pytest.raises(MalformedStripeObject):
        refund_snapshot(stripe_object("refund", status="reversed"), AT)


def test_a_charge_lists_its_refunds_with_the_intent_filled_in() -> None:
    first = stripe_object("refund", id="re_a", amount=300, payment_intent=None)
    second = stripe_object("refund", id="re_b", amount=200, payment_intent="pi_5", status="pending")
    charge = stripe_object("charge", payment_intent="pi_5", amount_refunded=500, refunded=False)
    charge["refunds"]["data"] = [first, second]
    snapshots = charge_refund_snapshots(charge, AT)
    assert [(s.gateway_refund_id, s.amount, s.status, s.gateway_payment_id) for s in snapshots] == [
        ("re_a", 300, RefundStatus.SUCCEEDED, "pi_5"), ("re_b", 200, RefundStatus.PENDING, "pi_5")]


def test_a_charge_without_its_refund_list_yields_no_refund_snapshot() -> None:
    charge = stripe_object("charge")
    del charge["refunds"]  # API versions from 2022-11-15 stopped including it
    assert charge_refund_snapshots(charge, AT) == ()


def test_the_published_dispute_maps_as_is() -> None:
    snapshot = dispute_snapshot(stripe_object("dispute", payment_intent="pi_7"), AT)
    assert (snapshot.gateway_dispute_id, snapshot.amount, snapshot.currency) == ("dp_1Pgc71B7WZ01zgkWMevJiAUx",
                                                                                 1000, "usd")
    assert (snapshot.status, snapshot.reason, snapshot.gateway_payment_id) == ("warning_needs_response", "general",
                                                                                "pi_7")


def test_the_published_payment_method_becomes_a_card() -> None:
    method = gateway_payment_method(stripe_object("payment_method", customer="cus_1"))
    assert method.gateway_payment_method_id == "pm_1Pgc75B7WZ01zgkWlHVgdEGJ"
    assert (method.card.brand, method.card.last4, method.card.exp_month, method.card.exp_year) == (
        "visa", "4242", 8, 2030)
    assert method.gateway_customer_id == "cus_1"


# ---- events -------------------------------------------------------------------------------------------------
def test_the_published_event_is_a_type_hexpay_ignores() -> None:
    event = gateway_event(stripe_object("event"))
    assert (event.event_id, event.type, event.handled) == ("evt_1Pgc76B7WZ01zgkWwyRHS12y", "plan.created", False)
    assert event.occurred_at == datetime.fromtimestamp(1234567890, UTC)
    assert event.payment is None and event.refunds == () and event.dispute is None


@pytest.mark.parametrize("event_type", sorted(t for t in HANDLED_EVENT_TYPES if t.startswith("payment_intent.")))
def test_payment_intent_events_carry_the_snapshot_observed_when_the_event_happened(event_type: str) -> None:
    intent = stripe_object("payment_intent", id="pi_3", metadata=HEXPAY_META, next_action=None)
    event = gateway_event(stripe_event(event_type, intent, id="evt_3", created=1_767_225_600))
    assert event.handled and event.type == event_type
    assert event.payment is not None and event.payment.observed_at == event.occurred_at
    assert (event.gateway_payment_id, event.payment_id) == ("pi_3", "pay_000001")


def test_charge_refunded_carries_its_refunds_and_the_intent() -> None:
    charge = stripe_object("charge", payment_intent="pi_4", metadata=HEXPAY_META)
    charge["refunds"]["data"] = [stripe_object("refund", id="re_4", metadata={"hexpay_refund_id": "rfd_4"})]
    event = gateway_event(stripe_event("charge.refunded", charge))
    assert event.handled and event.gateway_payment_id == "pi_4" and event.payment_id == "pay_000001"
    assert [(r.gateway_refund_id, r.refund_id) for r in event.refunds] == [("re_4", "rfd_4")]


@pytest.mark.parametrize("event_type", ["charge.refund.updated", "refund.created", "refund.updated", "refund.failed"])
def test_refund_events_carry_one_refund(event_type: str) -> None:
    refund = stripe_object("refund", payment_intent="pi_6", status="failed", failure_reason="unknown",
                           metadata={"hexpay_refund_id": "rfd_6"})
    event = gateway_event(stripe_event(event_type, refund))
    assert event.handled and event.gateway_payment_id == "pi_6"
    assert [(r.refund_id, r.status) for r in event.refunds] == [("rfd_6", RefundStatus.FAILED)]


@pytest.mark.parametrize(("event_type", "status"), [("charge.dispute.created", "needs_response"),
                                                    ("charge.dispute.closed", "lost")])
def test_dispute_events_carry_the_dispute(event_type: str, status: str) -> None:
    dispute = stripe_object("dispute", status=status, payment_intent={"id": "pi_8", "object": "payment_intent"})
    event = gateway_event(stripe_event(event_type, dispute))
    assert event.handled and event.dispute is not None
    assert (event.dispute.status, event.gateway_payment_id) == (status, "pi_8")


def test_an_event_without_id_type_or_created_is_malformed() -> None:
    for field in ("id", "type", "created"):
        event = stripe_object("event")
        del event[field]
        with pytest.raises(MalformedStripeObject):
            gateway_event(event)


@pytest.mark.parametrize("status", [*(s.value for s in PaymentStatus), "requires_source", "requires_source_action"])
def test_every_status_maps_the_same_from_a_dict_and_from_any_other_mapping(status: str) -> None:
    """The mapping reads plain dicts on a fast path; a read-only Mapping (what another client might hand over) of
    the same object must give the same snapshot, nested objects (the charge, the 3-D Secure action) included."""
    intent = stripe_object("payment_intent", status=status, metadata=HEXPAY_META,
                           latest_charge={"id": "ch_1", "amount": 1099, "status": "succeeded", "amount_refunded": 99},
                           next_action={"type": "redirect_to_url", "redirect_to_url": {"url": "https://bank/3ds"}})
    frozen = MappingProxyType({key: MappingProxyType(value) if isinstance(value, dict) else value
                               for key, value in intent.items()})
    assert payment_snapshot(frozen, AT) == payment_snapshot(intent, AT)
    assert payment_snapshot(intent, AT).amount_refunded == 99


@pytest.mark.parametrize("status", [None, 7, "Succeeded", "requires_source "])
def test_a_status_that_is_not_one_of_stripes_texts_is_malformed(status: object) -> None:
    with pytest.raises(MalformedStripeObject, match="unknown payment_intent status"):
        payment_snapshot(stripe_object("payment_intent", status=status), AT)
