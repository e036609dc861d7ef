"""`hexpay demo`: a whole sandbox purchase with 3-D Secure against a running server, step by step."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import httpx

from entrypoints.settings import Settings

CARD_3DS = "4000002760003184"


def _step(n: int, text: str, detail: str = "") -> None:
    print(f"{n:>2}. {text}" + (f"\n      {detail}" if detail else ""), flush=True)


async def _call(client: httpx.AsyncClient, method: str, path: str, token: str | None = None,
                body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "POST":
        headers["Idempotency-Key"] = secrets.token_hex(12)
    response = await client.request(method, path, headers=headers, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
    data: dict[str, Any] = response.json() if response.content else {}
    return data


async def run_demo(base_url: str, settings: Settings) -> int:
    from entrypoints.cli import _mint_token

    shopper = f"demo-{secrets.token_hex(4)}"
    token = _mint_token(settings, shopper, f"{shopper}@example.com", timedelta(hours=1))
    admin = settings.admin_token
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        gateways = (await client.get("/api/v1/store/payments/gateways/")).json()
        sandbox = next((g for g in gateways if g["gateway_type"] == "sandbox"), None)
        if sandbox is None:
            print("no active sandbox gateway: start the server with `make run`")
            return 1
        _step(1, f"storefront lists gateways: {[g['name'] for g in gateways]}", f"using {sandbox['id']}")

        order = await _call(client, "POST", "/api/v1/admin/orders/", admin, {
            "customer": {"reference": shopper, "email": f"{shopper}@example.com"}, "currency": "eur",
            "lines": [{"description": "Espresso machine", "quantity": 1, "unit_amount": 18900},
                      {"description": "Descaler", "quantity": 2, "unit_amount": 750}]})
        _step(2, f"shop backend creates order {order['id']}: {order['total']} {order['currency']}, "
                 f"status {order['status']}", f"invoice {order['invoice']['number']} is {order['invoice']['status']}")

        card = await _call(client, "POST", "/sandbox/v1/payment_methods", None,
                           {"card": {"number": CARD_3DS, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
        saved = await _call(client, "POST", "/api/v1/me/payment-methods/", token, {
            "gateway": sandbox["id"], "gateway_payment_method_data": {"payment_method_id": card["id"]}})
        _step(3, f"shopper saves a card that needs 3-D Secure: {saved['display_info']}",
              f"payment method {saved['id']} (default: {saved['is_default']})")

        intent = await _call(client, "POST", "/api/store/payments/intent/", token, {
            "order_id": order["id"], "gateway_id": sandbox["id"], "payment_method_id": saved["id"]})
        _step(4, f"checkout opens payment {intent['payment_number']}: {intent['status']}",
              "client_secret handed to the frontend (not printed)")

        payment = await _call(client, "POST", f"/api/store/payments/{intent['payment_id']}/confirm/", token, {})
        url = (payment.get("next_action") or {}).get("url")
        _step(5, f"confirm -> {payment['status']}", f"bank page: {url}")

        await _call(client, "POST", f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate",
                    None, {"success": True})
        _step(6, "shopper completes 3-D Secure on the bank page")

        for _ in range(50):  # the sandbox's webhook settles the payment; poll until it has
            payment = await _call(client, "GET", f"/api/store/payments/{intent['payment_id']}/", token)
            if payment["status"] == "succeeded":
                break
            await asyncio.sleep(0.1)
        _step(7, f"webhook payment_intent.succeeded settled the payment: {payment['status']}, "
                 f"received {payment['amount_received']} {payment['currency']}")

        order = await _call(client, "GET", f"/api/v1/admin/orders/{order['id']}", admin)
        _step(8, f"order {order['id']} is {order['status']}; invoice {order['invoice']['number']} is "
                 f"{order['invoice']['status']} (paid {order['invoice']['amount_paid']})")
        events = await _call(client, "GET", "/api/v1/admin/events/?limit=100", admin)
        mine = [e["type"] for e in events["data"] if order["id"] in str(e["data"]) or
                intent["payment_id"] in str(e["data"])]
        _step(9, "event feed: " + ", ".join(mine))
    ok = order["status"] == "paid" and order["invoice"]["status"] == "paid"
    print("\ndemo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1
