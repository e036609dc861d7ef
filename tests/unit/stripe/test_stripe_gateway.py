"""StripePaymentGateway against a recording fake of Stripe's HTTP API (answers built from Stripe's example objects).

What localstripe cannot show is checked here: the idempotency key and API version on the wire, the SDK's retries
reusing the same key, and the translation of each kind of Stripe error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from adapters.clock import FixedClock
from adapters.stripe import API_VERSION, StripePaymentGateway
from adapters.stripe.client import MAX_NETWORK_RETRIES, stripe_client_for
from adapters.stripe_wire.signature import sign
from application.ports.gateway import CreatePaymentRequest, GatewayCustomerRequest
from domain.errors import (
    AmountNotAllowed,
    AuthenticationRequired,
    CardDeclined,
    GatewayAuthError,
    GatewayUnavailable,
    InvalidGatewayRequest,
    InvalidSignature,
)
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret
from domain.money import Money
from domain.payment import CaptureMethod, PaymentStatus
from tests.unit.stripe.conftest import stripe_event, stripe_object

SECRET_KEY = "sk_test_unit_0123456789"
API_BASE = "https://stripe.internal.example"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

Answer = tuple[int, dict[str, Any]]


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


class RecordingStripe(stripe.HTTPClient):
    """Stripe's HTTP API as far as a test needs it: scripted answers per (method, path), every request kept."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.routes: dict[tuple[str, str], list[Callable[[dict[str, str]], Answer]]] = {}

    def answer(self, method: str, path: str, *answers: Callable[[dict[str, str]], Answer] | Answer) -> None:
        self.routes[(method, path)] = [a if callable(a) else (lambda _p, a=a: a) for a in answers]

    async def request_async(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        params = dict(parse_qsl(body or parts.query))
        self.sent.append(Sent(method.upper(), parts.path, dict(headers), params))
        answers = self.routes.get((method.upper(), parts.path))
        if not answers:
            return json.dumps({"error": {"type": "invalid_request_error", "message": "no route"}}).encode(), 404, {}
        status, payload = answers.pop(0)(params) if len(answers) > 1 else answers[0](params)
        return json.dumps(payload).encode(), status, {"request-id": "req_test"}

    async def sleep_async(self, secs: float) -> None:  # type: ignore[override]
        return None  # the SDK's retry backoff, skipped

    async def close_async(self) -> None:
        return None


def _account(webhook_secret: str = "whsec_current") -> GatewayAccount:
    return GatewayAccount(
        id="gw_1", name="Stripe", kind="stripe", publishable_key="pk_test_1",
        credentials=GatewayCredentials(Secret(SECRET_KEY), Secret(webhook_secret), api_base=API_BASE),
        is_active=True, created_at=NOW,
    )


@pytest.fixture
def api() -> RecordingStripe:
    return RecordingStripe()


@pytest.fixture
def gateway(api: RecordingStripe) -> StripePaymentGateway:
    account = _account()
    return StripePaymentGateway(account, client=stripe_client_for(account, api), clock=FixedClock(NOW))


def _intent(**changes: Any) -> dict[str, Any]:
    base = {"id": "pi_1", "status": "requires_payment_method", "next_action": None, "last_payment_error": None,
            "metadata": {"hexpay_payment_id": "pay_1", "hexpay_order_id": "ord_1"}, "amount": 2000}
    return stripe_object("payment_intent", **(base | changes))


def _card_error(code: str, decline_code: str | None = None, **extra: Any) -> Answer:
    error = {"type": "card_error", "code": code, "message": "Your card was declined.", **extra}
    if decline_code:
        error["decline_code"] = decline_code
    return 402, {"error": error}


# ---- what goes on the wire -------------------------------------------------------------------------------------
async def test_every_mutating_call_carries_the_given_idempotency_key(gateway: StripePaymentGateway,
                                                                     api: RecordingStripe) -> None:
    api.answer("POST", "/v1/customers", (200, stripe_object("customer", id="cus_1")))
    api.answer("POST", "/v1/customers/cus_1", (200, stripe_object("customer", id="cus_1")))
    api.answer("POST", "/v1/payment_methods/pm_1/attach", (200, stripe_object("payment_method", customer="cus_1")))
    api.answer("POST", "/v1/payment_methods/pm_1/detach", (200, stripe_object("payment_method", customer=None)))
    api.answer("POST", "/v1/payment_intents", (200, _intent()))
    api.answer("POST", "/v1/payment_intents/pi_1/confirm", (200, _intent(status="succeeded", amount_received=2000)))
    api.answer("POST", "/v1/payment_intents/pi_1/capture", (200, _intent(status="succeeded", amount_received=2000)))
    api.answer("POST", "/v1/payment_intents/pi_1/cancel", (200, _intent(status="canceled")))
    api.answer("POST", "/v1/refunds", (200, stripe_object("refund", payment_intent="pi_1")))

    await gateway.ensure_customer(GatewayCustomerRequest("cust_1", "shop-user-1", None), "cust_1:customer")
    await gateway.attach_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                        idempotency_key="cpm_1:attach")
    await gateway.set_default_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                             idempotency_key="cpm_1:default")
    await gateway.detach_payment_method(gateway_payment_method_id="pm_1", idempotency_key="cpm_1:detach")
    await gateway.create_payment(CreatePaymentRequest("pay_1", "ord_1", Money(2000, "usd"), CaptureMethod.MANUAL),
                                 "pay_1:create")
    await gateway.confirm_payment(gateway_payment_id="pi_1", gateway_payment_method_id="pm_1", return_url=None,
                                  idempotency_key="pay_1:confirm:0")
    await gateway.capture_payment(gateway_payment_id="pi_1", amount=1500, idempotency_key="pay_1:capture")
    await gateway.cancel_payment(gateway_payment_id="pi_1", idempotency_key="pay_1:cancel")
    await gateway.create_refund(refund_id="rfd_1", gateway_payment_id="pi_1", amount=100, reason=None,
                                idempotency_key="rfd_1:create")

    keys = [(s.path, s.headers.get("Idempotency-Key")) for s in api.sent]
    assert keys == [
        ("/v1/customers", "cust_1:customer"), ("/v1/payment_methods/pm_1/attach", "cpm_1:attach"),
        ("/v1/customers/cus_1", "cpm_1:default"), ("/v1/payment_methods/pm_1/detach", "cpm_1:detach"),
        ("/v1/payment_intents", "pay_1:create"), ("/v1/payment_intents/pi_1/confirm", "pay_1:confirm:0"),
        ("/v1/payment_intents/pi_1/capture", "pay_1:capture"), ("/v1/payment_intents/pi_1/cancel", "pay_1:cancel"),
        ("/v1/refunds", "rfd_1:create"),
    ]
    assert {s.headers["Stripe-Version"] for s in api.sent} == {API_VERSION}
    assert {s.headers["Authorization"] for s in api.sent} == {f"Bearer {SECRET_KEY}"}
    assert api.sent[6].params["amount_to_capture"] == "1500"
    assert api.sent[2].params == {"invoice_settings[default_payment_method]": "pm_1"}


