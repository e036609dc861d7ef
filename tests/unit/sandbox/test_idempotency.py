"""Idempotency keys, per account, as Stripe honours them."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.clock import FixedClock
from adapters.sandbox import SandboxApiError, SandboxNetwork, SandboxPaymentGateway
from adapters.sandbox.idempotency import KEY_LIFETIME_SECONDS, IdempotencyCache
from application.ports.gateway import CreatePaymentRequest
from domain.errors import InvalidGatewayRequest
from domain.money import Money
from domain.payment import CaptureMethod, PaymentStatus
from tests.unit.sandbox.conftest import ACCOUNT


def create(network: SandboxNetwork, key: str | None, account: str = ACCOUNT, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", **changes}
    return network.create_payment_intent(account, idempotency_key=key, **params)


def test_the_same_key_and_parameters_replay_the_first_answer(network: SandboxNetwork, gateway: object) -> None:
    first = create(network, "pay_1:create", metadata={"hexpay_payment_id": "pay_1"})
    network.cancel_payment_intent(ACCOUNT, str(first["id"]))
    again = create(network, "pay_1:create", metadata={"hexpay_payment_id": "pay_1"})
    assert again == first  # the answer as it was then, not the intent as it is now
    assert again is not first
    assert len(network.search_payment_intents(ACCOUNT, {"hexpay_payment_id": "pay_1"})) == 1


def test_without_a_key_every_request_is_new(network: SandboxNetwork, gateway: object) -> None:
    assert create(network, None)["id"] != create(network, None)["id"]


@pytest.mark.parametrize("changes", [{"amount": 2100}, {"currency": "eur"}, {"capture_method": "manual"},
                                     {"metadata": {"hexpay_payment_id": "other"}}])
def test_the_same_key_with_other_parameters_is_an_idempotency_error(
    network: SandboxNetwork, gateway: object, changes: dict[str, Any]
) -> None:
    create(network, "pay_1:create")
    with pytest.raises(SandboxApiError) as refused:
        create(network, "pay_1:create", **changes)
    assert (refused.value.status, refused.value.type) == (400, "idempotency_error")


def test_the_same_key_on_another_endpoint_is_an_idempotency_error(network: SandboxNetwork, gateway: object) -> None:
    created = create(network, "key-1")
    with pytest.raises(SandboxApiError) as refused:
        network.cancel_payment_intent(ACCOUNT, str(created["id"]), idempotency_key="key-1")
    assert refused.value.type == "idempotency_error"


def test_a_decline_is_an_answer_and_is_replayed(network: SandboxNetwork, gateway: object) -> None:
    params: dict[str, Any] = {"payment_method": network.tokenize("4000000000000002", 12, 2034), "confirm": True}
    with pytest.raises(SandboxApiError) as first:
        create(network, "pay_1:create", **params)
    with pytest.raises(SandboxApiError) as again:
        create(network, "pay_1:create", **params)
    assert again.value is not first.value
    assert again.value.as_stripe() == first.value.as_stripe()
    assert first.value.payment_intent is not None
    charges = [body for body, _ in network.drain_webhooks(ACCOUNT) if b'"charge.failed"' in body]
    assert len(charges) == 1  # charged (and declined) once


def test_a_request_refused_before_it_began_can_be_corrected_under_the_same_key(
    network: SandboxNetwork, gateway: object
) -> None:
    created = create(network, "pay_1:capture-test")
    with pytest.raises(SandboxApiError, match="could not be captured"):
        network.capture_payment_intent(ACCOUNT, str(created["id"]), idempotency_key="pay_1:capture")
    network.confirm_payment_intent(ACCOUNT, str(created["id"]), payment_method="pm_card_visa")
    # not the same request, yet nothing was saved for the refused one: the key is free
    assert create(network, "pay_1:capture", amount=3000)["amount"] == 3000


def test_keys_are_per_account(network: SandboxNetwork, gateway: object) -> None:
    network.register_account("gw_other", "whsec_other")
    mine = create(network, "pay_1:create")
    theirs = create(network, "pay_1:create", account="gw_other", amount=5000)
    assert mine["id"] != theirs["id"]
    assert theirs["amount"] == 5000


def test_a_key_lives_24_hours(network: SandboxNetwork, gateway: object, clock: FixedClock) -> None:
    first = create(network, "pay_1:create")
    clock.advance(24 * 3600)
    assert create(network, "pay_1:create")["id"] == first["id"]
    clock.advance(1)
    assert create(network, "pay_1:create", amount=2500)["amount"] == 2500


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_must_be_1_to_255_characters(network: SandboxNetwork, gateway: object, key: str) -> None:
    with pytest.raises(SandboxApiError, match="1-255"):
        create(network, key)


def test_every_mutating_call_honours_its_key(network: SandboxNetwork, gateway: object) -> None:
    customer = network.create_customer(ACCOUNT, email="a@example.com", idempotency_key="cus_1:create")
    assert network.create_customer(ACCOUNT, email="a@example.com", idempotency_key="cus_1:create") == customer
    card = network.tokenize("4242424242424242", 12, 2034)
    attach = [network.attach_payment_method(ACCOUNT, card, customer=str(customer["id"]), idempotency_key="att")
              for _ in range(2)]
    assert attach[0] == attach[1]
    default = [network.set_default_payment_method(ACCOUNT, str(customer["id"]), card, idempotency_key="def")
               for _ in range(2)]
    assert default[0] == default[1]
    authorised = create(network, "pay:create", customer=customer["id"], payment_method=card, confirm=True,
                        capture_method="manual")
    captures = [network.capture_payment_intent(ACCOUNT, str(authorised["id"]), amount_to_capture=1000,
                                               idempotency_key="pay:capture") for _ in range(2)]
    assert captures[0] == captures[1]
    refunds = [network.create_refund(ACCOUNT, payment_intent=str(authorised["id"]), amount=400,
                                     idempotency_key="rfd:create") for _ in range(2)]
    assert refunds[0]["id"] == refunds[1]["id"]
    charge = network.retrieve_payment_intent(ACCOUNT, str(authorised["id"]), expand=["latest_charge"])[
        "latest_charge"]
    assert (charge["amount_captured"], charge["amount_refunded"]) == (1000, 400)
    detach = [network.detach_payment_method(ACCOUNT, card, idempotency_key="det") for _ in range(2)]
    assert detach[0] == detach[1]


async def test_the_gateway_reports_a_reused_key_as_an_invalid_request(gateway: SandboxPaymentGateway) -> None:
    request = CreatePaymentRequest(payment_id="pay_1", order_id="ord_1", amount=Money(2000, "usd"),
                                   capture_method=CaptureMethod.AUTOMATIC)
    first = await gateway.create_payment(request, "pay_1:create")
    again = await gateway.create_payment(request, "pay_1:create")
    assert (again.snapshot.gateway_payment_id, again.client_secret) == (
        first.snapshot.gateway_payment_id, first.client_secret)
    assert again.snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    other = CreatePaymentRequest(payment_id="pay_1", order_id="ord_1", amount=Money(2000, "usd"),
                                 capture_method=CaptureMethod.MANUAL)
    with pytest.raises(InvalidGatewayRequest, match="same parameters"):
        await gateway.create_payment(other, "pay_1:create")


def test_answers_older_than_a_day_are_dropped_oldest_first() -> None:
    cache = IdempotencyCache()
    day = KEY_LIFETIME_SECONDS
    for key, saved_at in (("a", 0), ("b", 10), ("c", 20)):
        cache.run(key, "POST /v1/x", {"n": key}, saved_at, lambda key=key: {"id": key})  # type: ignore[misc]
    assert len(cache) == 3
    cache.run("d", "POST /v1/x", {"n": "d"}, day + 15, lambda: {"id": "d"})
    assert len(cache) == 2  # a (saved at 0) and b (10) are over a day old at day + 15: gone; c (20) and d kept
    assert cache.run("c", "POST /v1/x", {"n": "c"}, day + 15, lambda: {"id": "new"}) == {"id": "c"}
    # A key whose answer expired runs afresh and is kept from then on, at the back.
    assert cache.run("a", "POST /v1/x", {"n": "other"}, day + 16, lambda: {"id": "a2"}) == {"id": "a2"}
    assert cache.run("a", "POST /v1/x", {"n": "other"}, 2 * day, lambda: {"id": "a3"}) == {"id": "a2"}
    assert len(cache) == 2  # c (20) is over a day old at 2 * day: gone; d (day + 15) and a (day + 16) stay
