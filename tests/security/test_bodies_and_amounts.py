"""Hostile bodies and amounts: over 1 MiB (413) and deeply nested (400) on every route that takes a body; amounts
at and past every limit; currencies that do not exist. Each refused one is problem+json and changes nothing;
each boundary that is allowed is accepted."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign
from tests.e2e.client import ADMIN_TOKEN, WEBHOOK_SECRET, assert_problem
from tests.fakes.measurements import Measure
from tests.security.probe import ATTACKER, Shop, shop
from tests.security.routes import routes_of

MIB = 1024 * 1024


def _auth(found: Shop, audience: str) -> dict[str, str]:
    if audience == "admin":
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if audience == "shopper":
        return {"Authorization": f"Bearer {found.api.shopper(ATTACKER).token}"}
    return {}


def _body_routes(found: Shop, *, with_body: bool) -> list[tuple[str, str, str]]:
    return [(audience, method, path) for audience in ("admin", "shopper", "public")
            for method, path in routes_of(found, audience, with_body=with_body) if method in ("POST", "PATCH", "PUT")]


async def test_oversized_and_deeply_nested_bodies_on_every_route(sqlite_url: str, measure: Measure) -> None:
    async with shop(sqlite_url) as found:
        api = found.api
        before = await found.state()
        routes = _body_routes(found, with_body=False)
        readers = _body_routes(found, with_body=True)
        oversized = json.dumps({"padding": "x" * MIB}).encode()
        assert len(oversized) > MIB
        nested = b"[" * 100_000 + b"]" * 100_000
        nested_object = ('{"metadata":' + '{"a":' * 20_000 + "1" + "}" * 20_000 + "}").encode()
        answered: dict[str, int] = {}
        for audience, method, path in routes:
            headers = {**_auth(found, audience), "Content-Type": "application/json"}
            if "/callback/" in path:  # a webhook is signed; an attacker with the secret is not the threat here
                headers[SIGNATURE_HEADER] = sign(oversized, WEBHOOK_SECRET, int(time.time()))
            big = await api.http.request(method, path, content=oversized, headers=headers)
            assert_problem(big, 413, "payload_too_large")

            async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it is read
                for _ in range(MIB // 65_536 + 1):
                    yield b" " * 65_536

            if (audience, method, path) not in readers:
                continue  # an action without a body (cancel, void...) never reads one: only a declared size is refused
            chunked = await api.http.request(method, path, content=streamed(), headers=headers)
            assert_problem(chunked, 413, "payload_too_large")
            for deep in (nested, nested_object):
                if "/callback/" in path:
                    headers[SIGNATURE_HEADER] = sign(deep, WEBHOOK_SECRET, int(time.time()))
                response = await api.http.request(method, path, content=deep, headers=headers)
                assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])
                assert response.headers["content-type"].startswith("application/problem+json"), path
                answered[f"{method} {path}"] = response.status_code
        await api.delivered()
        assert await found.state() == before
        assert len(answered) == len(readers) > 5
        measure("hostile bodies", routes=len(routes), oversized_413=len(routes) + len(readers),
                nested_readers=len(readers),
                nested_answers=sorted(set(answered.values())), state="unchanged")


ORDER: dict[str, Any] = {"customer": {"reference": ATTACKER}, "currency": "usd",
                         "lines": [{"description": "Tea", "quantity": 1, "unit_amount": 500}]}


def _order(currency: str = "usd", unit_amount: Any = 500, quantity: Any = 1) -> dict[str, Any]:
    return {**ORDER, "currency": currency,
            "lines": [{"description": "Tea", "quantity": quantity, "unit_amount": unit_amount}]}


async def test_amounts_and_currencies_at_and_past_the_limits(sqlite_url: str, measure: Measure) -> None:
    async with shop(sqlite_url) as found:
        api, mallory = found.api, found.api.shopper(ATTACKER)
        gateway = found.gateway["id"]
        paid_refunds = f"/api/v1/admin/payments/{found.ids['paid_payment']}/refunds/"
        before = await found.state()

        refused_orders = {
            "zero": _order(unit_amount=0), "negative": _order(unit_amount=-1),
            "one past the maximum": _order(unit_amount=100_000_000), "2**63": _order(unit_amount=2**63),
            "a float": _order(unit_amount=10.5), "a string": _order(unit_amount="500"),
            "zero quantity": _order(quantity=0), "quantity past the limit": _order(quantity=10_001),
        }
        for currency in ("xyz", "usdd", "", "us", "USD", "xts", "xxx", "eur ", "€", None, 840):
            refused_orders[f"currency {currency!r}"] = _order(currency=currency)  # type: ignore[arg-type]
        for name, body in refused_orders.items():
            response = await api.admin.post("/api/v1/admin/orders/", body)
            assert response.status_code == 400, (name, response.text)
            assert_problem(response, 400, "validation_error")

        refused_refunds = {"zero": {"amount": 0}, "negative": {"amount": -5}, "past the maximum": {"amount": 10**8},
                           "a string": {"amount": "100"}}
        for name, body in refused_refunds.items():
            assert_problem(await api.admin.post(paid_refunds, body), 400, "validation_error"), name
        # Within the type's limits but more than was paid: the domain refuses it.
        assert_problem(await api.admin.post(paid_refunds, {"amount": 99_999_999}), 422, "unprocessable")
        capture = f"/api/v1/admin/payments/{found.ids['live_payment']}/capture/"
        for body in ({"amount": 0}, {"amount": -1}, {"amount": 10**8}):
            assert_problem(await api.admin.post(capture, body), 400, "validation_error")
        await api.delivered()
        after_refusals = await found.state()
        assert after_refusals == before

        # The gateway's own limits (Stripe's), checked before any call goes out: the order exists, the charge not.
        gateway_refusals = {("usd", 49): "below", ("jpy", 49): "below", ("kwd", 1_005): "multiple of 10",
                            ("usd", 50_000_000 * 2): "maximum"}
        accepted = {("usd", 50), ("jpy", 50), ("kwd", 1_010), ("usd", 99_999_999), ("eur", 50), ("bhd", 1_010)}
        intents_before = len(found.ledger.intents())
        for (currency, amount), words in gateway_refusals.items():
            quantity = 2 if amount > 99_999_999 else 1
            order = await api.admin.post("/api/v1/admin/orders/", _order(currency, amount // quantity, quantity))
            assert order.status_code == 201, order.text
            refused = await api.intent(mallory, order.json()["id"], gateway)
            assert words in assert_problem(refused, 422, "unprocessable")["detail"], (currency, amount)
        assert len(found.ledger.intents()) == intents_before  # nothing reached the gateway
        for currency, amount in sorted(accepted):
            order = await api.admin.post("/api/v1/admin/orders/", _order(currency, amount))
            assert order.status_code == 201, order.text
            intent = await api.intent(mallory, order.json()["id"], gateway)
            assert intent.status_code == 201, (currency, amount, intent.text)
            assert (intent.json()["amount"], intent.json()["currency"]) == (amount, currency)
        assert len(found.ledger.intents()) == intents_before + len(accepted)
        measure("amounts and currencies", refused_orders=len(refused_orders), refused_refunds=len(refused_refunds) + 1,
                refused_captures=3, refused_by_gateway_rules=len(gateway_refusals), accepted_boundaries=len(accepted),
                state_after_refusals="unchanged")
