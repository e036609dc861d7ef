"""SandboxPaymentGateway: the port on the network, with Stripe's answers translated as the Stripe adapter does."""

from __future__ import annotations

import pytest

from adapters.clock import FixedClock
from adapters.sandbox import SandboxApiError, SandboxNetwork, SandboxPaymentGateway
from adapters.sandbox.gateway import domain_error
from adapters.stripe_wire.signature import sign
from application.ports.gateway import CreatePaymentRequest, GatewayCustomerRequest
from domain.errors import (
    AmountNotAllowed,
    CardDeclined,
    GatewayAuthError,
    InvalidGatewayRequest,
    InvalidSignature,
    RefundExceedsRefundable,
)
from domain.money import Money
from domain.payment import CaptureMethod, NextAction, PaymentStatus
from domain.refund import RefundStatus
from tests.unit.sandbox.conftest import ACCOUNT, START, WEBHOOK_SECRET, account


def request(**changes: object) -> CreatePaymentRequest:
    params: dict[str, object] = {"payment_id": "pay_1", "order_id": "ord_1", "amount": Money(2000, "usd"),
                                 "capture_method": CaptureMethod.AUTOMATIC, **changes}
    return CreatePaymentRequest(**params)  # type: ignore[arg-type]


def test_it_is_the_sandbox_kind_and_keeps_saved_cards(gateway: SandboxPaymentGateway) -> None:
    assert (gateway.kind, gateway.supports_saved_cards) == ("sandbox", True)


async def test_snapshots_carry_the_intent_observed_now(gateway: SandboxPaymentGateway, clock: FixedClock) -> None:
    created = await gateway.create_payment(
        request(gateway_payment_method_id="pm_card_threeDSecure2Required", confirm=True,
                return_url="https://shop.example/back"), "pay_1:create")
    snapshot = created.snapshot
    assert snapshot.status is PaymentStatus.REQUIRES_ACTION
    assert snapshot.next_action == NextAction("redirect_to_url",
                                              f"http://127.0.0.1:8000/sandbox/3ds/{snapshot.gateway_payment_id}")
    assert snapshot.observed_at == START
    assert snapshot.gateway_payment_method_id is not None
    assert created.client_secret.startswith(f"{snapshot.gateway_payment_id}_secret_")


async def test_hexpays_ids_travel_as_metadata(gateway: SandboxPaymentGateway, network: SandboxNetwork) -> None:
    created = await gateway.create_payment(request(description="Order 1"), "pay_1:create")
    intent = network.retrieve_payment_intent(ACCOUNT, str(created.snapshot.gateway_payment_id))
    assert intent["metadata"] == {"hexpay_payment_id": "pay_1", "hexpay_order_id": "ord_1"}
    assert intent["description"] == "Order 1"
    found = await gateway.find_payment("pay_1")
    assert found is not None and found.gateway_payment_id == created.snapshot.gateway_payment_id


async def test_save_card_asks_to_keep_the_card_for_later(gateway: SandboxPaymentGateway, network: SandboxNetwork,
                                                         customer: str) -> None:
    card = network.tokenize("4242424242424242", 12, 2034)
    created = await gateway.create_payment(
        request(gateway_customer_id=customer, gateway_payment_method_id=card, save_card=True, confirm=True),
        "pay_1:create")
    assert created.snapshot.status is PaymentStatus.SUCCEEDED
    intent = network.retrieve_payment_intent(ACCOUNT, str(created.snapshot.gateway_payment_id))
    assert intent["setup_future_usage"] == "off_session"
    saved = await gateway.attach_payment_method(gateway_customer_id=customer, gateway_payment_method_id=card,
                                                idempotency_key="attach")
    assert saved.gateway_customer_id == customer


async def test_a_decline_at_attach_is_card_declined_with_stripes_codes(gateway: SandboxPaymentGateway,
                                                                      customer: str) -> None:
    with pytest.raises(CardDeclined) as declined:
        await gateway.attach_payment_method(gateway_customer_id=customer,
                                            gateway_payment_method_id="pm_card_chargeDeclinedInsufficientFunds",
                                            idempotency_key="attach")
    assert (declined.value.error_code, declined.value.decline_code) == ("card_declined", "insufficient_funds")
    assert declined.value.code == "card_declined"


async def test_a_decline_at_payment_is_an_answer(gateway: SandboxPaymentGateway) -> None:
    created = await gateway.create_payment(request(gateway_payment_method_id="pm_card_chargeDeclined", confirm=True),
                                           "pay_1:create")
    assert created.snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert created.snapshot.last_error is not None
    assert (created.snapshot.last_error.code, created.snapshot.last_error.decline_code) == (
        "card_declined", "generic_decline")
    assert created.client_secret


async def test_an_amount_stripe_refuses_never_reaches_the_network(gateway: SandboxPaymentGateway,
                                                                  network: SandboxNetwork) -> None:
    with pytest.raises(AmountNotAllowed, match="minimum"):
        await gateway.create_payment(request(amount=Money(49, "usd")), "pay_1:create")
    assert network.drain_webhooks(ACCOUNT) == []


