"""A shop with two customers, and a probe of everything an attack could change.

`Shop.state()` reads, through the admin API and the gateway's books, every resource the victim owns, the whole
event feed and every object at the gateway: an attack answered with an error must leave it identical.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from entrypoints.http.app import create_app
from tests.e2e.client import Hexpay
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.gateway_ledger import GatewayLedger

VICTIM, ATTACKER = "alice", "mallory"


@dataclass
class Shop:
    api: Hexpay
    gateway: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)  # the victim's: order, invoice, payment, payment_method...

    @property
    def ledger(self) -> GatewayLedger:
        return GatewayLedger(self.api.network, self.gateway["id"])

    async def state(self) -> dict[str, Any]:
        api = self.api
        victim = api.shopper(VICTIM)
        snapshot: dict[str, Any] = {
            "events": (await api.admin.get("/api/v1/admin/events/", limit=500)).json()["data"],
            "victim_methods": (await victim.get("/api/v1/me/payment-methods/")).json()["data"],
            "victim_orders": (await victim.get("/api/v1/me/orders/")).json()["data"],
            "gateways": (await api.admin.get("/api/v1/admin/gateways/")).json()["data"],
            "gateway_intents": sorted((i.gateway_payment_id, i.status, i.amount_received, i.amount_refunded)
                                      for i in self.ledger.intents()),
            "gateway_refunds": sorted(self.ledger.refunds()),
            "gateway_customers": self.ledger.customers(),
            "gateway_attached": self.ledger.attached_methods(),
        }
        for name in ("paid_payment", "live_payment"):
            snapshot[name] = (await api.admin.get(f"/api/v1/admin/payments/{self.ids[name]}")).json()
        for name in ("paid_order", "unpaid_order"):
            snapshot[name] = (await api.admin.get(f"/api/v1/admin/orders/{self.ids[name]}")).json()
        return snapshot


@asynccontextmanager
async def shop(database_url: str) -> AsyncIterator[Shop]:
    """Alice has a saved card, a paid order and an unpaid order with a live payment; Mallory has her own order."""
    container = e2e_container(e2e_settings(database_url))
    app = create_app(container)
    try:
        async with Hexpay.over(app, container) as api:
            gateway = await api.sandbox_gateway()
            alice = api.shopper(VICTIM)
            token = await api.tokenize()
            saved = await alice.post("/api/v1/me/payment-methods/", {
                "gateway": gateway["id"], "gateway_payment_method_data": {"payment_method_id": token}})
            assert saved.status_code == 201, saved.text
            card = saved.json()
            paid_order = await api.order(VICTIM, amount=3_000)
            intent = (await api.intent(alice, paid_order["id"], gateway["id"], payment_method_id=card["id"],
                                       confirm=True)).json()
            assert intent["status"] == "succeeded", intent
            paid = {"id": intent["payment_id"]}
            unpaid = await api.order(VICTIM, amount=1_800)
            live = await api.intent(alice, unpaid["id"], gateway["id"])
            assert live.status_code == 201, live.text
            mallory = api.shopper(ATTACKER)
            own = await api.order(ATTACKER, amount=900)
            assert (await api.save_card(mallory, gateway["id"])).status_code == 201
            await api.delivered()
            found = Shop(api, gateway, {
                "paid_order": paid_order["id"], "paid_invoice": paid_order["invoice"]["id"],
                "paid_payment": paid["id"], "unpaid_order": unpaid["id"], "unpaid_invoice": unpaid["invoice"]["id"],
                "live_payment": live.json()["payment_id"], "payment_method": card["id"],
                "attacker_order": own["id"], "gateway_payment_method": token,
            })
            yield found
            await api.delivered()
    finally:
        await container.sandbox_network().wait_for_deliveries()
        await container.engine().dispose()
