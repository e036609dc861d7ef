"""On Postgres, hexpay compiles each statement once and then only looks it up (adapters/sqlalchemy/connections.py):
a statement built per call would be compiled on every request, 200-500 us of CPU each. The storefront's flows,
run a second time with new shoppers, orders and payments, must compile nothing new."""

from __future__ import annotations

import pytest

from adapters.sqlalchemy import connections
from tests.e2e.client import Hexpay
from tests.e2e.conftest import _hexpay

pytestmark = pytest.mark.postgres


async def _storefront_round(api: Hexpay, gateway_id: str, n: int) -> None:
    shopper_ref = f"once-{n}"
    shopper = api.shopper(shopper_ref)
    order, payment = await api.paid_order(shopper_ref, gateway_id)
    assert payment["status"] == "succeeded"
    cards = await shopper.get("/api/v1/me/payment-methods/")
    assert cards.status_code == 200 and len(cards.json()["data"]) == 1
    paged = await shopper.get("/api/v1/me/payment-methods/", limit=1, starting_after=cards.json()["data"][0]["id"])
    assert paged.status_code == 200 and paged.json()["data"] == []
    assert (await shopper.get(f"/api/store/payments/{payment['id']}/")).status_code == 200
    assert (await shopper.get("/api/v1/me/orders/")).status_code == 200
    refunded = await api.admin.post(f"/api/v1/admin/payments/{payment['id']}/refunds/", {"amount": 100})
    assert refunded.status_code == 201, refunded.text
    await api.delivered()
    assert (await api.admin_order(order["id"]))["status"] == "partially_refunded"


class _InOrder(Hexpay):
    """The sandbox's webhooks sent one by one once the request that caused them has answered, so that both rounds
    take the same paths. Delivered as they happen, a webhook may beat a gateway's answer home in one round and not
    in the other; the settlement of that answer then starts over on a fresh read and writes another set of columns:
    another statement, compiled once per process like every other, but once more in the round that met the race."""

    gateway_id = ""

    async def delivered(self) -> None:
        for body, headers in self.network.drain_webhooks(self.gateway_id):
            response = await self.http.post(f"/api/store/payments/callback/{self.gateway_id}", content=body,
                                             headers=dict(headers))
            assert response.status_code == 200, response.text


async def test_the_second_round_of_the_storefront_flows_compiles_nothing(postgres_url: str) -> None:
    async with _hexpay(postgres_url) as delivering:
        api = _InOrder(delivering.http, delivering.container, delivering.app)
        api.network.set_webhook_sender(None)
        gateway = await api.sandbox_gateway()
        api.gateway_id = gateway["id"]
        await _storefront_round(api, gateway["id"], 1)
        compiled = connections.compilations()
        await _storefront_round(api, gateway["id"], 2)
        assert connections.compilations() == compiled
