"""Every way to fail authentication is the same 401; another customer's resources read as missing (404)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.client import ADMIN_TOKEN, JWT_SECRET, Hexpay, assert_problem, mint_token

ADMIN_ROUTES = [("GET", "/api/v1/admin/gateways/"), ("POST", "/api/v1/admin/orders/"),
                ("GET", "/api/v1/admin/orders/ord_1"), ("POST", "/api/v1/admin/reconcile/"),
                ("GET", "/api/v1/admin/events/"), ("POST", "/api/v1/admin/payments/pay_1/refunds/")]
SHOPPER_ROUTES = [("GET", "/api/v1/me/payment-methods/"), ("POST", "/api/v1/me/payment-methods/"),
                  ("GET", "/api/v1/me/orders/"), ("POST", "/api/store/payments/intent/"),
                  ("POST", "/api/v1/store/payments/intent"), ("GET", "/api/store/payments/pay_1/"),
                  ("POST", "/api/store/payments/pay_1/confirm/"), ("DELETE", "/api/v1/me/payment-methods/cpm_1/")]


def _rs256_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode({"sub": "mallory", "exp": int(time.time()) + 60}, pem, algorithm="RS256")


def _unsigned_token() -> str:
    return jwt.encode({"sub": "mallory", "exp": int(time.time()) + 60}, key=None, algorithm="none")  # type: ignore[arg-type]


BAD_SHOPPER_CREDENTIALS = {
    "missing": None,
    "garbage": "not-a-jwt",
    "wrong secret": mint_token("mallory", secret="another-secret-" + "x" * 32),
    "expired": mint_token("mallory", ttl=-10),
    "alg none": _unsigned_token(),
    "RS256": _rs256_token(),
    "no exp": jwt.encode({"sub": "mallory"}, JWT_SECRET, algorithm="HS256"),
    "no sub": jwt.encode({"exp": int(time.time()) + 60, "email": "m@example.com"}, JWT_SECRET, algorithm="HS256"),
    "admin token": ADMIN_TOKEN,
}
BAD_ADMIN_CREDENTIALS = {
    "missing": None,
    "wrong": "e2e-admin-token-" + "z" * 24,
    "prefix of the right one": ADMIN_TOKEN[:-1],
    "shopper JWT": mint_token("alice"),
}


async def _call(api: Hexpay, method: str, path: str, token: str | None, body: object = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.http.request(method, path, headers=headers, json=body)
    problem = assert_problem(response, 401, "unauthenticated")
    assert problem["detail"] == "A valid bearer credential is required."  # the same words whatever went wrong
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("credential", BAD_ADMIN_CREDENTIALS)
async def test_admin_routes_refuse(api: Hexpay, credential: str) -> None:
    for method, path in ADMIN_ROUTES:
        await _call(api, method, path, BAD_ADMIN_CREDENTIALS[credential])
    # Not even a malformed body is looked at before the credential.
    await _call(api, "POST", "/api/v1/admin/orders/", BAD_ADMIN_CREDENTIALS[credential], {"nonsense": True})


@pytest.mark.parametrize("credential", BAD_SHOPPER_CREDENTIALS)
async def test_shopper_routes_refuse(api: Hexpay, credential: str) -> None:
    for method, path in SHOPPER_ROUTES:
        await _call(api, method, path, BAD_SHOPPER_CREDENTIALS[credential])
    await _call(api, "POST", "/api/v1/me/payment-methods/", BAD_SHOPPER_CREDENTIALS[credential], [1, 2])


async def test_other_schemes_are_refused(api: Hexpay) -> None:
    for header in (f"Basic {ADMIN_TOKEN}", ADMIN_TOKEN, "Bearer", "Bearer "):
        response = await api.http.get("/api/v1/admin/gateways/", headers={"Authorization": header})
        assert_problem(response, 401, "unauthenticated")


async def test_another_customers_resources_are_404(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    order, payment = await api.paid_order("alice", gateway["id"])
    alice = api.shopper("alice")
    card = (await alice.get("/api/v1/me/payment-methods/")).json()["data"][0]
    mallory = api.shopper("mallory")
    unpaid = await api.order("alice")

    for path in (f"/api/v1/me/orders/{order['id']}", f"/api/v1/me/invoices/{order['invoice']['id']}",
                 f"/api/store/payments/{payment['id']}/", f"/api/v1/store/payments/{payment['id']}/"):
        assert (await alice.get(path)).status_code == 200, path
        assert_problem(await mallory.get(path), 404, "not_found")
    assert_problem(await mallory.post(f"/api/store/payments/{payment['id']}/confirm/", {}), 404, "not_found")
    assert_problem(await mallory.post(f"/api/v1/me/payment-methods/{card['id']}/default/"), 404, "not_found")
    assert_problem(await mallory.patch(f"/api/v1/me/payment-methods/{card['id']}/", {"cardholder_name": "M"}), 404,
                   "not_found")
    assert_problem(await mallory.delete(f"/api/v1/me/payment-methods/{card['id']}/"), 404, "not_found")
    assert_problem(await api.intent(mallory, unpaid["id"], gateway["id"]), 404, "not_found")
    # Mallory's own order cannot be paid with Alice's card either.
    own = await api.order("mallory")
    assert_problem(await api.intent(mallory, own["id"], gateway["id"], payment_method_id=card["id"]), 404,
                   "not_found")
    assert (await mallory.get("/api/v1/me/orders/")).json()["data"] == [own | {"invoice": own["invoice"]}]
    assert (await alice.get("/api/v1/me/payment-methods/")).json()["data"] == [card]  # untouched


async def test_a_shops_own_subject_claim(api_with: Callable[..., AbstractAsyncContextManager[Hexpay]]) -> None:
    async with api_with(jwt_subject_claim="user_id") as api:
        await api.order("42")
        numeric = api.bearer(mint_token(42, claim="user_id"))  # type: ignore[arg-type]
        listed = await numeric.get("/api/v1/me/orders/")
        assert listed.status_code == 200 and len(listed.json()["data"]) == 1
        assert_problem(await api.bearer(mint_token("42")).get("/api/v1/me/orders/"), 401, "unauthenticated")
        assert_problem(await api.bearer(mint_token(True, claim="user_id")).get("/api/v1/me/orders/"),  # type: ignore[arg-type]
                       401, "unauthenticated")


async def test_the_email_claim_reaches_the_gateway_customer(api: Hexpay) -> None:
    api.network.set_webhook_sender(None)
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("eve", email="eve@example.com")
    assert (await api.save_card(shopper, gateway["id"])).status_code == 201
    created = [json.loads(body)["data"]["object"] for body, _ in api.network.drain_webhooks(gateway["id"])
               if json.loads(body)["type"] == "customer.created"]
    assert [customer["email"] for customer in created] == ["eve@example.com"]
