"""The sandbox's objects move as Stripe's do: intents, captures, cancels, refunds, customers and their cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from adapters.sandbox import SandboxApiError, SandboxNetwork
from tests.unit.sandbox.conftest import ACCOUNT

VISA = "4242424242424242"


def intent(network: SandboxNetwork, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", **changes}
    return network.create_payment_intent(ACCOUNT, **params)


def visa(network: SandboxNetwork) -> str:
    return network.tokenize(VISA, 12, 2034, "123")


def test_an_intent_without_a_card_waits_for_one(network: SandboxNetwork, gateway: object) -> None:
    created = intent(network, metadata={"hexpay_payment_id": "pay_1"}, description="Order 1")
    assert (created["status"], created["amount"], created["currency"], created["amount_received"]) == (
        "requires_payment_method", 2000, "usd", 0)
    assert str(created["client_secret"]).startswith(f"{created['id']}_secret_")
    assert created["metadata"] == {"hexpay_payment_id": "pay_1"}
    with pytest.raises(SandboxApiError, match="missing a payment method"):
        network.confirm_payment_intent(ACCOUNT, str(created["id"]))


def test_an_intent_with_a_card_waits_for_confirmation(network: SandboxNetwork, gateway: object) -> None:
    created = intent(network, payment_method=visa(network))
    assert created["status"] == "requires_confirmation"
    confirmed = network.confirm_payment_intent(ACCOUNT, str(created["id"]))
    assert confirmed["status"] == "succeeded"


def test_a_currency_is_taken_in_any_case_and_kept_lowercase(network: SandboxNetwork, gateway: object) -> None:
    assert intent(network, currency="EUR")["currency"] == "eur"


@pytest.mark.parametrize(("amount", "currency", "code"), [
    (49, "usd", "amount_too_small"), (49, "jpy", "amount_too_small"), (1005, "kwd", "invalid_amount"),
    (100_000_000, "usd", "amount_too_large"), (2000, "xyz", "invalid_currency")])
def test_amounts_stripe_refuses_are_refused_before_anything_exists(
    network: SandboxNetwork, gateway: object, amount: int, currency: str, code: str
) -> None:
    with pytest.raises(SandboxApiError) as refused:
        intent(network, amount=amount, currency=currency, metadata={"hexpay_payment_id": "pay_x"})
    assert (refused.value.status, refused.value.code) == (400, code)
    assert network.search_payment_intents(ACCOUNT, {"hexpay_payment_id": "pay_x"}) == []
    assert network.drain_webhooks(ACCOUNT) == []


def test_a_partial_capture_receives_that_amount_and_releases_the_rest(network: SandboxNetwork, gateway: object
                                                                       ) -> None:
    authorised = intent(network, payment_method=visa(network), capture_method="manual", confirm=True)
    assert (authorised["status"], authorised["amount_capturable"]) == ("requires_capture", 2000)
    with pytest.raises(SandboxApiError, match="at most the amount_capturable"):
        network.capture_payment_intent(ACCOUNT, str(authorised["id"]), amount_to_capture=2001)
    captured = network.capture_payment_intent(ACCOUNT, str(authorised["id"]), amount_to_capture=1500,
                                              expand=["latest_charge"])
    assert (captured["status"], captured["amount_received"], captured["amount_capturable"]) == ("succeeded", 1500, 0)
    charge = captured["latest_charge"]
    assert isinstance(charge, dict)
    assert (charge["captured"], charge["amount_captured"], charge["amount_refunded"]) == (True, 1500, 0)
    with pytest.raises(SandboxApiError, match="status of succeeded"):
        network.capture_payment_intent(ACCOUNT, str(authorised["id"]))
    # Only what was captured can be refunded.
    with pytest.raises(SandboxApiError) as refused:
        network.create_refund(ACCOUNT, payment_intent=str(authorised["id"]), amount=1501)
    assert refused.value.code == "amount_too_large"


@pytest.mark.parametrize("state", ["requires_payment_method", "requires_confirmation", "requires_action",
                                   "requires_capture"])
def test_a_live_intent_can_be_canceled(network: SandboxNetwork, gateway: object, state: str) -> None:
    params_by_state: dict[str, dict[str, Any]] = {
        "requires_payment_method": {},
        "requires_confirmation": {"payment_method": visa(network)},
        "requires_action": {"payment_method": "pm_card_threeDSecure2Required", "confirm": True},
        "requires_capture": {"payment_method": visa(network), "confirm": True, "capture_method": "manual"},
    }
    created = intent(network, **params_by_state[state])
    assert created["status"] == state
    canceled = network.cancel_payment_intent(ACCOUNT, str(created["id"]), cancellation_reason="abandoned")
    assert (canceled["status"], canceled["amount_capturable"], canceled["next_action"]) == ("canceled", 0, None)
    assert (canceled["cancellation_reason"], canceled["canceled_at"]) == ("abandoned", network.unix_now())
    with pytest.raises(SandboxApiError, match="status of canceled"):
        network.cancel_payment_intent(ACCOUNT, str(created["id"]))
    with pytest.raises(SandboxApiError, match="status of canceled"):
        network.confirm_payment_intent(ACCOUNT, str(created["id"]), payment_method=visa(network))


def test_refunds_never_exceed_what_was_received(network: SandboxNetwork, gateway: object) -> None:
    paid = str(intent(network, payment_method=visa(network), confirm=True)["id"])
    first = network.create_refund(ACCOUNT, payment_intent=paid, amount=500, reason="requested_by_customer",
                                  metadata={"hexpay_refund_id": "rfd_1"})
    assert (first["amount"], first["status"], first["reason"], first["payment_intent"]) == (
        500, "succeeded", "requested_by_customer", paid)
    with pytest.raises(SandboxApiError) as refused:
        network.create_refund(ACCOUNT, payment_intent=paid, amount=1501)
    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
    rest = network.create_refund(ACCOUNT, payment_intent=paid)  # the default is all that is left
    assert rest["amount"] == 1500
    charge = network.retrieve_payment_intent(ACCOUNT, paid, expand=["latest_charge"])["latest_charge"]
    assert isinstance(charge, dict)
    assert (charge["amount_refunded"], charge["refunded"]) == (2000, True)
    assert [r["id"] for r in charge["refunds"]["data"]] == [rest["id"], first["id"]]
    with pytest.raises(SandboxApiError) as again:
        network.create_refund(ACCOUNT, payment_intent=paid, amount=1)
    assert again.value.code == "charge_already_refunded"


@pytest.mark.parametrize("params", [{}, {"payment_method": "pm_card_chargeDeclined", "confirm": True}])
def test_an_intent_without_a_successful_charge_cannot_be_refunded(
    network: SandboxNetwork, gateway: object, params: dict[str, Any]
) -> None:
    try:
        created = intent(network, **params)
    except SandboxApiError as declined:
        assert declined.payment_intent is not None
        created = declined.payment_intent
    with pytest.raises(SandboxApiError, match="does not have a successful charge"):
        network.create_refund(ACCOUNT, payment_intent=str(created["id"]))


@pytest.mark.parametrize(("params", "param"), [
    ({"amount": 0}, "amount"), ({"reason": "because"}, "reason")])
def test_invalid_refund_parameters_are_refused(
    network: SandboxNetwork, gateway: object, params: dict[str, Any], param: str
) -> None:
    paid = str(intent(network, payment_method=visa(network), confirm=True)["id"])
    with pytest.raises(SandboxApiError) as refused:
        network.create_refund(ACCOUNT, payment_intent=paid, **params)
    assert refused.value.param == param


def test_after_a_decline_the_intent_takes_another_card(network: SandboxNetwork, gateway: object) -> None:
    with pytest.raises(SandboxApiError) as declined:
        intent(network, payment_method="pm_card_chargeDeclined", confirm=True)
    assert declined.value.payment_intent is not None
    pi = str(declined.value.payment_intent["id"])
    with pytest.raises(SandboxApiError, match="missing a payment method"):
        network.confirm_payment_intent(ACCOUNT, pi)  # the declined card is no longer on the intent
    retried = network.confirm_payment_intent(ACCOUNT, pi, payment_method=visa(network))
    assert (retried["status"], retried["last_payment_error"]) == ("succeeded", None)


def test_an_unattached_card_pays_one_intent_only(network: SandboxNetwork, gateway: object) -> None:
    card = visa(network)
    intent(network, payment_method=card, confirm=True)
    with pytest.raises(SandboxApiError, match="may not be used again"):
        intent(network, payment_method=card, confirm=True)


def test_a_saved_card_pays_again_and_again(network: SandboxNetwork, customer: str) -> None:
    card = network.attach_payment_method(ACCOUNT, visa(network), customer=customer)["id"]
    for _ in range(2):
        assert intent(network, customer=customer, payment_method=card, confirm=True)["status"] == "succeeded"
    with pytest.raises(SandboxApiError, match="belongs to a Customer"):
        intent(network, payment_method=card, confirm=True)


def test_save_card_attaches_the_card_once_the_payment_succeeds(network: SandboxNetwork, customer: str) -> None:
    card = visa(network)
    paid = intent(network, customer=customer, payment_method=card, confirm=True, setup_future_usage="off_session")
    assert paid["setup_future_usage"] == "off_session"
    assert network.attach_payment_method(ACCOUNT, card, customer=customer)["customer"] == customer
    declined_card = network.tokenize("4000000000000341", 12, 2034, "123")
    with pytest.raises(SandboxApiError):
        intent(network, customer=customer, payment_method=declined_card, confirm=True,
               setup_future_usage="off_session")
    with pytest.raises(SandboxApiError, match="may not be used again"):  # a declined card is not saved
        network.attach_payment_method(ACCOUNT, declined_card, customer=customer)


def test_cards_attach_detach_and_default_as_at_stripe(network: SandboxNetwork, customer: str) -> None:
    other = str(network.create_customer(ACCOUNT)["id"])
    card = str(network.attach_payment_method(ACCOUNT, visa(network), customer=customer)["id"])
    assert network.attach_payment_method(ACCOUNT, card, customer=customer)["customer"] == customer
    with pytest.raises(SandboxApiError, match="already been attached"):
        network.attach_payment_method(ACCOUNT, card, customer=other)
    with pytest.raises(SandboxApiError, match="must be attached"):
        network.set_default_payment_method(ACCOUNT, other, card)
    network.set_default_payment_method(ACCOUNT, customer, card)
    assert network.retrieve_customer(ACCOUNT, customer)["invoice_settings"]["default_payment_method"] == card
    detached = network.detach_payment_method(ACCOUNT, card)
    assert detached["customer"] is None
    assert network.retrieve_customer(ACCOUNT, customer)["invoice_settings"]["default_payment_method"] is None
    with pytest.raises(SandboxApiError, match="may not be used again"):
        network.attach_payment_method(ACCOUNT, card, customer=customer)
    with pytest.raises(SandboxApiError, match="not attached"):
        network.detach_payment_method(ACCOUNT, card)


def test_unknown_objects_are_404s(network: SandboxNetwork, customer: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: network.retrieve_payment_intent(ACCOUNT, "pi_missing"),
        lambda: network.retrieve_refund(ACCOUNT, "re_missing"),
        lambda: network.retrieve_customer(ACCOUNT, "cus_missing"),
        lambda: network.attach_payment_method(ACCOUNT, "pm_missing", customer=customer),
        lambda: network.authenticate("pi_missing", True),
    ]
    for call in calls:
        with pytest.raises(SandboxApiError) as missing:
            call()
        assert (missing.value.status, missing.value.code) == (404, "resource_missing")


def test_accounts_see_only_their_own_objects(network: SandboxNetwork, gateway: object) -> None:
    network.register_account("gw_other", "whsec_other")
    paid = str(intent(network, payment_method=visa(network), confirm=True, metadata={"hexpay_payment_id": "p"})["id"])
    with pytest.raises(SandboxApiError, match="No such payment_intent"):
        network.retrieve_payment_intent("gw_other", paid)
    assert network.search_payment_intents("gw_other", {"hexpay_payment_id": "p"}) == []
    card = visa(network)
    intent(network, payment_method=card)  # the first account to use a card owns it
    with pytest.raises(SandboxApiError, match="No such PaymentMethod"):
        network.create_payment_intent("gw_other", amount=2000, currency="usd", payment_method=card)


def test_an_unregistered_account_is_an_authentication_error(network: SandboxNetwork) -> None:
    with pytest.raises(SandboxApiError) as refused:
        network.create_customer("gw_nobody")
    assert (refused.value.status, refused.value.type) == (401, "authentication_error")


def test_search_finds_by_every_metadata_clause_newest_first(network: SandboxNetwork, gateway: object) -> None:
    first = intent(network, metadata={"hexpay_payment_id": "pay_1", "hexpay_order_id": "ord_1"})
    second = intent(network, metadata={"hexpay_payment_id": "pay_1", "hexpay_order_id": "ord_2"})
    assert [i["id"] for i in network.search_payment_intents(ACCOUNT, {"hexpay_payment_id": "pay_1"})] == [
        second["id"], first["id"]]  # within the same second too
    assert [i["id"] for i in network.search_payment_intents(
        ACCOUNT, {"hexpay_payment_id": "pay_1", "hexpay_order_id": "ord_1"})] == [first["id"]]


def test_the_3ds_page_sees_the_amount_and_card_but_no_secret(network: SandboxNetwork, gateway: object) -> None:
    created = intent(network, payment_method="pm_card_authenticationRequired", confirm=True,
                     return_url="https://shop.example/back")
    page = network.challenge(str(created["id"]))
    assert page == {"id": created["id"], "amount": 2000, "currency": "usd", "status": "requires_action",
                    "card": {"brand": "visa", "last4": "3184"}, "return_url": "https://shop.example/back"}
    assert created["next_action"]["redirect_to_url"]["return_url"] == "https://shop.example/back"


def test_only_latest_charge_can_be_expanded(network: SandboxNetwork, gateway: object) -> None:
    created = intent(network)
    with pytest.raises(SandboxApiError, match="cannot be expanded"):
        network.retrieve_payment_intent(ACCOUNT, str(created["id"]), expand=["customer"])


def test_a_closed_dispute_reports_its_outcome(network: SandboxNetwork, gateway: object) -> None:
    intent(network, payment_method="pm_card_createDispute", confirm=True)
    network.run_deferred()
    [(body, _)] = [w for w in network.drain_webhooks(ACCOUNT) if b"charge.dispute.created" in w[0]]
    dispute_id = json.loads(body)["data"]["object"]["id"]
    assert network.close_dispute(dispute_id, won=False)["status"] == "lost"
    assert network.retrieve_dispute(ACCOUNT, dispute_id)["status"] == "lost"
    with pytest.raises(SandboxApiError, match="already closed"):
        network.close_dispute(dispute_id, won=True)
