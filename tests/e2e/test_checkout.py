"""API.md's payment flows end to end, on SQLite and on Postgres: pay, 3-D Secure, decline then retry, capture."""

from __future__ import annotations

from typing import Any

from tests.e2e.client import DECLINES_ON_CHARGE, MASTERCARD, VISA, VISA_3DS, Caller, Hexpay, assert_problem


async def test_order_paid_by_card_through_the_webhook(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("alice", "alice@example.com")
    order = await api.order("alice", amount=1250, quantity=2)
    assert order["status"] == "pending_payment" and order["total"] == 2500
    assert order["invoice"]["status"] == "open" and order["invoice"]["amount_remaining"] == 2500

    card = (await api.save_card(shopper, gateway["id"])).json()
    created = await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"])
    assert created.status_code == 201, created.text
    intent = created.json()
    assert intent["amount"] == 2500 and intent["currency"] == "usd"
    assert intent["publishable_key"] == "pk_test_e2e"
    assert intent["client_secret"] and intent["gateway_payload"] == {
        "payment_intent_id": intent["gateway_payment_id"], "client_secret": intent["client_secret"],
        "status": intent["status"]}
    assert intent["payment_number"].startswith("PAY-")

    # The order's live payment on that gateway comes back instead of a second one.
    again = await api.intent(shopper, order["id"], gateway["id"])
    assert again.status_code == 200 and again.json()["payment_id"] == intent["payment_id"]

    confirmed = await api.confirm(shopper, intent["payment_id"])
    assert confirmed.status_code == 200, confirmed.text
    await api.delivered()

    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert payment["status"] == "succeeded" and payment["amount_received"] == 2500
    assert payment["last_payment_error"] is None and payment["next_action"] is None
    order = await api.admin_order(order["id"])
    assert order["status"] == "paid"
    assert order["invoice"] == {**order["invoice"], "status": "paid", "amount_paid": 2500, "amount_remaining": 0}
    invoice = (await shopper.get(f"/api/v1/me/invoices/{order['invoice']['id']}")).json()
    assert invoice["status"] == "paid" and invoice["order_id"] == order["id"]
    types = await api.event_types()
    for expected in ("OrderCreated", "PaymentSucceeded", "OrderPaid", "InvoicePaid"):
        assert types.count(expected) == 1, types

    # A paid order takes no new payment.
    assert_problem(await api.intent(shopper, order["id"], gateway["id"]), 409, "conflict")


async def test_three_d_secure(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("bob")
    order = await api.order("bob")
    card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"],
                               return_url="https://shop.example/return")).json()

    payment = (await api.confirm(shopper, intent["payment_id"])).json()
    assert payment["status"] == "requires_action"
    assert payment["next_action"]["type"] == "redirect_to_url"
    url = payment["next_action"]["url"]
    assert url.endswith(f"/sandbox/3ds/{intent['gateway_payment_id']}")

    page = await api.anonymous.get(url.removeprefix("http://testserver"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Complete" in page.text and "Fail" in page.text and "<script" not in page.text

    authenticated = await api.anonymous.post(
        f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate", {"success": True})
    assert authenticated.status_code == 200, authenticated.text
    await api.delivered()

    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert payment["status"] == "succeeded" and payment["next_action"] is None
    assert (await api.admin_order(order["id"]))["status"] == "paid"


async def _in_three_d_secure(api: Hexpay, reference: str) -> tuple[Caller, dict[str, Any], dict[str, Any]]:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper(reference)
    order = await api.order(reference)
    card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"],
                               return_url="https://shop.example/return?cart=1")).json()
    assert (await api.confirm(shopper, intent["payment_id"])).json()["status"] == "requires_action"
    return shopper, card, intent


async def test_three_d_secure_page_fail_button(api: Hexpay) -> None:
    _, _, intent = await _in_three_d_secure(api, "bea")
    failed = await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/fail")
    assert failed.status_code == 303
    assert failed.headers["location"].startswith("https://shop.example/return?cart=1&payment_intent=")
    assert "redirect_status=failed" in failed.headers["location"]
    await api.delivered()
    page = await api.anonymous.get(f"/sandbox/3ds/{intent['gateway_payment_id']}")
    assert page.status_code == 200 and "Complete" not in page.text  # nothing left to authenticate
    assert (await api.admin_payment(intent["payment_id"]))["amount_received"] == 0


async def test_three_d_secure_page_complete_button(api: Hexpay) -> None:
    _, _, intent = await _in_three_d_secure(api, "ben")
    completed = await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/complete")
    assert completed.status_code == 303 and "redirect_status=succeeded" in completed.headers["location"]
    await api.delivered()
    payment = await api.admin_payment(intent["payment_id"])
    assert payment["status"] == "succeeded"
    assert (await api.admin_order(payment["order_id"]))["status"] == "paid"




async def test_retry_after_failed_three_d_secure(api: Hexpay) -> None:
    shopper, card, intent = await _in_three_d_secure(api, "bel")
    await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/fail")
    await api.delivered()
    retried = (await api.confirm(shopper, intent["payment_id"], payment_method_id=card["id"])).json()
    assert retried["status"] == "requires_action"
    completed = await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/complete")
    assert completed.status_code == 303, completed.text
    await api.delivered()
    assert (await api.admin_payment(intent["payment_id"]))["status"] == "succeeded"


async def test_failed_three_d_secure_reported_by_webhook(api: Hexpay) -> None:
    shopper, _, intent = await _in_three_d_secure(api, "bo")
    await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate",
                             {"success": False})
    await api.delivered()
    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert payment["status"] == "requires_payment_method"
    assert payment["last_payment_error"]["code"] == "payment_intent_authentication_failure"


