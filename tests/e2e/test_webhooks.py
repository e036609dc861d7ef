"""Gateway webhooks: verified on the raw body, each event once however often and in whatever order it comes."""

from __future__ import annotations

import json
import random
import time

import pytest

from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign
from tests.e2e.client import VISA_3DS, WEBHOOK_SECRET, Hexpay, assert_problem


async def _state(api: Hexpay, order_id: str, payment_id: str) -> tuple[object, ...]:
    order = await api.admin_order(order_id)
    payment = await api.admin_payment(payment_id)
    return (order["status"], order["invoice"]["status"], order["amount_refunded"], payment["status"],
            payment["amount_received"], payment["amount_refunded"], [r["status"] for r in payment["refunds"]])


async def _post(api: Hexpay, path: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    response = await api.http.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    assert answer["received"] is True
    return answer


async def test_every_delivery_again_is_a_duplicate_and_changes_nothing(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    order, payment = await api.paid_order("alice", gateway["id"])
    before = (await _state(api, order["id"], payment["id"]), await api.event_types())

    redelivered = api.network.drain_webhooks(gateway["id"])
    assert redelivered, "the sandbox sent webhooks for the payment"
    for body, headers in redelivered:
        answer = await _post(api, gateway["webhook_path"], body, headers)
        assert answer["duplicate"] is True
    assert (await _state(api, order["id"], payment["id"]), await api.event_types()) == before


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_events_in_any_order_settle_like_the_history(any_db_api: Hexpay, seed: int) -> None:
    """Only the webhooks tell hexpay that 3-D Secure succeeded and that a refund failed later: delivered
    shuffled and repeated, they end where the history ended."""
    api = any_db_api
    api.network.set_webhook_sender(None)  # the test delivers
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("bob")
    order = await api.order("bob", amount=4000)
    card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"])).json()
    assert (await api.confirm(shopper, intent["payment_id"])).json()["status"] == "requires_action"
    await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate",
                             {"success": True})
    assert (await api.admin_payment(intent["payment_id"]))["status"] == "requires_action"  # nobody told hexpay

    stream = api.network.drain_webhooks(gateway["id"])
    deliveries = stream + random.Random(seed).sample(stream, k=len(stream) // 2)
    random.Random(seed).shuffle(deliveries)
    paths = [gateway["webhook_path"], f"/api/v1/store/payments/callback/{gateway['id']}/",
             "/api/store/payments/callback/sandbox"]
    seen: set[str] = set()
    for n, (body, headers) in enumerate(deliveries):
        answer = await _post(api, paths[n % len(paths)], body, headers)
        event_id = json.loads(body)["id"]
        assert answer["duplicate"] is (event_id in seen)
        seen.add(event_id)

    assert await _state(api, order["id"], intent["payment_id"]) == ("paid", "paid", 0, "succeeded", 4000, 0, [])
    types = await api.event_types()
    for once in ("PaymentSucceeded", "OrderPaid", "InvoicePaid"):
        assert types.count(once) == 1, types


async def test_a_bad_or_stale_signature_is_400_and_stores_nothing(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    api.network.set_webhook_sender(None)
    await api.order("carol")
    shopper = api.shopper("carol")
    await api.save_card(shopper, gateway["id"])
    body, headers = api.network.drain_webhooks(gateway["id"])[0]
    path = gateway["webhook_path"]

    forged = {**headers, SIGNATURE_HEADER: sign(body, "whsec_not_the_secret", int(time.time()))}
    assert_problem(await api.http.post(path, content=body, headers=forged), 400, "invalid_signature")
    stale = {**headers, SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET, int(time.time()) - 600)}
    assert_problem(await api.http.post(path, content=body, headers=stale), 400, "invalid_signature")
    unsigned = {k: v for k, v in headers.items() if k != SIGNATURE_HEADER}
    assert_problem(await api.http.post(path, content=body, headers=unsigned), 400, "invalid_signature")
    tampered = body.replace(b'"livemode":false', b'"livemode":true ')
    assert tampered != body
    assert_problem(await api.http.post(path, content=tampered, headers=headers), 400, "invalid_signature")

    # Nothing was recorded: the genuine delivery is the first one hexpay takes.
    assert (await _post(api, path, body, headers))["duplicate"] is False
    metrics = (await api.http.get("/metrics")).text
    assert 'hexpay_webhook_events_total{outcome="invalid_signature",type="unverified"} 4.0' in metrics


async def test_unknown_gateway_unknown_event_and_unknown_payment(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    assert_problem(await api.http.post("/api/store/payments/callback/gw_nope", content=b"{}"), 404, "not_found")

    now = int(time.time())
    unknown_type = json.dumps({"id": "evt_e2e_1", "object": "event", "type": "customer.tax_id.created",
                               "created": now, "data": {"object": {"id": "txi_1", "object": "tax_id"}}}).encode()
    headers = {SIGNATURE_HEADER: sign(unknown_type, WEBHOOK_SECRET, now), "Content-Type": "application/json"}
    assert (await _post(api, gateway["webhook_path"], unknown_type, headers))["duplicate"] is False
    assert (await _post(api, gateway["webhook_path"], unknown_type, headers))["duplicate"] is True

    # A real event about an intent hexpay never made: recorded, answered 200, changes nothing.
    api.network.set_webhook_sender(None)
    other = await api.sandbox_gateway("Other")
    shopper = api.shopper("dan")
    order = await api.order("dan")
    await api.intent(shopper, order["id"], other["id"])
    events = api.network.drain_webhooks(other["id"])
    event = next(json.loads(b) for b, _ in events if json.loads(b)["type"] == "payment_intent.created")
    event.update(id="evt_e2e_unknown_intent", type="payment_intent.canceled")
    event["data"]["object"].update(id="pi_unknown", metadata={}, status="canceled")
    body = json.dumps(event).encode()
    resigned = {SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET, int(time.time()))}
    assert (await _post(api, other["webhook_path"], body, resigned))["duplicate"] is False
    assert (await api.admin_order(order["id"]))["status"] == "pending_payment"
    metrics = (await api.http.get("/metrics")).text
    assert 'hexpay_webhook_events_total{outcome="unknown_payment",type="payment_intent.canceled"} 1.0' in metrics
    # With two sandbox accounts, the kind alone no longer names one.
    assert_problem(await api.http.post("/api/store/payments/callback/sandbox", content=body, headers=resigned),
                   404, "not_found")


async def test_an_event_whose_amount_disagrees_never_pays_the_order(api: Hexpay) -> None:
    api.network.set_webhook_sender(None)
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("eve")
    order = await api.order("eve", amount=9900)
    card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"])).json()
    await api.confirm(shopper, intent["payment_id"])
    await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate",
                             {"success": True})
    succeeded = next(json.loads(body) for body, _ in api.network.drain_webhooks(gateway["id"])
                     if json.loads(body)["type"] == "payment_intent.succeeded")

    forged = json.loads(json.dumps(succeeded))
    forged["id"] = "evt_e2e_forged"
    forged["data"]["object"].update(amount=100, amount_received=100)
    body = json.dumps(forged).encode()
    answer = await _post(api, gateway["webhook_path"], body, {SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET,
                                                                                     int(time.time()))})
    assert answer["duplicate"] is False
    assert (await api.admin_order(order["id"]))["status"] == "pending_payment"
    assert "SettlementAnomalyDetected" in await api.event_types()

    genuine = json.dumps(succeeded).encode()
    await _post(api, gateway["webhook_path"], genuine, {SIGNATURE_HEADER: sign(genuine, WEBHOOK_SECRET,
                                                                               int(time.time()))})
    assert (await api.admin_order(order["id"]))["status"] == "paid"