async def test_an_intent_carries_hexpays_ids_and_the_shoppers_choices(gateway: StripePaymentGateway,
                                                                      api: RecordingStripe) -> None:
    api.answer("POST", "/v1/payment_intents", (200, _intent(status="succeeded", amount_received=2000,
                                                            client_secret="pi_1_secret_x")))
    created = await gateway.create_payment(CreatePaymentRequest(
        "pay_1", "ord_1", Money(2000, "usd"), CaptureMethod.AUTOMATIC, gateway_customer_id="cus_1",
        gateway_payment_method_id="pm_1", save_card=True, confirm=True, return_url="https://shop.example/back",
    ), "pay_1:create")
    params = api.sent[0].params
    assert params["metadata[hexpay_payment_id]"] == "pay_1" and params["metadata[hexpay_order_id]"] == "ord_1"
    assert (params["amount"], params["currency"], params["capture_method"]) == ("2000", "usd", "automatic")
    assert (params["customer"], params["payment_method"], params["setup_future_usage"]) == ("cus_1", "pm_1",
                                                                                          "off_session")
    assert (params["confirm"], params["return_url"]) == ("true", "https://shop.example/back")
    assert created.client_secret == "pi_1_secret_x"
    assert created.snapshot.status is PaymentStatus.SUCCEEDED and created.snapshot.observed_at == NOW