async def test_decline_then_retry_on_the_same_payment(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("carol")
    order = await api.order("carol")
    bad = (await api.save_card(shopper, gateway["id"], DECLINES_ON_CHARGE)).json()
    good = (await api.save_card(shopper, gateway["id"], MASTERCARD)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=bad["id"])).json()

    declined = await api.confirm(shopper, intent["payment_id"])
    assert declined.status_code == 200, declined.text  # a decline is an answer, not an HTTP error
    assert declined.json()["status"] == "requires_payment_method"
    assert declined.json()["last_payment_error"]["code"] == "card_declined"
    assert declined.json()["last_payment_error"]["decline_code"] == "generic_decline"
    await api.delivered()
    assert (await api.admin_order(order["id"]))["status"] == "pending_payment"

    retried = await api.confirm(shopper, intent["payment_id"], payment_method_id=good["id"])
    assert retried.status_code == 200 and retried.json()["id"] == intent["payment_id"]
    await api.delivered()
    payment = await api.admin_payment(intent["payment_id"])
    assert payment["status"] == "succeeded" and payment["last_payment_error"] is None
    assert (await api.admin_order(order["id"]))["status"] == "paid"
    types = await api.event_types()
    assert types.count("PaymentFailed") == 1 and types.count("PaymentSucceeded") == 1, types


async def test_manual_capture_of_part(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    order, payment = await api.paid_order("dave", gateway["id"], amount=5000, capture_method="manual")
    assert payment["status"] == "requires_capture" and payment["capture_method"] == "manual"
    assert (await api.admin_order(order["id"]))["status"] == "pending_payment"

    assert_problem(await api.admin.post(f"/api/v1/admin/payments/{payment['id']}/capture/", {"amount": 6000}),
                   422, "unprocessable")
    captured = await api.admin.post(f"/api/v1/admin/payments/{payment['id']}/capture/", {"amount": 3000})
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "succeeded" and captured.json()["amount_received"] == 3000
    await api.delivered()
    order = await api.admin_order(order["id"])
    assert order["status"] == "paid" and order["invoice"]["status"] == "paid"
    assert order["invoice"]["amount_paid"] == 3000
    # Captured is final: capturing again is a conflict.
    assert_problem(await api.admin.post(f"/api/v1/admin/payments/{payment['id']}/capture/"), 409, "conflict")


async def test_intent_without_a_saved_card_and_confirm_with_one(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("erin")
    order = await api.order("erin")
    intent = await api.http.post("/api/v1/store/payments/intent", json={
        "order_id": order["id"], "gateway_id": gateway["id"]}, headers={"Authorization": f"Bearer {shopper.token}"})
    assert intent.status_code == 201, intent.text
    assert intent.json()["status"] == "requires_payment_method"
    assert_problem(await api.confirm(shopper, intent.json()["payment_id"]), 400, "validation_error")
    card = (await api.save_card(shopper, gateway["id"], VISA)).json()
    paid = await shopper.post(f"/api/v1/store/payments/{intent.json()['payment_id']}/confirm",
                              {"payment_method_id": card["id"]})
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded"


async def test_cancel_payment_then_pay_afresh(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("fay")
    order = await api.order("fay")
    first = (await api.intent(shopper, order["id"], gateway["id"])).json()
    canceled = await api.admin.post(f"/api/v1/admin/payments/{first['payment_id']}/cancel/")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    second = await api.intent(shopper, order["id"], gateway["id"])
    assert second.status_code == 201 and second.json()["payment_id"] != first["payment_id"]


async def test_three_d_secure_page_without_a_return_url(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("bix")
    order = await api.order("bix")
    card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
    intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"])).json()
    await api.confirm(shopper, intent["payment_id"])
    page = await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/complete")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "succeeded" in page.text
    assert_problem(await api.http.post(f"/sandbox/3ds/{intent['gateway_payment_id']}/complete"), 409, "conflict")
