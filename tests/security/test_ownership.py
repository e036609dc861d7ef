"""Every shopper endpoint, called by Mallory with Alice's ids: 404 not_found (exactly as for an id that does not
exist), and nothing changed anywhere. The routes come from the app's own table, so a new shopper route with an id
in its path is covered the day it is added (or this test fails until it is)."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.client import assert_problem
from tests.fakes.measurements import Measure
from tests.security.probe import ATTACKER, VICTIM, Shop, shop

# Which of Alice's ids goes in each path parameter, and the body each method sends.
VICTIM_IDS = {"payment_method_id": ["payment_method"], "invoice_id": ["paid_invoice", "unpaid_invoice"],
              "order_id": ["paid_order", "unpaid_order"], "payment_id": ["paid_payment", "live_payment"]}
BODIES: dict[str, Any] = {"POST": {}, "PATCH": {"cardholder_name": "Mallory"}, "GET": None, "DELETE": None}


def shopper_routes(found: Shop) -> list[tuple[str, str]]:
    routes = []
    for route in found.api.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.opt.get("audience") != "shopper":
                continue
            for method in sorted(set(handler.http_methods) - {"OPTIONS", "HEAD"}):
                routes.append((method, route.path))
    return routes


async def test_another_customers_ids_on_every_shopper_endpoint_are_404_and_change_nothing(
    sqlite_url: str, measure: Measure
) -> None:
    async with shop(sqlite_url) as found:
        api, mallory = found.api, found.api.shopper(ATTACKER)
        before = await found.state()
        tried: list[str] = []
        for method, template in shopper_routes(found):
            params = re.findall(r"{(\w+):str}", template)
            if not params:
                continue
            assert len(params) == 1 and params[0] in VICTIM_IDS, f"new shopper route {template}: map its ids"
            for name in VICTIM_IDS[params[0]]:
                path = re.sub(r"{\w+:str}", found.ids[name], template) + "/"
                response = await api.http.request(method, path, json=BODIES[method],
                                                  headers={"Authorization": f"Bearer {mallory.token}"})
                assert_problem(response, 404, "not_found")
                missing = await api.http.request(method, re.sub(r"{\w+:str}", "xyz_missing", template) + "/",
                                                 json=BODIES[method],
                                                 headers={"Authorization": f"Bearer {mallory.token}"})
                assert missing.json()["detail"].replace("xyz_missing", "?") == \
                    response.json()["detail"].replace(found.ids[name], "?")  # indistinguishable from missing
                tried.append(f"{method} {template} [{name}]")

        # The id-less endpoints with Alice's ids in the body, or listing what is Mallory's only.
        gateway = found.gateway["id"]
        for intent_path in ("/api/store/payments/intent/", "/api/v1/store/payments/intent/"):
            assert_problem(await mallory.post(intent_path, {"order_id": found.ids["unpaid_order"],
                                                            "gateway_id": gateway}), 404, "not_found")
            assert_problem(await mallory.post(intent_path, {"order_id": found.ids["attacker_order"],
                                                            "gateway_id": gateway,
                                                            "payment_method_id": found.ids["payment_method"]}),
                           404, "not_found")
            tried.append(f"POST {intent_path} [victim's order, victim's card]")
        # Alice's card at the gateway, saved by Mallory as her own.
        assert_problem(await mallory.post("/api/v1/me/payment-methods/", {
            "gateway": gateway,
            "gateway_payment_method_data": {"payment_method_id": found.ids["gateway_payment_method"]}}),
            404, "not_found")
        tried.append("POST /api/v1/me/payment-methods/ [victim's gateway card]")
        mine = [o["id"] for o in (await mallory.get("/api/v1/me/orders/")).json()["data"]]
        assert mine == [found.ids["attacker_order"]]
        cards = (await mallory.get("/api/v1/me/payment-methods/")).json()["data"]
        assert found.ids["payment_method"] not in [c["id"] for c in cards] and len(cards) == 1
        tried += ["GET /api/v1/me/orders/", "GET /api/v1/me/payment-methods/"]

        await api.delivered()
        assert await found.state() == before
        covered = {t.split(" [")[0] for t in tried}
        expected = {f"{m} {p}" for m, p in shopper_routes(found)}
        assert {e for e in expected if "{" in e} <= covered, expected - covered
        measure("ownership", requests=len(tried) * 2, routes=len(expected), victim=VICTIM, state="unchanged")