async def test_an_amount_stripe_would_refuse_never_leaves(gateway: StripePaymentGateway,
                                                          api: RecordingStripe) -> None:
    with pytest.raises(AmountNotAllowed):
        await gateway.create_payment(CreatePaymentRequest("pay_1", "ord_1", Money(49, "usd"),
                                                          CaptureMethod.AUTOMATIC), "pay_1:create")
    assert api.sent == []


async def test_retries_reuse_the_same_idempotency_key_then_give_up_as_unavailable(
        gateway: StripePaymentGateway, api: RecordingStripe) -> None:
    api.answer("POST", "/v1/payment_intents/pi_1/capture", (500, {"error": {"type": "api_error", "message": "boom"}}))
    with pytest.raises(GatewayUnavailable):
        await gateway.capture_payment(gateway_payment_id="pi_1", amount=None, idempotency_key="pay_1:capture")
    assert len(api.sent) == 1 + MAX_NETWORK_RETRIES
    assert {s.headers["Idempotency-Key"] for s in api.sent} == {"pay_1:capture"}


async def test_a_retry_that_succeeds_returns_the_answer(gateway: StripePaymentGateway, api: RecordingStripe) -> None:
    api.answer("POST", "/v1/payment_intents/pi_1/cancel", (503, {"error": {"type": "api_error"}}),
               (200, _intent(status="canceled")))
    snapshot = await gateway.cancel_payment(gateway_payment_id="pi_1", idempotency_key="pay_1:cancel")
    assert snapshot.status is PaymentStatus.CANCELED and len(api.sent) == 2


# ---- errors ---------------------------------------------------------------------------------------------------
async def test_a_card_declined_at_attach_is_card_declined_with_its_codes(gateway: StripePaymentGateway,
                                                                        api: RecordingStripe) -> None:
    api.answer("POST", "/v1/payment_methods/pm_1/attach", _card_error("card_declined", "insufficient_funds"))
    with pytest.raises(CardDeclined) as raised:
        await gateway.attach_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                            idempotency_key="k")
    assert (raised.value.error_code, raised.value.decline_code) == ("card_declined", "insufficient_funds")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_card_error("authentication_required"), AuthenticationRequired),
        ((400, {"error": {"type": "invalid_request_error", "message": "No such customer"}}), InvalidGatewayRequest),
        ((400, {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests..."}}),
         InvalidGatewayRequest),
        ((401, {"error": {"type": "invalid_request_error", "message": f"Invalid API Key {SECRET_KEY}"}}),
         GatewayAuthError),
        ((403, {"error": {"type": "invalid_request_error", "message": "restricted key"}}), GatewayAuthError),
        ((429, {"error": {"type": "invalid_request_error", "code": "rate_limit"}}), GatewayUnavailable),
    ],
)
async def test_stripe_errors_become_domain_errors(gateway: StripePaymentGateway, api: RecordingStripe,
                                                 answer: Answer, expected: type[Exception]) -> None:
    api.answer("POST", "/v1/customers/cus_1", answer)
    with pytest.raises(expected) as raised:
        await gateway.set_default_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                                 idempotency_key="k")
    assert SECRET_KEY not in str(raised.value)


