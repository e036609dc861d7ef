"""Bad requests: each answered problem+json, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.client import Hexpay, assert_problem

ORDER: dict[str, Any] = {"customer": {"reference": "alice"}, "currency": "usd",
                         "lines": [{"description": "Tea", "quantity": 1, "unit_amount": 500}]}
LINE = ORDER["lines"][0]

BAD_ORDERS = {
    "unknown field": ({**ORDER, "discount": 5}, "discount"),
    "unknown nested field": ({**ORDER, "lines": [{**LINE, "sku": "T-1"}]}, "sku"),
    "quantity as text": ({**ORDER, "lines": [{**LINE, "quantity": "2"}]}, "quantity"),
    "amount as float": ({**ORDER, "lines": [{**LINE, "unit_amount": 5.5}]}, "unit_amount"),
    "negative amount": ({**ORDER, "lines": [{**LINE, "unit_amount": -1}]}, "unit_amount"),
    "zero quantity": ({**ORDER, "lines": [{**LINE, "quantity": 0}]}, "quantity"),
    "unknown currency": ({**ORDER, "currency": "xyz"}, None),
    "upper-case currency": ({**ORDER, "currency": "USD"}, "currency"),
    "no lines": ({**ORDER, "lines": []}, "lines"),
    "zero total": ({**ORDER, "lines": [{**LINE, "unit_amount": 0}]}, None),
    "missing customer": ({k: v for k, v in ORDER.items() if k != "customer"}, "customer"),
    "a list, not an object": ([ORDER], None),
    "null": (None, None),
}


@pytest.mark.parametrize("case", BAD_ORDERS)
async def test_bad_order_bodies(api: Hexpay, case: str) -> None:
    body, field = BAD_ORDERS[case]
    response = await api.http.post("/api/v1/admin/orders/", json=body,
                                   headers={"Authorization": f"Bearer {api.admin.token}"})
    problem = assert_problem(response, 400, "validation_error")
    if field is not None:
        assert any(field in (error["field"] or "") + error["message"] for error in problem["errors"]), problem
    assert await api.event_types() == []


async def test_malformed_json(api: Hexpay) -> None:
    response = await api.http.post("/api/v1/admin/orders/", content=b'{"customer": ',
                                   headers={"Authorization": f"Bearer {api.admin.token}",
                                            "Content-Type": "application/json"})
    assert_problem(response, 400, "validation_error")
    assert await api.event_types() == []


async def test_bodies_over_one_mebibyte(api: Hexpay) -> None:
    big = {**ORDER, "metadata": {"note": "x" * 500}, "padding": "y" * (1024 * 1024)}
    declared = await api.admin.post("/api/v1/admin/orders/", big)
    assert_problem(declared, 413, "payload_too_large")

    async def chunks() -> Any:  # no Content-Length: counted as it is read
        for _ in range(17):
            yield b"z" * 65536

    headers = {"Authorization": f"Bearer {api.admin.token}", "Content-Type": "application/json"}
    streamed = await api.http.post("/api/v1/admin/orders/", content=chunks(), headers=headers)
    assert_problem(streamed, 413, "payload_too_large")
    keyed = await api.http.post("/api/v1/admin/orders/", content=chunks(), headers={**headers, "Idempotency-Key": "k"})
    assert_problem(keyed, 413, "payload_too_large")
    webhook = await api.http.post("/api/store/payments/callback/gw_x", content=chunks())
    assert_problem(webhook, 413, "payload_too_large")
    assert await api.event_types() == []


async def test_bad_amounts_and_fields_elsewhere(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    order, payment = await api.paid_order("alice", gateway["id"])
    refunds = f"/api/v1/admin/payments/{payment['id']}/refunds/"
    for body in ({"amount": -100}, {"amount": 0}, {"amount": "100"}, {"amount": 100, "extra": 1},
                 {"reason": "not-a-reason"}):
        assert_problem(await api.admin.post(refunds, body), 400, "validation_error")
    capture = f"/api/v1/admin/payments/{payment['id']}/capture/"
    assert_problem(await api.admin.post(capture, {"amount": -1}), 400, "validation_error")
    shopper = api.shopper("alice")
    for body in ({"order_id": order["id"]}, {"order_id": order["id"], "gateway_id": gateway["id"], "amount": 1},
                 {"order_id": order["id"], "gateway_id": gateway["id"], "capture_method": "later"},
                 {"order_id": "", "gateway_id": gateway["id"]}):
        assert_problem(await shopper.post("/api/store/payments/intent/", body), 400, "validation_error")
    gateways = "/api/v1/admin/gateways/"
    for body in ({"name": "x", "kind": "sandbox", "config": {"secret_key": "s", "publishable_key": "p"}},
                 {"name": "x", "kind": "nope", "config": {"secret_key": "s", "publishable_key": "p",
                                                          "webhook_secret": "w"}},
                 {"name": "", "kind": "sandbox", "config": {"secret_key": "s", "publishable_key": "p",
                                                            "webhook_secret": "w"}}):
        assert_problem(await api.admin.post(gateways, body), 400, "validation_error")
    assert_problem(await api.admin.patch(f"{gateways}{gateway['id']}", {"config": {"colour": "red"}}), 400,
                   "validation_error")
    assert_problem(await shopper.patch("/api/v1/me/payment-methods/cpm_x/", {"card_exp_month": 13}), 400,
                   "validation_error")
    after = await api.admin_payment(payment["id"])
    assert after["refunds"] == [] and after["status"] == "succeeded"
    assert len((await api.admin.get(gateways)).json()["data"]) == 1


async def test_bad_query_parameters(api: Hexpay) -> None:
    for params in ({"after": "not-a-cursor"}, {"after": "9" * 40}, {"limit": 0}, {"limit": "ten"}):
        assert_problem(await api.admin.get("/api/v1/admin/events/", **params), 400, "validation_error")
    assert_problem(await api.admin.get("/api/v1/admin/gateways/", limit=1000), 400, "validation_error")


async def test_unknown_route_and_wrong_method(api: Hexpay) -> None:
    assert_problem(await api.http.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(await api.admin.get("/api/v1/admin/orders/ord_missing"), 404, "not_found")
    wrong = await api.http.put("/api/v1/admin/orders/", headers={"Authorization": f"Bearer {api.admin.token}"})
    assert_problem(wrong, 405, "method_not_allowed")
    assert_problem(await api.http.delete("/health/live"), 405, "method_not_allowed")


async def test_sandbox_tokenisation_errors(api: Hexpay) -> None:
    card = {"number": "4242424242424241", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    wrong_number = await api.anonymous.post("/sandbox/v1/payment_methods", {"card": card})
    assert assert_problem(wrong_number, 402, "card_declined")["errors"][0]["field"] == "card.number"
    live = {"card": {**card, "number": "4111111111111111"}}
    live_card = await api.anonymous.post("/sandbox/v1/payment_methods", live)
    assert_problem(live_card, 402, "card_declined")
    expired = await api.anonymous.post("/sandbox/v1/payment_methods", {"card": {**card, "exp_year": 2001,
                                                                                "number": "4242424242424242"}})
    assert_problem(expired, 402, "card_declined")
    assert_problem(await api.anonymous.post("/sandbox/v1/payment_methods", {"card": {**card, "cvc": "12a"}}), 400,
                   "validation_error")
    assert_problem(await api.anonymous.get("/sandbox/3ds/pi_missing"), 404, "not_found")
    assert_problem(await api.anonymous.post("/sandbox/v1/payment_intents/pi_missing/authenticate", {"success": True}),
                   404, "not_found")