async def test_refunds_beyond_the_refundable_are_refund_exceeds_refundable(gateway: SandboxPaymentGateway) -> None:
    created = await gateway.create_payment(request(gateway_payment_method_id="pm_card_visa", confirm=True), "k")
    intent = str(created.snapshot.gateway_payment_id)
    refund = await gateway.create_refund(refund_id="rfd_1", gateway_payment_id=intent, amount=2000,
                                         reason="goodwill", idempotency_key="rfd_1:create")
    assert (refund.refund_id, refund.status, refund.reason) == ("rfd_1", RefundStatus.SUCCEEDED, None)
    with pytest.raises(RefundExceedsRefundable):
        await gateway.create_refund(refund_id="rfd_2", gateway_payment_id=intent, amount=1, reason=None,
                                    idempotency_key="rfd_2:create")
    assert (await gateway.retrieve_payment(intent)).amount_refunded == 2000
    assert (await gateway.retrieve_refund(refund.gateway_refund_id)).gateway_refund_id == refund.gateway_refund_id


async def test_a_refund_reason_outside_stripes_three_travels_as_metadata(gateway: SandboxPaymentGateway,
                                                                         network: SandboxNetwork) -> None:
    created = await gateway.create_payment(request(gateway_payment_method_id="pm_card_visa", confirm=True), "k")
    refund = await gateway.create_refund(refund_id="rfd_1", gateway_payment_id=str(created.snapshot.gateway_payment_id),
                                         amount=100, reason="goodwill gesture", idempotency_key="rfd_1:create")
    stored = network.retrieve_refund(ACCOUNT, refund.gateway_refund_id)
    assert (stored["reason"], stored["metadata"]) == (
        None, {"hexpay_refund_id": "rfd_1", "hexpay_refund_reason": "goodwill gesture"})


async def test_other_refusals_are_invalid_gateway_requests(gateway: SandboxPaymentGateway, network: SandboxNetwork,
                                                           customer: str) -> None:
    with pytest.raises(InvalidGatewayRequest, match="No such payment_intent"):
        await gateway.retrieve_payment("pi_missing")
    card = network.tokenize("4242424242424242", 12, 2034)
    await gateway.create_payment(request(gateway_payment_method_id=card), "pay_1:create")
    with pytest.raises(InvalidGatewayRequest, match="not attached"):
        await gateway.detach_payment_method(gateway_payment_method_id=card, idempotency_key="d")
    with pytest.raises(InvalidGatewayRequest):
        await gateway.set_default_payment_method(gateway_customer_id=customer,
                                                 gateway_payment_method_id="pm_missing", idempotency_key="s")


async def test_two_gateways_of_one_account_share_its_state(network: SandboxNetwork,
                                                           gateway: SandboxPaymentGateway) -> None:
    twin = SandboxPaymentGateway(account(), network)
    customer_request = GatewayCustomerRequest(customer_id="cus_1", reference="user-1", email=None)
    assert await gateway.ensure_customer(customer_request, "cus_1:gateway-customer") == await twin.ensure_customer(
        customer_request, "cus_1:gateway-customer")
    created = await gateway.create_payment(request(), "pay_1:create")
    assert (await twin.retrieve_payment(str(created.snapshot.gateway_payment_id))).status is (
        PaymentStatus.REQUIRES_PAYMENT_METHOD)
    stranger = SandboxPaymentGateway(account("gw_stranger"), network)
    with pytest.raises(InvalidGatewayRequest):
        await stranger.retrieve_payment(str(created.snapshot.gateway_payment_id))


async def test_the_customer_links_back_to_hexpay(gateway: SandboxPaymentGateway, network: SandboxNetwork) -> None:
    customer = await gateway.ensure_customer(
        GatewayCustomerRequest(customer_id="cus_1", reference="user-1", email="a@example.com"), "cus_1:create")
    stored = network.retrieve_customer(ACCOUNT, customer)
    assert (stored["email"], stored["metadata"]) == (
        "a@example.com", {"hexpay_customer_id": "cus_1", "hexpay_reference": "user-1"})


def test_webhooks_are_verified_against_the_networks_clock(gateway: SandboxPaymentGateway, network: SandboxNetwork,
                                                          clock: FixedClock) -> None:
    network.create_payment_intent(ACCOUNT, amount=2000, currency="usd")
    [(body, headers)] = network.drain_webhooks(ACCOUNT)
    assert gateway.parse_webhook(body, headers).type == "payment_intent.created"
    clock.advance(301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        gateway.parse_webhook(body, headers)
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(body, {"Stripe-Signature": sign(body, "whsec_wrong", network.unix_now())})


def test_an_account_the_network_does_not_know_is_a_gateway_auth_error() -> None:
    error = SandboxApiError(401, "authentication_error", "Invalid API Key provided")
    assert isinstance(domain_error(error), GatewayAuthError)


def test_no_secret_shows_in_a_repr(gateway: SandboxPaymentGateway, network: SandboxNetwork) -> None:
    created = network.create_payment_intent(ACCOUNT, amount=2000, currency="usd", payment_method="pm_card_visa")
    intent = network.account(ACCOUNT).intents[created["id"]]
    method = network.vault.of_account(ACCOUNT, created["payment_method"])
    for shown in (repr(gateway), repr(network), repr(intent), repr(method), repr(network.account(ACCOUNT))):
        assert WEBHOOK_SECRET not in shown
        assert created["client_secret"] not in shown
        assert "4242424242424242" not in shown
