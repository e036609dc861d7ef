"""The PaymentGateway contract: every adapter behaves as the port promises, checked through its harness.

Runs once per harness (tests/contract/conftest.py). A case that needs something not every gateway can do asks
for a capability first; a harness without it skips that case with the capability's meaning as the reason (a
documented limit of that adapter, not a missing service). The capabilities:
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from application.ports.gateway import (
    CreatedPayment,
    CreatePaymentRequest,
    GatewayCustomerRequest,
    GatewayEvent,
    PaymentGateway,
)
from domain.errors import (
    AmountNotAllowed,
    CardDeclined,
    InvalidGatewayRequest,
    InvalidSignature,
    RefundExceedsRefundable,
)
from domain.money import Money
from domain.payment import CaptureMethod, PaymentSnapshot, PaymentStatus
from domain.refund import RefundStatus
from tests.contract.gateway_harness import (
    CARD_3DS_REQUIRED,
    CARD_DECLINED,
    CARD_DECLINES_ON_CHARGE,
    CARD_INSUFFICIENT_FUNDS,
    CARD_VISA,
    GatewayHarness,
)

CAPABILITIES = {
    "saved_cards": "customers and saved cards (attach, detach, default)",
    "decline_at_attach": "a card failing its $0 check is declined when attached, as at Stripe",
    "payment_method_rules": "a card attached to one customer is refused for another, a detached card is refused "
                            "everywhere, and only the customer's own card can be its default, as at Stripe",
    "three_d_secure": "3-D Secure: requires_action, then the shopper completes or fails it",
    "redirect_3ds": "3-D Secure as a redirect_to_url next action that any frontend can follow",
    "decline_codes": "declines carry Stripe's decline_code (generic_decline, insufficient_funds) at payment time",
    "manual_capture": "authorise now, capture later",
    "partial_capture": "capturing less than authorised takes that amount and releases the rest",
    "refunds": "refunds, partial and full",
    "refund_limits": "the gateway itself refuses a refund above what is still refundable",
    "idempotency": "the same idempotency key returns the same object; with other parameters it is an error",
    "webhooks": "the gateway sends signed events at least for payment success and failure",
    "webhook_events": "the gateway sends signed events for every change (3-D Secure, capture, cancel, refunds)",
    "search": "find_payment finds an intent by hexpay's payment id in its metadata",
}
__doc__ = (__doc__ or "") + "".join(f"\n- {name}: {meaning}" for name, meaning in CAPABILITIES.items())

AMOUNT = 2000
TOLERANCE = 300
WEBHOOK_WAIT_SECONDS = 10.0  # a gateway sends its webhooks a moment after the change (localstripe: ~1 s)


def needs(harness: GatewayHarness, *capabilities: str) -> None:
    for capability in capabilities:
        assert capability in CAPABILITIES, f"unknown capability {capability!r}"
        if capability not in harness.capabilities:
            pytest.skip(f"{type(harness).__name__} lacks {capability!r}: {CAPABILITIES[capability]}")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass
class Payer:
    """One shopper and the requests the suite makes for them; ids unique per test."""

    harness: GatewayHarness
    customer_id: str | None = None

    @property
    def gateway(self) -> PaymentGateway:
        return self.harness.gateway

    async def customer(self) -> str:
        if self.customer_id is None:
            hexpay_id = new_id("cus")
            self.customer_id = await self.gateway.ensure_customer(
                GatewayCustomerRequest(customer_id=hexpay_id, reference=new_id("user"), email="shopper@example.com"),
                f"{hexpay_id}:gateway-customer",
            )
        return self.customer_id

    async def saved_card(self, number: str = CARD_VISA) -> str:
        method = await self.gateway.attach_payment_method(
            gateway_customer_id=await self.customer(),
            gateway_payment_method_id=await self.harness.tokenize_card(number),
            idempotency_key=new_id("attach"),
        )
        return method.gateway_payment_method_id

    def request(
        self,
        *,
        amount: Money | None = None,
        capture: CaptureMethod = CaptureMethod.AUTOMATIC,
        method: str | None = None,
        confirm: bool = False,
    ) -> CreatePaymentRequest:
        return CreatePaymentRequest(
            payment_id=new_id("pay"), order_id=new_id("ord"), amount=amount or Money(AMOUNT, "usd"),
            capture_method=capture, gateway_customer_id=self.customer_id, gateway_payment_method_id=method,
            confirm=confirm, return_url="https://shop.example/return",
        )

    async def pay(self, number: str, *, capture: CaptureMethod = CaptureMethod.AUTOMATIC,
                  saved: bool = False) -> CreatedPayment:
        """Create and confirm in one call, with a fresh card (saved to the customer first when asked)."""
        method = await self.saved_card(number) if saved else await self.harness.tokenize_card(number)
        request = self.request(capture=capture, method=method, confirm=True)
        return await self.gateway.create_payment(request, f"{request.payment_id}:create")


@pytest.fixture
def payer(harness: GatewayHarness) -> Payer:
    return Payer(harness)


def assert_declined(snapshot: PaymentSnapshot, harness: GatewayHarness, decline_code: str) -> None:
    assert snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert snapshot.amount_received == 0
    assert snapshot.last_error is not None
    assert snapshot.last_error.code == "card_declined"
    if "decline_codes" in harness.capabilities:
        assert snapshot.last_error.decline_code == decline_code


# ---- customers and saved cards ---------------------------------------------------------------------------------
async def test_a_customer_is_created_once_per_key(harness: GatewayHarness) -> None:
    needs(harness, "saved_cards", "idempotency")
    request = GatewayCustomerRequest(customer_id=new_id("cus"), reference="user-1", email="a@example.com")
    first = await harness.gateway.ensure_customer(request, f"{request.customer_id}:gateway-customer")
    again = await harness.gateway.ensure_customer(request, f"{request.customer_id}:gateway-customer")
    other = await harness.gateway.ensure_customer(request, f"{request.customer_id}:another-key")
    assert first == again
    assert other != first


async def test_a_tokenised_card_attaches_with_its_card_details(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards")
    customer = await payer.customer()
    token = await harness.tokenize_card(CARD_VISA, exp_month=7, exp_year=2031)
    method = await harness.gateway.attach_payment_method(
        gateway_customer_id=customer, gateway_payment_method_id=token, idempotency_key=new_id("attach"))
    assert method.gateway_payment_method_id == token
    assert method.gateway_customer_id == customer
    assert (method.card.brand, method.card.last4, method.card.exp_month, method.card.exp_year) == (
        "visa", "4242", 7, 2031)


async def test_attaching_a_card_again_to_its_customer_succeeds(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards")
    method = await payer.saved_card()
    again = await harness.gateway.attach_payment_method(
        gateway_customer_id=await payer.customer(), gateway_payment_method_id=method,
        idempotency_key=new_id("attach"))
    assert again.gateway_payment_method_id == method
    assert again.gateway_customer_id == payer.customer_id


async def test_a_card_of_one_customer_cannot_be_attached_to_another(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards", "payment_method_rules")
    method = await payer.saved_card()
    someone_else = await Payer(harness).customer()
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.attach_payment_method(
            gateway_customer_id=someone_else, gateway_payment_method_id=method, idempotency_key=new_id("attach"))


@pytest.mark.parametrize(("number", "decline_code"), [
    (CARD_DECLINED, "generic_decline"), (CARD_INSUFFICIENT_FUNDS, "insufficient_funds")])
async def test_a_card_failing_its_check_is_declined_at_attach(
    harness: GatewayHarness, payer: Payer, number: str, decline_code: str
) -> None:
    needs(harness, "saved_cards", "decline_at_attach")
    with pytest.raises(CardDeclined) as declined:
        await payer.saved_card(number)
    assert declined.value.error_code == "card_declined"
    if "decline_codes" in harness.capabilities:
        assert declined.value.decline_code == decline_code


async def test_a_card_that_declines_only_when_charged_attaches(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards")
    assert await payer.saved_card(CARD_DECLINES_ON_CHARGE)


async def test_a_detached_card_can_no_longer_be_detached_or_charged(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards", "payment_method_rules")
    method = await payer.saved_card()
    await harness.gateway.detach_payment_method(gateway_payment_method_id=method, idempotency_key=new_id("detach"))
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.detach_payment_method(gateway_payment_method_id=method,
                                                    idempotency_key=new_id("detach"))
    request = payer.request(method=method, confirm=True)
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.create_payment(request, f"{request.payment_id}:create")


async def test_a_detached_card_is_gone_from_its_customer(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards", "payment_method_rules")
    method = await payer.saved_card()
    await harness.gateway.detach_payment_method(gateway_payment_method_id=method, idempotency_key=new_id("detach"))
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.set_default_payment_method(
            gateway_customer_id=await payer.customer(), gateway_payment_method_id=method,
            idempotency_key=new_id("default"))


async def test_the_default_moves_between_the_customers_own_cards(harness: GatewayHarness, payer: Payer) -> None:
    # The port reads no default back: this holds each gateway to accepting the customer's own cards, and the
    # next case to refusing any other (the sandbox's unit tests check the stored default itself).
    needs(harness, "saved_cards")
    first, second = await payer.saved_card(), await payer.saved_card("5555555555554444")
    for method in (first, second, first):
        await harness.gateway.set_default_payment_method(
            gateway_customer_id=await payer.customer(), gateway_payment_method_id=method,
            idempotency_key=new_id("default"))
    assert first != second


async def test_a_card_the_customer_does_not_have_cannot_be_the_default(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards", "payment_method_rules")
    strangers_card = await Payer(harness).saved_card()
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.set_default_payment_method(
            gateway_customer_id=await payer.customer(), gateway_payment_method_id=strangers_card,
            idempotency_key=new_id("default"))


# ---- creating and confirming ---------------------------------------------------------------------------------
async def test_a_created_payment_awaits_its_card(harness: GatewayHarness, payer: Payer) -> None:
    request = payer.request()
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    snapshot = created.snapshot
    assert created.client_secret
    assert snapshot.gateway_payment_id
    assert snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert (snapshot.amount, snapshot.currency, snapshot.amount_received) == (AMOUNT, "usd", 0)
    assert snapshot.observed_at.tzinfo is not None
    assert await harness.gateway.retrieve_payment(snapshot.gateway_payment_id) == _same_state(snapshot)


async def test_create_and_confirm_in_one_call_succeeds(harness: GatewayHarness, payer: Payer) -> None:
    snapshot = (await payer.pay(CARD_VISA)).snapshot
    assert snapshot.status is PaymentStatus.SUCCEEDED
    assert (snapshot.amount_received, snapshot.amount_capturable, snapshot.last_error) == (AMOUNT, 0, None)


async def test_create_then_confirm_with_a_saved_card_succeeds(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards")
    method = await payer.saved_card()
    request = payer.request()
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert created.snapshot.gateway_payment_id is not None
    confirmed = await harness.gateway.confirm_payment(
        gateway_payment_id=created.snapshot.gateway_payment_id, gateway_payment_method_id=method,
        return_url=None, idempotency_key=f"{request.payment_id}:confirm:0")
    assert confirmed.status is PaymentStatus.SUCCEEDED
    assert confirmed.amount_received == AMOUNT
    assert confirmed.gateway_payment_id == created.snapshot.gateway_payment_id
    retrieved = await harness.gateway.retrieve_payment(created.snapshot.gateway_payment_id)
    assert retrieved.status is PaymentStatus.SUCCEEDED
    assert retrieved.amount_received == AMOUNT


# ---- 3-D Secure ------------------------------------------------------------------------------------------------
async def test_a_card_needing_3ds_waits_for_the_shopper_then_succeeds(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "three_d_secure")
    snapshot = (await payer.pay(CARD_3DS_REQUIRED)).snapshot
    assert snapshot.status is PaymentStatus.REQUIRES_ACTION
    assert snapshot.next_action is not None
    if "redirect_3ds" in harness.capabilities:
        assert snapshot.next_action.type == "redirect_to_url"
        assert snapshot.next_action.url
        assert str(snapshot.gateway_payment_id) in snapshot.next_action.url
    assert snapshot.gateway_payment_id is not None
    await harness.complete_3ds(snapshot.gateway_payment_id, success=True)
    after = await harness.gateway.retrieve_payment(snapshot.gateway_payment_id)
    assert after.status is PaymentStatus.SUCCEEDED
    assert (after.amount_received, after.next_action) == (AMOUNT, None)


async def test_3ds_with_manual_capture_ends_authorised(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "three_d_secure", "manual_capture")
    snapshot = (await payer.pay(CARD_3DS_REQUIRED, capture=CaptureMethod.MANUAL)).snapshot
    assert snapshot.gateway_payment_id is not None
    await harness.complete_3ds(snapshot.gateway_payment_id, success=True)
    after = await harness.gateway.retrieve_payment(snapshot.gateway_payment_id)
    assert (after.status, after.amount_capturable, after.amount_received) == (
        PaymentStatus.REQUIRES_CAPTURE, AMOUNT, 0)


async def test_a_failed_3ds_returns_the_payment_to_requires_payment_method(
    harness: GatewayHarness, payer: Payer
) -> None:
    needs(harness, "three_d_secure")
    snapshot = (await payer.pay(CARD_3DS_REQUIRED)).snapshot
    assert snapshot.gateway_payment_id is not None
    await harness.complete_3ds(snapshot.gateway_payment_id, success=False)
    after = await harness.gateway.retrieve_payment(snapshot.gateway_payment_id)
    assert after.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert after.last_error is not None
    assert after.last_error.code == "payment_intent_authentication_failure"
    assert (after.amount_received, after.next_action) == (0, None)


# ---- declines --------------------------------------------------------------------------------------------------
async def test_a_saved_card_declined_when_charged_is_reported_not_raised(
    harness: GatewayHarness, payer: Payer
) -> None:
    needs(harness, "saved_cards")
    created = await payer.pay(CARD_DECLINES_ON_CHARGE, saved=True)
    assert_declined(created.snapshot, harness, "generic_decline")
    assert created.client_secret


@pytest.mark.parametrize(("number", "decline_code"), [
    (CARD_DECLINED, "generic_decline"), (CARD_INSUFFICIENT_FUNDS, "insufficient_funds"),
    (CARD_DECLINES_ON_CHARGE, "generic_decline")])
async def test_a_declined_confirmation_is_reported_with_stripes_codes(
    harness: GatewayHarness, payer: Payer, number: str, decline_code: str
) -> None:
    needs(harness, "decline_codes")
    request = payer.request()
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert created.snapshot.gateway_payment_id is not None
    confirmed = await harness.gateway.confirm_payment(
        gateway_payment_id=created.snapshot.gateway_payment_id,
        gateway_payment_method_id=await harness.tokenize_card(number), return_url=None,
        idempotency_key=f"{request.payment_id}:confirm:0")
    assert_declined(confirmed, harness, decline_code)


async def test_after_a_decline_a_good_card_pays_the_same_intent(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "saved_cards")
    declined = (await payer.pay(CARD_DECLINES_ON_CHARGE, saved=True)).snapshot
    assert declined.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert declined.gateway_payment_id is not None
    retried = await harness.gateway.confirm_payment(
        gateway_payment_id=declined.gateway_payment_id, gateway_payment_method_id=await payer.saved_card(),
        return_url=None, idempotency_key=new_id("confirm"))
    assert retried.gateway_payment_id == declined.gateway_payment_id
    assert retried.status is PaymentStatus.SUCCEEDED
    assert (retried.amount_received, retried.last_error) == (AMOUNT, None)


# ---- capture and cancel ----------------------------------------------------------------------------------------
async def authorised(payer: Payer) -> str:
    snapshot = (await payer.pay(CARD_VISA, capture=CaptureMethod.MANUAL)).snapshot
    assert (snapshot.status, snapshot.amount_capturable, snapshot.amount_received) == (
        PaymentStatus.REQUIRES_CAPTURE, AMOUNT, 0)
    assert snapshot.gateway_payment_id is not None
    return snapshot.gateway_payment_id


async def test_a_manual_capture_takes_the_whole_authorisation(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "manual_capture")
    intent = await authorised(payer)
    captured = await harness.gateway.capture_payment(gateway_payment_id=intent, amount=None,
                                                     idempotency_key=f"{intent}:capture")
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        PaymentStatus.SUCCEEDED, AMOUNT, 0)


async def test_a_partial_capture_takes_that_amount(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "manual_capture", "partial_capture")
    intent = await authorised(payer)
    captured = await harness.gateway.capture_payment(gateway_payment_id=intent, amount=1500,
                                                     idempotency_key=f"{intent}:capture")
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        PaymentStatus.SUCCEEDED, 1500, 0)
    assert captured.amount_refunded == 0  # the released remainder is not a refund
    assert (await harness.gateway.retrieve_payment(intent)).amount_received == 1500


async def test_capturing_more_than_authorised_is_refused(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "manual_capture", "partial_capture")
    intent = await authorised(payer)
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.capture_payment(gateway_payment_id=intent, amount=AMOUNT + 1,
                                              idempotency_key=f"{intent}:capture")
    assert (await harness.gateway.retrieve_payment(intent)).status is PaymentStatus.REQUIRES_CAPTURE


async def test_an_authorisation_can_be_canceled(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "manual_capture")
    intent = await authorised(payer)
    canceled = await harness.gateway.cancel_payment(gateway_payment_id=intent, idempotency_key=f"{intent}:cancel")
    assert (canceled.status, canceled.amount_received, canceled.amount_capturable) == (
        PaymentStatus.CANCELED, 0, 0)


async def test_an_unpaid_payment_can_be_canceled(harness: GatewayHarness, payer: Payer) -> None:
    request = payer.request()
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert created.snapshot.gateway_payment_id is not None
    intent = created.snapshot.gateway_payment_id
    canceled = await harness.gateway.cancel_payment(gateway_payment_id=intent, idempotency_key=f"{intent}:cancel")
    assert canceled.status is PaymentStatus.CANCELED
    assert (await harness.gateway.retrieve_payment(intent)).status is PaymentStatus.CANCELED


async def test_a_succeeded_payment_cannot_be_canceled(harness: GatewayHarness, payer: Payer) -> None:
    snapshot = (await payer.pay(CARD_VISA)).snapshot
    assert snapshot.gateway_payment_id is not None
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.cancel_payment(gateway_payment_id=snapshot.gateway_payment_id,
                                             idempotency_key=new_id("cancel"))
    assert (await harness.gateway.retrieve_payment(snapshot.gateway_payment_id)).status is PaymentStatus.SUCCEEDED


# ---- refunds ---------------------------------------------------------------------------------------------------
async def paid(payer: Payer) -> str:
    snapshot = (await payer.pay(CARD_VISA)).snapshot
    assert snapshot.status is PaymentStatus.SUCCEEDED
    assert snapshot.gateway_payment_id is not None
    return snapshot.gateway_payment_id


async def test_a_payment_is_refunded_in_part_then_in_full(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "refunds")
    intent = await paid(payer)
    first_id, rest_id = new_id("rfd"), new_id("rfd")
    first = await harness.gateway.create_refund(refund_id=first_id, gateway_payment_id=intent, amount=500,
                                                reason="requested_by_customer", idempotency_key=f"{first_id}:create")
    rest = await harness.gateway.create_refund(refund_id=rest_id, gateway_payment_id=intent, amount=AMOUNT - 500,
                                               reason=None, idempotency_key=f"{rest_id}:create")
    for refund, amount in ((first, 500), (rest, AMOUNT - 500)):
        assert (refund.amount, refund.currency, refund.status) == (amount, "usd", RefundStatus.SUCCEEDED)
        assert refund.gateway_payment_id == intent
        again = await harness.gateway.retrieve_refund(refund.gateway_refund_id)
        assert (again.gateway_refund_id, again.amount, again.status) == (
            refund.gateway_refund_id, amount, RefundStatus.SUCCEEDED)
    assert first.gateway_refund_id != rest.gateway_refund_id
    after = await harness.gateway.retrieve_payment(intent)
    assert (after.status, after.amount_received, after.amount_refunded) == (PaymentStatus.SUCCEEDED, AMOUNT, AMOUNT)


async def test_a_refund_above_what_is_refundable_is_refused(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "refunds", "refund_limits")
    intent = await paid(payer)
    with pytest.raises((InvalidGatewayRequest, RefundExceedsRefundable)):
        await harness.gateway.create_refund(refund_id=new_id("rfd"), gateway_payment_id=intent, amount=AMOUNT + 1,
                                            reason=None, idempotency_key=new_id("refund"))
    await harness.gateway.create_refund(refund_id=new_id("rfd"), gateway_payment_id=intent, amount=1500,
                                        reason=None, idempotency_key=new_id("refund"))
    with pytest.raises((InvalidGatewayRequest, RefundExceedsRefundable)):
        await harness.gateway.create_refund(refund_id=new_id("rfd"), gateway_payment_id=intent, amount=501,
                                            reason=None, idempotency_key=new_id("refund"))
    assert (await harness.gateway.retrieve_payment(intent)).amount_refunded == 1500


async def test_an_unpaid_payment_cannot_be_refunded(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "refunds")
    declined = (await payer.pay(CARD_DECLINES_ON_CHARGE, saved="saved_cards" in harness.capabilities)).snapshot
    assert declined.gateway_payment_id is not None
    with pytest.raises((InvalidGatewayRequest, RefundExceedsRefundable)):
        await harness.gateway.create_refund(refund_id=new_id("rfd"), gateway_payment_id=declined.gateway_payment_id,
                                            amount=100, reason=None, idempotency_key=new_id("refund"))


# ---- idempotency -----------------------------------------------------------------------------------------------
async def test_the_same_key_and_request_create_one_payment(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "idempotency")
    request = payer.request(method=await harness.tokenize_card(CARD_VISA), confirm=True)
    first = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    again = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert again.snapshot.gateway_payment_id == first.snapshot.gateway_payment_id
    assert again.client_secret == first.client_secret
    assert again.snapshot.status is first.snapshot.status is PaymentStatus.SUCCEEDED


async def test_the_same_key_with_other_parameters_is_refused(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "idempotency")
    request = payer.request()
    await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    changed = CreatePaymentRequest(
        payment_id=request.payment_id, order_id=request.order_id, amount=Money(AMOUNT + 100, "usd"),
        capture_method=request.capture_method)
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.create_payment(changed, f"{request.payment_id}:create")


async def test_a_repeated_capture_or_refund_takes_the_money_once(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "idempotency", "manual_capture", "refunds")
    intent = await authorised(payer)
    for _ in range(2):
        captured = await harness.gateway.capture_payment(gateway_payment_id=intent, amount=None,
                                                         idempotency_key=f"{intent}:capture")
        assert (captured.status, captured.amount_received) == (PaymentStatus.SUCCEEDED, AMOUNT)
    refund_id = new_id("rfd")
    refunds = [await harness.gateway.create_refund(refund_id=refund_id, gateway_payment_id=intent, amount=700,
                                                   reason=None, idempotency_key=f"{refund_id}:create")
               for _ in range(2)]
    assert refunds[0].gateway_refund_id == refunds[1].gateway_refund_id
    assert (await harness.gateway.retrieve_payment(intent)).amount_refunded == 700


async def test_a_repeated_decline_is_the_same_answer(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "idempotency")
    request = payer.request(method=await harness.tokenize_card(CARD_DECLINES_ON_CHARGE), confirm=True)
    first = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    again = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert first.snapshot.status is again.snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert again.snapshot.gateway_payment_id == first.snapshot.gateway_payment_id
    assert again.snapshot.last_error == first.snapshot.last_error


# ---- webhook verification --------------------------------------------------------------------------------------
def stripe_signature(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Stripe's scheme, written out here independently of the adapters' own signer."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"}


def signer(harness: GatewayHarness) -> Callable[[bytes, str, int], dict[str, str]]:
    """A gateway with another signature scheme gives its harness sign_webhook(body, secret, timestamp)."""
    return getattr(harness, "sign_webhook", stripe_signature)


def succeeded_event(event_id: str, intent_id: str, created: int) -> bytes:
    """A payment_intent.succeeded event as Stripe sends it (trimmed to the fields a reader may rely on)."""
    return json.dumps({
        "id": event_id, "object": "event", "api_version": "2026-10-28.endive", "created": created,
        "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": intent_id, "object": "payment_intent", "amount": AMOUNT, "amount_capturable": 0,
            "amount_received": AMOUNT, "capture_method": "automatic", "currency": "usd", "created": created,
            "customer": None, "last_payment_error": None, "latest_charge": "ch_contract", "livemode": False,
            "metadata": {"hexpay_payment_id": "pay_contract"}, "next_action": None, "payment_method": "pm_contract",
            "status": "succeeded",
        }},
    }).encode()


def sample_event(harness: GatewayHarness, event_id: str, intent_id: str) -> bytes:
    """A gateway with another wire format gives its harness sample_succeeded_webhook(event_id, intent_id)."""
    sample = getattr(harness, "sample_succeeded_webhook", None)
    return sample(event_id, intent_id) if sample else succeeded_event(event_id, intent_id, int(time.time()))


async def test_a_correctly_signed_event_is_accepted(harness: GatewayHarness) -> None:
    event_id, intent_id = new_id("evt"), new_id("pi")
    body = sample_event(harness, event_id, intent_id)
    for skew in (0, -(TOLERANCE - 5), TOLERANCE - 5):
        event = harness.gateway.parse_webhook(body, signer(harness)(body, harness.webhook_secret,
                                                                    int(time.time()) + skew))
        assert (event.event_id, event.type, event.gateway_payment_id) == (
            event_id, "payment_intent.succeeded", intent_id)
        assert event.payment is not None
        assert (event.payment.status, event.payment.amount_received) == (PaymentStatus.SUCCEEDED, AMOUNT)


async def test_header_names_are_case_insensitive(harness: GatewayHarness) -> None:
    body = sample_event(harness, new_id("evt"), new_id("pi"))
    headers = signer(harness)(body, harness.webhook_secret, int(time.time()))
    assert harness.gateway.parse_webhook(body, {name.lower(): value for name, value in headers.items()}).handled


@pytest.mark.parametrize("forgery", [
    "body changed after signing", "wrong secret", "301 s old", "301 s in the future", "missing header",
    "signature of another body"])
async def test_a_forged_or_stale_event_is_rejected(harness: GatewayHarness, forgery: str) -> None:
    body = sample_event(harness, new_id("evt"), new_id("pi"))
    sign, now, secret = signer(harness), int(time.time()), harness.webhook_secret
    headers = {
        "body changed after signing": sign(body, secret, now),
        "wrong secret": sign(body, secret + "x", now),
        "301 s old": sign(body, secret, now - TOLERANCE - 1),
        "301 s in the future": sign(body, secret, now + TOLERANCE + 1),
        "missing header": {"Content-Type": "application/json"},
        "signature of another body": sign(body.replace(b"succeeded", b"canceled"), secret, now),
    }[forgery]
    if forgery == "body changed after signing":
        body = body.replace(str(AMOUNT).encode(), str(AMOUNT * 10).encode())
    with pytest.raises(InvalidSignature):
        harness.gateway.parse_webhook(body, headers)


# ---- webhooks sent for what changed ----------------------------------------------------------------------------
class Webhooks:
    """What the gateway has sent so far, verified and decoded by the adapter under test."""

    def __init__(self, harness: GatewayHarness) -> None:
        self.harness = harness
        self.events: list[GatewayEvent] = []

    async def wait_for(self, event_type: str, intent: str) -> GatewayEvent:
        deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
        while True:
            for delivery in await self.harness.sent_webhooks():
                self.events.append(self.harness.gateway.parse_webhook(delivery.body, delivery.headers))
            for event in self.events:
                if event.type == event_type and event.gateway_payment_id == intent:
                    return event
            if time.monotonic() > deadline:
                sent = [(e.type, e.gateway_payment_id) for e in self.events]
                raise AssertionError(f"no {event_type} for {intent} was sent; sent: {sent}")
            await asyncio.sleep(0.05)


async def test_a_signed_event_reports_a_payment_that_succeeded(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "webhooks")
    intent = await paid(payer)
    event = await Webhooks(harness).wait_for("payment_intent.succeeded", intent)
    assert event.payment is not None
    assert (event.payment.status, event.payment.amount, event.payment.amount_received) == (
        PaymentStatus.SUCCEEDED, AMOUNT, AMOUNT)
    assert event.handled


async def test_a_signed_event_reports_a_decline(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "webhooks")
    snapshot = (await payer.pay(CARD_DECLINES_ON_CHARGE, saved="saved_cards" in harness.capabilities)).snapshot
    assert snapshot.gateway_payment_id is not None
    event = await Webhooks(harness).wait_for("payment_intent.payment_failed", snapshot.gateway_payment_id)
    assert event.payment is not None
    assert event.payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert event.payment.last_error is not None
    assert event.payment.last_error.code == "card_declined"


async def test_the_hexpay_payment_id_travels_with_the_events(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "webhooks")
    request = payer.request(method=await harness.tokenize_card(CARD_VISA), confirm=True)
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert created.snapshot.gateway_payment_id is not None
    event = await Webhooks(harness).wait_for("payment_intent.succeeded", created.snapshot.gateway_payment_id)
    assert event.payment_id == request.payment_id


async def test_events_report_3ds_capture_cancel_and_refunds(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "webhook_events", "three_d_secure", "manual_capture", "refunds")
    webhooks = Webhooks(harness)
    three_ds = (await payer.pay(CARD_3DS_REQUIRED)).snapshot
    assert three_ds.gateway_payment_id is not None
    action = await webhooks.wait_for("payment_intent.requires_action", three_ds.gateway_payment_id)
    assert action.payment is not None and action.payment.next_action is not None

    captured = await authorised(payer)
    authorisation = await webhooks.wait_for("payment_intent.amount_capturable_updated", captured)
    assert authorisation.payment is not None
    assert (authorisation.payment.status, authorisation.payment.amount_capturable) == (
        PaymentStatus.REQUIRES_CAPTURE, AMOUNT)
    await harness.gateway.capture_payment(gateway_payment_id=captured, amount=None, idempotency_key=new_id("cap"))
    success = await webhooks.wait_for("payment_intent.succeeded", captured)
    assert success.payment is not None and success.payment.amount_received == AMOUNT

    canceled = await authorised(payer)
    await harness.gateway.cancel_payment(gateway_payment_id=canceled, idempotency_key=new_id("cancel"))
    cancel = await webhooks.wait_for("payment_intent.canceled", canceled)
    assert cancel.payment is not None and cancel.payment.status is PaymentStatus.CANCELED

    refund_id = new_id("rfd")
    refund = await harness.gateway.create_refund(refund_id=refund_id, gateway_payment_id=captured, amount=300,
                                                 reason=None, idempotency_key=new_id("refund"))
    created = await webhooks.wait_for("refund.created", captured)
    assert [(r.gateway_refund_id, r.amount, r.refund_id) for r in created.refunds] == [
        (refund.gateway_refund_id, 300, refund_id)]
    charge = await webhooks.wait_for("charge.refunded", captured)
    assert refund.gateway_refund_id in {r.gateway_refund_id for r in charge.refunds}


# ---- finding a payment whose creation answer was lost ----------------------------------------------------------
async def test_a_payment_is_found_by_hexpays_id(harness: GatewayHarness, payer: Payer) -> None:
    needs(harness, "search")
    request = payer.request()
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    found = await harness.gateway.find_payment(request.payment_id)
    assert found is not None
    assert found.gateway_payment_id == created.snapshot.gateway_payment_id
    assert (found.amount, found.currency) == (AMOUNT, "usd")
    assert await harness.gateway.find_payment(new_id("pay")) is None


# ---- amount rules ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", [Money(49, "usd"), Money(49, "jpy"), Money(1005, "kwd"), Money(100_000_000, "usd")],
                         ids=str)
async def test_an_amount_the_gateway_would_refuse_is_refused_before_any_call(
    harness: GatewayHarness, payer: Payer, amount: Money
) -> None:
    with pytest.raises(AmountNotAllowed):
        harness.gateway.validate_amount(amount)
    request = payer.request(amount=amount)
    with pytest.raises(AmountNotAllowed):
        await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    if "search" in harness.capabilities:
        assert await harness.gateway.find_payment(request.payment_id) is None


@pytest.mark.parametrize("amount", [Money(50, "usd"), Money(50, "jpy"), Money(1010, "kwd"), Money(99_999_999, "usd")],
                         ids=str)
async def test_an_amount_within_the_rules_is_accepted(harness: GatewayHarness, payer: Payer, amount: Money) -> None:
    harness.gateway.validate_amount(amount)
    request = payer.request(amount=amount)
    created = await harness.gateway.create_payment(request, f"{request.payment_id}:create")
    assert (created.snapshot.amount, created.snapshot.currency) == (amount.amount, amount.currency)


def _same_state(snapshot: PaymentSnapshot) -> object:
    """Equal to any snapshot of the same state, whenever it was observed."""

    class SameState:
        def __eq__(self, other: object) -> bool:
            fields = ("status", "amount", "currency", "amount_received", "amount_capturable", "last_error",
                      "next_action", "amount_refunded", "gateway_payment_id")
            return isinstance(other, PaymentSnapshot) and all(
                getattr(other, name) == getattr(snapshot, name) for name in fields)

        def __repr__(self) -> str:
            return f"same state as {snapshot!r}"

    return SameState()
