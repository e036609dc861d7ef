"""The fault matrix over HTTP: each mutating endpoint, each gateway failure, then the client's retry with the same
Idempotency-Key. The first answer is a clear retryable problem (503 gateway_unavailable with Retry-After; a
database that died before commit is 503 service_unavailable), the retry gets the right answer, a third call
replays it, and after the webhooks and a reconciliation run there is exactly one object and one charge at the
gateway and hexpay equals the gateway's books. The sandbox is the gateway: it honours idempotency keys as Stripe
does (localstripe does not, so a count of objects after a retry would mean nothing there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.client import Caller, assert_problem
from tests.fakes.faulty_gateway import Fault, Step
from tests.fakes.measurements import Measure
from tests.faults.http_world import HttpWorld, http_world

AMOUNT, REFUNDED = 10_000, 3_000
SHOPPER = "shopper-http-faults"


@dataclass(frozen=True)
class Request:
    caller: Caller
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class HttpScenario:
    step: Step
    prepare: Callable[[HttpWorld], Awaitable[Request]]
    right_answer: Callable[[HttpWorld, httpx.Response], dict[str, int]]

    def __str__(self) -> str:
        return self.step.value


async def _order_and_card(world: HttpWorld) -> tuple[dict[str, Any], str]:
    order = await world.api.order(SHOPPER, amount=AMOUNT)
    world.order_ids.append(order["id"])
    card = await world.api.save_card(world.api.shopper(SHOPPER), world.gateway["id"])
    assert card.status_code == 201, card.text
    return order, card.json()["id"]


async def _intent(world: HttpWorld, **extra: Any) -> dict[str, Any]:
    order, card = await _order_and_card(world)
    response = await world.api.intent(world.api.shopper(SHOPPER), order["id"], world.gateway["id"],
                                      payment_method_id=card, **extra)
    assert response.status_code == 201, response.text
    intent: dict[str, Any] = response.json()
    return intent


def _charged_once(world: HttpWorld, response: httpx.Response) -> dict[str, int]:
    body = response.json()
    payment_id = body.get("payment_id") or body["id"]
    assert body["status"] == "succeeded", body
    intents = world.ledger.intents_of(payment_id)
    charges = world.ledger.successful_charges(payment_id)
    assert (len(intents), charges, world.ledger.money_taken()) == (1, 1, AMOUNT)
    return {"intents": len(intents), "charges": charges, "money_taken": world.ledger.money_taken()}


async def _prepare_create(world: HttpWorld) -> Request:
    order, card = await _order_and_card(world)
    return Request(world.api.shopper(SHOPPER), "/api/store/payments/intent/",
                   {"order_id": order["id"], "gateway_id": world.gateway["id"], "payment_method_id": card,
                    "confirm": True})


async def _prepare_confirm(world: HttpWorld) -> Request:
    intent = await _intent(world)
    return Request(world.api.shopper(SHOPPER), f"/api/store/payments/{intent['payment_id']}/confirm/", {})


async def _prepare_capture(world: HttpWorld) -> Request:
    intent = await _intent(world, capture_method="manual", confirm=True)
    assert intent["status"] == "requires_capture", intent
    return Request(world.api.admin, f"/api/v1/admin/payments/{intent['payment_id']}/capture/", {})


async def _prepare_refund(world: HttpWorld) -> Request:
    intent = await _intent(world, confirm=True)
    assert intent["status"] == "succeeded", intent
    return Request(world.api.admin, f"/api/v1/admin/payments/{intent['payment_id']}/refunds/",
                   {"amount": REFUNDED, "reason": "requested_by_customer"})


def _refunded_once(world: HttpWorld, response: httpx.Response) -> dict[str, int]:
    body = response.json()
    assert (body["amount"], body["status"]) == (REFUNDED, "succeeded"), body
    refunds = world.ledger.refunds()
    assert [(amount, status) for _, amount, status in refunds] == [(REFUNDED, "succeeded")], refunds
    return {"refunds_at_gateway": len(refunds), "refunded": REFUNDED}


async def _prepare_attach(world: HttpWorld) -> Request:
    first = await world.api.save_card(world.api.shopper(SHOPPER), world.gateway["id"])
    assert first.status_code == 201, first.text
    token = await world.api.tokenize()
    return Request(world.api.shopper(SHOPPER), "/api/v1/me/payment-methods/",
                   {"gateway": world.gateway["id"], "gateway_payment_method_data": {"payment_method_id": token}})


def _attached_once(world: HttpWorld, response: httpx.Response) -> dict[str, int]:
    assert response.json()["card"]["last4"] == "4242"
    assert (world.ledger.attached_methods(), world.ledger.customers()) == (2, 1)
    return {"attached_at_gateway": world.ledger.attached_methods(), "gateway_customers": world.ledger.customers()}


SCENARIOS = (
    HttpScenario(Step.CREATE, _prepare_create, _charged_once),
    HttpScenario(Step.CONFIRM, _prepare_confirm, _charged_once),
    HttpScenario(Step.CAPTURE, _prepare_capture, _charged_once),
    HttpScenario(Step.REFUND, _prepare_refund, _refunded_once),
    HttpScenario(Step.ATTACH, _prepare_attach, _attached_once),
)


@pytest.mark.parametrize("fault", list(Fault), ids=str)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_a_retry_with_the_same_idempotency_key_gets_the_right_answer_and_one_object(
    sqlite_url: str, scenario: HttpScenario, fault: Fault, measure: Measure
) -> None:
    async with http_world(sqlite_url) as world:
        request = await scenario.prepare(world)
        world.plan.arm(scenario.step, fault)
        key = f"client-key-{scenario}-{fault}"

        first = await request.caller.post(request.path, request.body, key=key)
        if fault is Fault.DIED_BEFORE_COMMIT:
            assert_problem(first, 503, "service_unavailable")  # the database went away: nothing committed
        else:
            assert_problem(first, 503, "gateway_unavailable")
        assert first.headers.get("retry-after")
        retry = await request.caller.post(request.path, request.body, key=key)
        assert retry.status_code in (200, 201), retry.text
        replay = await request.caller.post(request.path, request.body, key=key)
        assert (replay.status_code, replay.content) == (retry.status_code, retry.content)
        assert replay.headers.get("idempotent-replayed") == "true"

        numbers = scenario.right_answer(world, retry)
        webhooks = await world.deliver_webhooks()
        reconciled = await world.reconcile()
        agreement = await world.agreement()
        assert agreement.problems == [], agreement.problems
        assert scenario.right_answer(world, retry) == numbers  # nothing more appeared at the gateway
        assert set(webhooks) <= {200}, webhooks
        measure(f"{scenario}/{fault} over HTTP", first=first.status_code, retry=retry.status_code,
                replayed=replay.status_code, **numbers, webhooks=sum(webhooks.values()),
                reconciled=reconciled["checked"], checks=agreement.counts["checks"])
