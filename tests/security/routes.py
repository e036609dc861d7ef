"""The app's own route table, with concrete paths: Alice's ids in every path parameter."""

from __future__ import annotations

import inspect
import re
from typing import Any

from tests.security.probe import Shop

PARAM_IDS = {"payment_method_id": "payment_method", "invoice_id": "unpaid_invoice", "order_id": "unpaid_order",
             "payment_id": "live_payment"}
BODIES: dict[str, Any] = {"POST": {}, "PATCH": {"name": "x"}, "GET": None, "DELETE": None, "PUT": {}}


def routes_of(found: Shop, audience: str, *, with_body: bool = False) -> list[tuple[str, str]]:
    """(method, concrete path) of every route for that audience ("admin", "shopper", "public"); with_body: only
    the routes whose handler reads a body (`data`, or the raw request of a webhook)."""
    out = []
    for route in found.api.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.opt.get("audience") != audience:
                continue
            if with_body and not {"data", "request"} & set(inspect.signature(handler.fn).parameters):
                continue
            for method in sorted(set(handler.http_methods) - {"OPTIONS", "HEAD"}):
                out.append((method, concrete(found, route.path)))
    return out


def concrete(found: Shop, template: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PARAM_IDS:
            return found.ids[PARAM_IDS[name]]
        if name == "gateway_id" or name == "gateway":
            return str(found.gateway["id"])
        return "x"

    return re.sub(r"{(\w+):\w+}", fill, template) + ("/" if not template.endswith("/") else "")
