"""The storefront's own path: the frontend confirms with the client_secret alone (Stripe.js's
confirmCardPayment; here the sandbox's browser endpoint), and save_card=true keeps the new card."""

from __future__ import annotations

from tests.e2e.client import Hexpay, assert_problem

VISA, DECLINED = "4242424242424242", "4000000000000002"


async def test_a_new_card_confirmed_in_the_browser_with_save_card_becomes_a_saved_method(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("ines", email="ines@example.com")
    order = await api.order("ines", amount=4599)
    intent_answer = await api.intent(shopper, order["id"], gateway["id"], save_card=True)
    assert intent_answer.status_code == 201, intent_answer.text
    intent = intent_answer.json()
    assert (await shopper.get("/api/v1/me/payment-methods/")).json()["data"] == []

    new_card = await api.tokenize(VISA)
    confirmed = await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/confirm", {
        "client_secret": intent["gateway_payload"]["client_secret"], "payment_method": new_card})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    await api.delivered()  # payment_intent.succeeded reaches hexpay through its callback

    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert (payment["status"], payment["amount_received"]) == ("succeeded", 4599)
    assert (await api.admin_order(order["id"]))["status"] == "paid"
    saved = (await shopper.get("/api/v1/me/payment-methods/")).json()["data"]
    assert [(m["card_last4"], m["card_brand"], m["is_default"]) for m in saved] == [("4242", "visa", True)]


async def test_the_browser_needs_the_intents_own_client_secret(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("jo")
    order = await api.order("jo")
    intent = (await api.intent(shopper, order["id"], gateway["id"])).json()
    wrong = await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/confirm", {
        "client_secret": intent["gateway_payment_id"] + "_secret_forged", "payment_method": await api.tokenize()})
    assert_problem(wrong, 400, "validation_error")
    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert payment["status"] == "requires_payment_method"


async def test_a_card_declined_in_the_browser_leaves_the_order_payable(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("kai")
    order = await api.order("kai")
    intent = (await api.intent(shopper, order["id"], gateway["id"], save_card=True)).json()
    declined = await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/confirm", {
        "client_secret": intent["gateway_payload"]["client_secret"], "payment_method": await api.tokenize(DECLINED)})
    assert_problem(declined, 402, "card_declined")
    await api.delivered()
    payment = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
    assert payment["status"] == "requires_payment_method"
    assert payment["last_payment_error"]["decline_code"] == "generic_decline"
    assert (await api.admin_order(order["id"]))["status"] == "pending_payment"
    assert (await shopper.get("/api/v1/me/payment-methods/")).json()["data"] == []
