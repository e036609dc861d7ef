"""A small client of hexpay's HTTP API for the e2e tests: callers, the usual steps, and problem+json checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from litestar import Litestar

from adapters.sandbox import SandboxNetwork
from entrypoints.container import Container

ADMIN_TOKEN = "e2e-admin-token-" + "a" * 24
JWT_SECRET = "e2e-jwt-secret-" + "b" * 32
WEBHOOK_SECRET = "whsec_e2e_" + "c" * 24
SECRET_KEY = "sk_test_e2e_" + "d" * 24

VISA = "4242424242424242"
VISA_3DS = "4000002760003184"
DECLINED = "4000000000000002"  # declines when attached and when charged
DECLINES_ON_CHARGE = "4000000000000341"  # attaches, then declines when charged
INSUFFICIENT_FUNDS = "4000000000009995"
MASTERCARD = "5555555555554444"


def mint_token(reference: str, *, email: str | None = None, ttl: int = 3600, claim: str = "sub",
               secret: str = JWT_SECRET, algorithm: str = "HS256", **extra: Any) -> str:
    claims: dict[str, Any] = {claim: reference, "exp": int(time.time()) + ttl, **extra}
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm=algorithm)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == status and body["code"] == code, body
    if code == "validation_error":
        assert body["errors"] and all({"field", "message"} <= e.keys() for e in body["errors"]), body
    return body


@dataclass
class Caller:
    """Someone calling the API with one credential (or none)."""

    http: httpx.AsyncClient
    token: str | None

    def _headers(self, key: str | None, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key is not None:
            out["Idempotency-Key"] = key
        return {**out, **(headers or {})}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, headers=self._headers(None, None), params=params or None)

    async def post(self, path: str, body: Any = None, *, key: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        if body is None:
            return await self.http.post(path, headers=self._headers(key, headers))
        return await self.http.post(path, json=body, headers=self._headers(key, headers))

    async def patch(self, path: str, body: Any) -> httpx.Response:
        return await self.http.patch(path, json=body, headers=self._headers(None, None))

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(path, headers=self._headers(None, None))


@dataclass
class Hexpay:
    http: httpx.AsyncClient
    container: Container
    app: Litestar

    @classmethod
    @asynccontextmanager
    async def over(cls, app: Litestar, container: Container) -> AsyncIterator[Hexpay]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield cls(http, container, app)

    # ---- callers ---------------------------------------------------------------------------------------------
    @property
    def admin(self) -> Caller:
        return Caller(self.http, ADMIN_TOKEN)

    @property
    def anonymous(self) -> Caller:
        return Caller(self.http, None)

    def shopper(self, reference: str, email: str | None = None) -> Caller:
        return Caller(self.http, mint_token(reference, email=email))

    def bearer(self, token: str) -> Caller:
        return Caller(self.http, token)

    @property
    def network(self) -> SandboxNetwork:
        network: SandboxNetwork = self.container.sandbox_network()
        return network

    async def delivered(self) -> None:
        """Until every webhook the sandbox has sent so far has been handled by the app."""
        await self.network.wait_for_deliveries()

    # ---- the usual steps -------------------------------------------------------------------------------------
    async def sandbox_gateway(self, name: str = "Sandbox") -> dict[str, Any]:
        response = await self.admin.post("/api/v1/admin/gateways/", {
            "name": name, "kind": "sandbox",
            "config": {"secret_key": SECRET_KEY, "publishable_key": "pk_test_e2e", "webhook_secret": WEBHOOK_SECRET},
        })
        assert response.status_code == 201, response.text
        gateway: dict[str, Any] = response.json()
        return gateway

    async def order(self, reference: str, *, amount: int = 2500, currency: str = "usd",
                    quantity: int = 1) -> dict[str, Any]:
        response = await self.admin.post("/api/v1/admin/orders/", {
            "customer": {"reference": reference, "email": f"{reference}@example.com"}, "currency": currency,
            "lines": [{"description": "Tea", "quantity": quantity, "unit_amount": amount}],
            "metadata": {"cart": "c-1"},
        })
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    async def tokenize(self, number: str = VISA) -> str:
        response = await self.anonymous.post("/sandbox/v1/payment_methods", {
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def save_card(self, shopper: Caller, gateway_id: str, number: str = VISA,
                        **extra: Any) -> httpx.Response:
        token = await self.tokenize(number)
        body = {"gateway": gateway_id, "gateway_payment_method_data": {"payment_method_id": token}, **extra}
        return await shopper.post("/api/v1/me/payment-methods/", body)

    async def intent(self, shopper: Caller, order_id: str, gateway_id: str, **extra: Any) -> httpx.Response:
        return await shopper.post("/api/store/payments/intent/", {"order_id": order_id, "gateway_id": gateway_id,
                                                                  **extra}, key=secrets.token_hex(8))

    async def confirm(self, shopper: Caller, payment_id: str, **body: Any) -> httpx.Response:
        return await shopper.post(f"/api/store/payments/{payment_id}/confirm/", body)

    async def paid_order(self, shopper_ref: str, gateway_id: str, *, amount: int = 2500,
                         capture_method: str = "automatic") -> tuple[dict[str, Any], dict[str, Any]]:
        """An order paid with a saved Visa: (order, payment) once the webhooks are in."""
        shopper = self.shopper(shopper_ref)
        order = await self.order(shopper_ref, amount=amount)
        card = (await self.save_card(shopper, gateway_id)).json()
        intent = (await self.intent(shopper, order["id"], gateway_id, payment_method_id=card["id"],
                                    capture_method=capture_method)).json()
        payment = await self.confirm(shopper, intent["payment_id"])
        assert payment.status_code == 200, payment.text
        await self.delivered()
        return order, payment.json()

    async def admin_order(self, order_id: str) -> dict[str, Any]:
        response = await self.admin.get(f"/api/v1/admin/orders/{order_id}")
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()
        return order

    async def admin_payment(self, payment_id: str) -> dict[str, Any]:
        response = await self.admin.get(f"/api/v1/admin/payments/{payment_id}")
        assert response.status_code == 200, response.text
        payment: dict[str, Any] = response.json()
        return payment

    async def event_types(self) -> list[str]:
        response = await self.admin.get("/api/v1/admin/events/", limit=500)
        assert response.status_code == 200, response.text
        return [event["type"] for event in response.json()["data"]]
