"""The Stripe adapter and its test server, beyond the gateway contract suite: how localstripe is run, and the
adapter's Stripe-only behaviour (error translation, lost-answer recovery, webhook verification) on a real server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.stripe import StripePaymentGateway
from application.ports.gateway import CreatePaymentRequest, GatewayCustomerRequest
from domain.errors import CardDeclined, GatewayAuthError, InvalidGatewayRequest, InvalidSignature
from domain.gateway_account import Secret
from domain.money import Money
from domain.payment import CaptureMethod, PaymentStatus
from tests.contract.gateway_harness import CARD_DECLINED, CARD_VISA
from tests.contract.stripe_harness import LocalStripeHarness, stripe_harness

pytestmark = pytest.mark.localstripe

LOCALSTRIPE_DUMP = Path("/tmp/localstripe.pickle")  # where an unpatched localstripe pickles its store


def _dump_written_at() -> int | None:
    return LOCALSTRIPE_DUMP.stat().st_mtime_ns if LOCALSTRIPE_DUMP.exists() else None


@pytest.fixture
async def harness() -> AsyncIterator[LocalStripeHarness]:
    async with stripe_harness() as harness:
        yield harness


def _payment(payment_id: str, method: str | None = None, confirm: bool = False) -> CreatePaymentRequest:
    return CreatePaymentRequest(payment_id=payment_id, order_id=f"ord_{payment_id}", amount=Money(2500, "eur"),
                                capture_method=CaptureMethod.AUTOMATIC, gateway_payment_method_id=method,
                                confirm=confirm)


async def test_localstripe_listens_on_loopback_ipv4_only_and_keeps_no_dump(harness: LocalStripeHarness) -> None:
    before = _dump_written_at()
    await harness.gateway.ensure_customer(GatewayCustomerRequest("cust_1", "ref", None), "cust_1:customer")
    assert _dump_written_at() == before
    port = int(harness.account.credentials.api_base.rsplit(":", 1)[1])  # type: ignore[union-attr]
    if socket.has_ipv6:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
            sock.settimeout(1)
            sock.connect(("::1", port))


async def test_its_signed_webhooks_verify_and_decode(harness: LocalStripeHarness) -> None:
    method = await harness.tokenize_card(CARD_VISA)
    created = await harness.gateway.create_payment(_payment("pay_wh", method, confirm=True), "pay_wh:create")
    deliveries = await harness.sent_webhooks()
    events = [harness.gateway.parse_webhook(d.body, d.headers) for d in deliveries]
    succeeded = [e for e in events if e.type == "payment_intent.succeeded"]
    assert len(succeeded) == 1
    assert succeeded[0].payment_id == "pay_wh"
    assert succeeded[0].gateway_payment_id == created.snapshot.gateway_payment_id
    assert succeeded[0].payment is not None and succeeded[0].payment.amount_received == 2500
    tampered = deliveries[0].body.replace(b"2500", b"2")
    with pytest.raises(InvalidSignature):
        harness.gateway.parse_webhook(tampered, deliveries[0].headers)


async def test_a_delivery_about_an_earlier_tests_data_is_not_reported() -> None:
    async with stripe_harness() as first:
        method = await first.tokenize_card(CARD_VISA)
        await first.gateway.create_payment(_payment("pay_old", method, confirm=True), "pay_old:create")
    async with stripe_harness() as second:  # reset before localstripe's one-second delivery delay is over
        await asyncio.sleep(1.5)
        assert await second.sent_webhooks() == []


async def test_a_card_declined_at_attach_raises_card_declined(harness: LocalStripeHarness) -> None:
    customer = await harness.gateway.ensure_customer(GatewayCustomerRequest("cust_2", "ref", None), "c2")
    method = await harness.tokenize_card(CARD_DECLINED)
    with pytest.raises(CardDeclined) as raised:
        await harness.gateway.attach_payment_method(gateway_customer_id=customer, gateway_payment_method_id=method,
                                                    idempotency_key="m2:attach")
    assert raised.value.error_code == "card_declined"


async def test_an_unknown_object_is_an_invalid_request(harness: LocalStripeHarness) -> None:
    with pytest.raises(InvalidGatewayRequest):
        await harness.gateway.retrieve_payment("pi_doesnotexist")


async def test_a_refused_secret_key_is_a_gateway_auth_error(harness: LocalStripeHarness) -> None:
    credentials = replace(harness.account.credentials, secret_key=Secret("not_a_secret_key"))
    gateway = StripePaymentGateway(replace(harness.account, credentials=credentials))
    try:
        with pytest.raises(GatewayAuthError) as raised:
            await gateway.retrieve_payment("pi_any")
        assert "not_a_secret_key" not in str(raised.value)
    finally:
        await gateway.aclose()


async def test_a_creation_whose_answer_was_lost_is_found_by_hexpays_payment_id(harness: LocalStripeHarness) -> None:
    method = await harness.tokenize_card(CARD_VISA)
    created = await harness.gateway.create_payment(_payment("pay_lost", method), "pay_lost:create")
    await harness.gateway.create_payment(_payment("pay_other"), "pay_other:create")
    found = await harness.gateway.find_payment("pay_lost")
    assert found is not None and found.gateway_payment_id == created.snapshot.gateway_payment_id
    assert found.status is PaymentStatus.REQUIRES_CONFIRMATION
    assert await harness.gateway.find_payment("pay_never") is None


def test_localstripe_is_a_test_dependency_only() -> None:
    # GPL: it must never become a runtime dependency of hexpay.
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    runtime = pyproject.split("[project.scripts]")[0]
    assert "localstripe" not in runtime
    assert "localstripe" in pyproject.split("[dependency-groups]")[1].split("[build-system]")[0]
