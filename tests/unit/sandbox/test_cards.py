"""Each of Stripe's test cards does in the sandbox what it does in Stripe's test mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.clock import FixedClock
from adapters.sandbox import SandboxApiError, SandboxNetwork
from adapters.sandbox.cards import TEST_CARDS, TEST_PAYMENT_METHODS, passes_luhn
from tests.unit.sandbox.conftest import ACCOUNT

VISA = "4242424242424242"


def pay(network: SandboxNetwork, method: str, *, customer: str | None = None, capture: str = "automatic",
        amount: int = 2000) -> dict[str, Any]:
    """Create and confirm; a decline comes back as the intent it carries."""
    try:
        return network.create_payment_intent(ACCOUNT, amount=amount, currency="usd", capture_method=capture,
                                             customer=customer, payment_method=method, confirm=True,
                                             expand=["latest_charge"])
    except SandboxApiError as error:
        assert error.status == 402 and error.type == "card_error"
        assert error.payment_intent is not None
        return error.payment_intent


def card(network: SandboxNetwork, number: str) -> str:
    return network.tokenize(number, 12, 2034, "1234" if number.startswith(("34", "37")) else "123")


def test_every_test_card_number_is_a_valid_card_number() -> None:
    assert all(passes_luhn(number) for number in TEST_CARDS)
    assert not passes_luhn("4242424242424241")


def test_every_test_payment_method_id_names_a_known_card() -> None:
    assert set(TEST_PAYMENT_METHODS.values()) <= set(TEST_CARDS)


def test_4242_succeeds(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, VISA))
    assert (intent["status"], intent["amount_received"], intent["last_payment_error"]) == ("succeeded", 2000, None)
    assert intent["latest_charge"]["paid"] is True
    assert intent["latest_charge"]["payment_method_details"]["card"]["last4"] == "4242"


def test_4000002760003184_needs_3ds_at_a_page_of_the_sandbox(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, "4000002760003184"))
    assert intent["status"] == "requires_action"
    assert intent["next_action"] == {
        "type": "redirect_to_url",
        "redirect_to_url": {"url": f"http://127.0.0.1:8000/sandbox/3ds/{intent['id']}", "return_url": None},
    }
    assert intent["latest_charge"] is None  # nothing is charged before the shopper authenticates


@pytest.mark.parametrize(("capture", "status", "received", "capturable"), [
    ("automatic", "succeeded", 2000, 0), ("manual", "requires_capture", 0, 2000)])
def test_completed_3ds_charges_the_card(
    network: SandboxNetwork, gateway: object, capture: str, status: str, received: int, capturable: int
) -> None:
    intent = pay(network, card(network, "4000002760003184"), capture=capture)
    after = network.authenticate(intent["id"], success=True)
    assert (after["status"], after["amount_received"], after["amount_capturable"], after["next_action"]) == (
        status, received, capturable, None)


def test_failed_3ds_asks_for_another_payment_method(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, "4000002760003184"))
    after = network.authenticate(intent["id"], success=False)
    assert (after["status"], after["payment_method"], after["next_action"]) == (
        "requires_payment_method", None, None)
    assert after["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    with pytest.raises(SandboxApiError, match="requires_action"):
        network.authenticate(intent["id"], success=True)


@pytest.mark.parametrize(("number", "decline_code", "message"), [
    ("4000000000000002", "generic_decline", "Your card was declined."),
    ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
    ("4000000000000341", "generic_decline", "Your card was declined."),
])
def test_declining_cards_decline_with_stripes_codes(
    network: SandboxNetwork, gateway: object, number: str, decline_code: str, message: str
) -> None:
    intent = pay(network, card(network, number))
    assert (intent["status"], intent["payment_method"], intent["amount_received"]) == (
        "requires_payment_method", None, 0)
    error = intent["last_payment_error"]
    assert (error["type"], error["code"], error["decline_code"], error["message"]) == (
        "card_error", "card_declined", decline_code, message)
    assert error["payment_method"]["card"]["last4"] == number[-4:]
    charge = intent["latest_charge"]
    assert (charge["status"], charge["failure_code"], charge["outcome"]["reason"]) == (
        "failed", "card_declined", decline_code)


@pytest.mark.parametrize(("number", "decline_code"), [
    ("4000000000000002", "generic_decline"), ("4000000000009995", "insufficient_funds")])
def test_declining_cards_are_declined_already_at_attach(
    network: SandboxNetwork, customer: str, number: str, decline_code: str
) -> None:
    method = card(network, number)
    with pytest.raises(SandboxApiError) as declined:
        network.attach_payment_method(ACCOUNT, method, customer=customer)
    assert (declined.value.status, declined.value.code, declined.value.decline_code) == (
        402, "card_declined", decline_code)
    with pytest.raises(SandboxApiError, match="not attached"):  # nothing was attached
        network.detach_payment_method(ACCOUNT, method)


def test_4000000000000341_attaches_then_declines_when_charged(network: SandboxNetwork, customer: str) -> None:
    method = card(network, "4000000000000341")
    attached = network.attach_payment_method(ACCOUNT, method, customer=customer)
    assert attached["customer"] == customer
    intent = pay(network, method, customer=customer)
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "generic_decline"


def test_4000000000005126_refund_succeeds_then_fails_a_moment_later(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, "4000000000005126"))
    refund = network.create_refund(ACCOUNT, payment_intent=intent["id"], amount=500)
    assert refund["status"] == "succeeded"
    assert network.retrieve_payment_intent(ACCOUNT, intent["id"], expand=["latest_charge"])[
        "latest_charge"]["amount_refunded"] == 500
    assert network.run_deferred() == 1
    failed = network.retrieve_refund(ACCOUNT, refund["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "expired_or_canceled_card")
    charge = network.retrieve_payment_intent(ACCOUNT, intent["id"], expand=["latest_charge"])["latest_charge"]
    assert charge["amount_refunded"] == 0  # the money came back


def test_4000000000000259_is_disputed_a_moment_after_the_charge(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, "4000000000000259"))
    assert intent["status"] == "succeeded"
    assert intent["latest_charge"]["disputed"] is False
    network.drain_webhooks(ACCOUNT)
    assert network.run_deferred() == 1
    charge = network.retrieve_payment_intent(ACCOUNT, intent["id"], expand=["latest_charge"])["latest_charge"]
    assert charge["disputed"] is True
    [(body, _)] = network.drain_webhooks(ACCOUNT)
    assert b'"type":"charge.dispute.created"' in body
    with pytest.raises(SandboxApiError, match="charged back"):
        network.create_refund(ACCOUNT, payment_intent=intent["id"])


def test_a_disputed_manual_payment_is_disputed_once_captured(network: SandboxNetwork, gateway: object) -> None:
    intent = pay(network, card(network, "4000000000000259"), capture="manual")
    assert network.run_deferred() == 0
    network.capture_payment_intent(ACCOUNT, intent["id"])
    assert network.run_deferred() == 1


async def test_what_happens_later_happens_by_itself_when_a_loop_runs(clock: FixedClock) -> None:
    network = SandboxNetwork(now=clock.now, later_after=0.01)
    network.register_account(ACCOUNT, "whsec_x")
    intent = pay(network, "pm_card_refundFail")
    refund = network.create_refund(ACCOUNT, payment_intent=intent["id"])
    await asyncio.sleep(0.05)
    assert network.retrieve_refund(ACCOUNT, refund["id"])["status"] == "failed"
    assert network.run_deferred() == 0  # already done, not twice


@pytest.mark.parametrize(("test_id", "number"), sorted(TEST_PAYMENT_METHODS.items()))
def test_each_use_of_a_test_payment_method_id_makes_a_new_method(
    network: SandboxNetwork, customer: str, test_id: str, number: str
) -> None:
    intent = pay(network, test_id, customer=customer)
    again = pay(network, test_id, customer=customer)
    used = [i["payment_method"] or i["last_payment_error"]["payment_method"]["id"] for i in (intent, again)]
    assert used[0] != used[1]
    assert all(method.startswith("pm_") and method != test_id for method in used)
    assert intent["latest_charge"] is None or (
        intent["latest_charge"]["payment_method_details"]["card"]["last4"] == number[-4:])


@pytest.mark.parametrize(("test_id", "status", "decline_code"), [
    ("pm_card_visa", "succeeded", None),
    ("pm_card_mastercard", "succeeded", None),
    ("pm_card_amex", "succeeded", None),
    ("pm_card_threeDSecure2Required", "requires_action", None),
    ("pm_card_chargeDeclined", "requires_payment_method", "generic_decline"),
    ("pm_card_chargeDeclinedInsufficientFunds", "requires_payment_method", "insufficient_funds"),
    ("pm_card_chargeCustomerFail", "requires_payment_method", "generic_decline"),
    ("pm_card_refundFail", "succeeded", None),
    ("pm_card_createDispute", "succeeded", None),
])
def test_test_payment_method_ids_behave_as_their_cards(
    network: SandboxNetwork, gateway: object, test_id: str, status: str, decline_code: str | None
) -> None:
    intent = pay(network, test_id)
    assert intent["status"] == status
    assert (intent["last_payment_error"] or {}).get("decline_code") == decline_code


def test_a_test_payment_method_id_attaches_as_a_new_method(network: SandboxNetwork, customer: str) -> None:
    attached = network.attach_payment_method(ACCOUNT, "pm_card_mastercard", customer=customer)
    assert attached["id"] != "pm_card_mastercard"
    assert (attached["card"]["brand"], attached["card"]["last4"], attached["customer"]) == (
        "mastercard", "4444", customer)


@pytest.mark.parametrize(("number", "exp_month", "exp_year", "cvc", "code"), [
    ("4242424242424241", 12, 2034, "123", "incorrect_number"),
    ("4111111111111111", 12, 2034, "123", "card_declined"),  # a real card number, refused in test mode
    (VISA, 13, 2034, "123", "invalid_expiry_month"),
    (VISA, 2, 2026, "123", "invalid_expiry_year"),  # the clock says March 2026
    (VISA, 12, 2034, "12", "invalid_cvc"),
    ("378282246310005", 12, 2034, "123", "invalid_cvc"),  # amex takes four digits
])
def test_a_card_form_stripe_would_refuse_is_refused(
    network: SandboxNetwork, number: str, exp_month: int, exp_year: int, cvc: str, code: str
) -> None:
    with pytest.raises(SandboxApiError) as refused:
        network.tokenize(number, exp_month, exp_year, cvc)
    assert (refused.value.type, refused.value.code) == ("card_error", code)


def test_a_card_expiring_this_month_or_with_a_two_digit_year_is_accepted(network: SandboxNetwork) -> None:
    assert network.tokenize(VISA, 3, 2026, "123").startswith("pm_")
    assert network.tokenize("4242 4242 4242 4242", 12, 34).startswith("pm_")