async def test_a_connection_failure_is_unavailable() -> None:
    account = _account().__class__(
        id="gw_2", name="Stripe", kind="stripe", publishable_key="pk",
        credentials=GatewayCredentials(Secret(SECRET_KEY), Secret("whsec"), api_base="http://127.0.0.1:9"),
        is_active=True, created_at=NOW)
    gateway = StripePaymentGateway(account)
    with pytest.raises(GatewayUnavailable):
        await gateway.retrieve_payment("pi_1")
    await gateway.aclose()


async def test_a_decline_at_confirm_is_returned_not_raised(gateway: StripePaymentGateway,
                                                           api: RecordingStripe) -> None:
    declined = _intent(last_payment_error={"type": "card_error", "code": "card_declined",
                                           "decline_code": "generic_decline", "message": "Your card was declined."})
    api.answer("POST", "/v1/payment_intents/pi_1/confirm",
               _card_error("card_declined", "generic_decline", payment_intent=declined))
    api.answer("GET", "/v1/payment_intents/pi_1", (200, declined))
    snapshot = await gateway.confirm_payment(gateway_payment_id="pi_1", gateway_payment_method_id="pm_1",
                                             return_url=None, idempotency_key="pay_1:confirm:0")
    assert snapshot.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert snapshot.last_error is not None and snapshot.last_error.decline_code == "generic_decline"


async def test_attaching_again_to_the_same_customer_succeeds(gateway: StripePaymentGateway,
                                                             api: RecordingStripe) -> None:
    api.answer("POST", "/v1/payment_methods/pm_1/attach",
               (400, {"error": {"type": "invalid_request_error", "message": "already attached"}}))
    api.answer("GET", "/v1/payment_methods/pm_1", (200, stripe_object("payment_method", id="pm_1", customer="cus_1")))
    method = await gateway.attach_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                                 idempotency_key="k")
    assert method.gateway_customer_id == "cus_1"
    api.answer("GET", "/v1/payment_methods/pm_1", (200, stripe_object("payment_method", id="pm_1", customer="cus_9")))
    with pytest.raises(InvalidGatewayRequest):
        await gateway.attach_payment_method(gateway_customer_id="cus_1", gateway_payment_method_id="pm_1",
                                            idempotency_key="k")


async def test_find_payment_searches_by_metadata_then_scans_recent_intents(gateway: StripePaymentGateway,
                                                                           api: RecordingStripe) -> None:
    api.answer("GET", "/v1/payment_intents/search",
               (200, {"object": "search_result", "data": [], "has_more": False, "url": "/v1/payment_intents/search"}))
    api.answer("GET", "/v1/payment_intents", (200, {"object": "list", "has_more": False, "url": "/v1/payment_intents",
                                                    "data": [_intent(id="pi_other", metadata={}), _intent(id="pi_7")]}))
    found = await gateway.find_payment("pay_1")
    assert found is not None and found.gateway_payment_id == "pi_7"
    assert api.sent[0].params["query"] == "metadata['hexpay_payment_id']:'pay_1'"
    assert await gateway.find_payment("pay_404") is None


# ---- webhooks -------------------------------------------------------------------------------------------------
def test_webhooks_verify_against_every_configured_secret(api: RecordingStripe) -> None:
    account = _account(webhook_secret="whsec_new, whsec_old")
    gateway = StripePaymentGateway(account, client=stripe_client_for(account, api), clock=FixedClock(NOW))
    body = json.dumps(stripe_event("payment_intent.succeeded", _intent(status="succeeded", amount_received=2000),
                                   created=int(NOW.timestamp()))).encode()
    for secret in ("whsec_old", "whsec_new"):
        event = gateway.parse_webhook(body, {"Stripe-Signature": sign(body, secret, int(NOW.timestamp()))})
        assert event.payment is not None and event.payment_id == "pay_1"
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(body, {"Stripe-Signature": sign(body, "whsec_other", int(NOW.timestamp()))})


def test_the_adapter_never_shows_its_keys(gateway: StripePaymentGateway) -> None:
    assert SECRET_KEY not in repr(gateway) and "whsec" not in repr(gateway)
