"""Operations and the drop-in surface: health, metrics, OpenAPI, request ids, JSON logs without secrets, CORS,
the BFG storefront's gateway list and aliases."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from dependency_injector import providers

from adapters.sqlalchemy import create_engine
from entrypoints.http.logs import JsonFormatter, Redactor
from tests.e2e.client import ADMIN_TOKEN, JWT_SECRET, SECRET_KEY, VISA, VISA_3DS, WEBHOOK_SECRET, Hexpay, assert_problem

# API.md's paths (Litestar answers each with and without the trailing slash; the document lists them without).
API_PATHS = {
    "/api/v1/admin/gateways", "/api/v1/admin/gateways/{gateway_id}", "/api/v1/admin/orders",
    "/api/v1/admin/orders/{order_id}", "/api/v1/admin/orders/{order_id}/cancel", "/api/v1/admin/invoices/{invoice_id}",
    "/api/v1/admin/invoices/{invoice_id}/void", "/api/v1/admin/invoices/{invoice_id}/mark-uncollectible",
    "/api/v1/admin/payments/{payment_id}", "/api/v1/admin/payments/{payment_id}/capture",
    "/api/v1/admin/payments/{payment_id}/cancel", "/api/v1/admin/payments/{payment_id}/refunds",
    "/api/v1/admin/reconcile", "/api/v1/admin/events", "/api/v1/me/payment-methods",
    "/api/v1/me/payment-methods/{payment_method_id}", "/api/v1/me/payment-methods/{payment_method_id}/default",
    "/api/v1/me/orders", "/api/v1/me/orders/{order_id}", "/api/v1/me/invoices/{invoice_id}",
    "/api/store/payments/intent", "/api/v1/store/payments/intent", "/api/store/payments/{payment_id}/confirm",
    "/api/store/payments/{payment_id}", "/api/store/payments/callback/{gateway}",
    "/api/v1/store/payments/callback/{gateway}", "/api/v1/store/payments/gateways", "/sandbox/v1/payment_methods",
    "/sandbox/3ds/{intent_id}", "/sandbox/v1/payment_intents/{intent_id}/authenticate", "/health/live",
    "/health/ready", "/metrics",
}


async def test_health(api: Hexpay) -> None:
    assert (await api.http.get("/health/live")).json() == {"status": "ok"}
    assert (await api.http.get("/health/ready")).json() == {"status": "ok"}
    api.container.engine.override(providers.Singleton(create_engine, "postgresql+asyncpg://nobody@127.0.0.1:9/none"))
    try:
        assert_problem(await api.http.get("/health/ready"), 503, "service_unavailable")
        assert (await api.http.get("/health/live")).status_code == 200
    finally:
        await api.container.engine().dispose()
        api.container.engine.reset_override()


async def test_metrics(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    await api.paid_order("alice", gateway["id"])
    for _ in range(2):  # the second request counts on the series the first one made
        await api.http.get("/api/v1/admin/orders/ord_missing", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    scraped = await api.http.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    lines = scraped.text.splitlines()
    assert 'hexpay_payments{status="succeeded"} 1.0' in lines
    assert 'hexpay_payments{status="canceled"} 0.0' in lines
    assert ('hexpay_http_requests_total{method="GET",route="/api/v1/admin/orders/{order_id}",status="404"} 2.0'
            in lines), [line for line in lines if "requests_total" in line]
    assert any(line.startswith('hexpay_http_request_duration_seconds_bucket{le="0.5",method="POST",'
                               'route="/api/v1/admin/orders"') for line in lines)
    assert any(line.startswith('hexpay_webhook_events_total{outcome=') and 'type="payment_intent.succeeded"' in line
               for line in lines)


async def test_openapi_document(api: Hexpay) -> None:
    response = await api.http.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = {path.rstrip("/") or "/" for path in document["paths"]}
    assert paths >= API_PATHS, sorted(API_PATHS - paths)
    order_post = document["paths"]["/api/v1/admin/orders"]["post"]
    assert {"201", "400", "401"} <= order_post["responses"].keys()
    assert "application/problem+json" in order_post["responses"]["400"]["content"]
    intent = document["paths"]["/api/store/payments/intent"]["post"]
    assert {"200", "201", "402"} <= intent["responses"].keys()


async def test_request_id(api: Hexpay) -> None:
    generated = (await api.http.get("/health/live")).headers["x-request-id"]
    assert len(generated) == 32
    echoed = await api.http.get("/health/live", headers={"X-Request-Id": "trace-abc.123"})
    assert echoed.headers["x-request-id"] == "trace-abc.123"
    replaced = await api.http.get("/health/live", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert (await api.http.get("/nowhere")).headers["x-request-id"]  # errors too


async def test_logs_are_json_lines_without_secrets(api: Hexpay) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor((ADMIN_TOKEN, JWT_SECRET))))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        gateway = await api.sandbox_gateway()
        shopper = api.shopper("alice")
        order = await api.order("alice")
        card = (await api.save_card(shopper, gateway["id"], VISA_3DS)).json()
        intent = (await api.intent(shopper, order["id"], gateway["id"], payment_method_id=card["id"])).json()
        await api.confirm(shopper, intent["payment_id"])
        await api.anonymous.post(f"/sandbox/v1/payment_intents/{intent['gateway_payment_id']}/authenticate",
                                 {"success": True})
        await api.delivered()
        await api.bearer("e2e-wrong-" + JWT_SECRET).get("/api/v1/me/orders/")
        # A caller's request id is echoed into the request log line: a secret-shaped one is masked there too.
        for leaked_id in (ADMIN_TOKEN, "sk_live_" + "x" * 20, "whsec_" + "y" * 20):
            await api.http.get("/health/live", headers={"X-Request-Id": leaked_id})
        logging.getLogger("hexpay.test").warning("leak attempt %s %s %s", VISA, intent["client_secret"],
                                                 shopper.token)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["logger"] == "hexpay.http" and line["message"] == "request"]
    assert len(requests) >= 8
    assert {"request_id", "method", "route", "status", "duration_ms"} <= requests[0].keys()
    for secret in (ADMIN_TOKEN, JWT_SECRET, WEBHOOK_SECRET, SECRET_KEY, VISA, VISA_3DS, intent["client_secret"],
                   str(shopper.token)):
        assert secret not in text, secret
    assert any("[redacted]" in line["message"] for line in lines if line["logger"] == "hexpay.test")


async def test_redactor_masks_each_shape() -> None:
    redact = Redactor(("a-configured-secret-value",))
    for leaked in ("4242 4242 4242 4242", "4000-0027-6000-3184", "sk_test_abc123", "rk_live_xyz", "whsec_abc",
                   "pi_3Qabc_secret_def", "seti_1A_secret_B", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
                   "Bearer abc.def", "a-configured-secret-value"):
        assert leaked not in redact(f"before {leaked} after"), leaked
    assert redact("order ord_01abc paid 2500 usd") == "order ord_01abc paid 2500 usd"


async def test_cors_for_browsers(api_with: Callable[..., AbstractAsyncContextManager[Hexpay]]) -> None:
    async with api_with(cors_origins=("https://shop.example",)) as api:
        preflight = await api.http.options("/api/v1/me/payment-methods/", headers={
            "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
        allowed = await api.http.get("/api/v1/store/payments/gateways/", headers={"Origin": "https://shop.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        other = await api.http.get("/api/v1/store/payments/gateways/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    async with api_with() as api:
        closed = await api.http.get("/api/v1/store/payments/gateways/", headers={"Origin": "https://shop.example"})
        assert "access-control-allow-origin" not in closed.headers


async def test_storefront_gateways_and_no_secret_anywhere(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    inactive = await api.sandbox_gateway("Old")
    await api.admin.patch(f"/api/v1/admin/gateways/{inactive['id']}", {"is_active": False})
    listed = await api.http.get("/api/v1/store/payments/gateways/")
    assert listed.status_code == 200
    assert listed.json() == [{"id": gateway["id"], "name": "Sandbox", "gateway_type": "sandbox", "is_active": True,
                              "display_info": {"publishable_key": "pk_test_e2e", "supports_saved_cards": True}}]
    assert (await api.http.get("/api/v1/store/payments/gateways")).json() == listed.json()
    texts = [listed.text, (await api.admin.get("/api/v1/admin/gateways/")).text,
             (await api.admin.get(f"/api/v1/admin/gateways/{gateway['id']}")).text, json.dumps(gateway)]
    for text in texts:
        assert SECRET_KEY not in text and WEBHOOK_SECRET not in text
    assert gateway["webhook_path"] == f"/api/store/payments/callback/{gateway['id']}"


async def test_admin_gateways(api: Hexpay) -> None:
    first = await api.sandbox_gateway("One")
    second = await api.sandbox_gateway("Two")
    page = (await api.admin.get("/api/v1/admin/gateways/", limit=1)).json()
    assert page["object"] == "list" and page["has_more"] is True and len(page["data"]) == 1
    both = (await api.admin.get("/api/v1/admin/gateways/")).json()["data"]
    assert {g["id"] for g in both} == {first["id"], second["id"]}
    renamed = await api.admin.patch(f"/api/v1/admin/gateways/{first['id']}", {
        "name": "Renamed", "config": {"webhook_secret": "whsec_rotated_" + "e" * 20}})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    assert renamed.json()["created_at"] == first["created_at"]
    assert_problem(await api.admin.get("/api/v1/admin/gateways/gw_nope"), 404, "not_found")
    assert_problem(await api.admin.patch("/api/v1/admin/gateways/gw_nope", {"name": "x"}), 404, "not_found")


async def test_bfg_intent_alias_with_and_without_slash(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("zoe")
    order = await api.order("zoe")
    body = {"order_id": order["id"], "gateway_id": gateway["id"]}
    created = await shopper.post("/api/v1/store/payments/intent/", body)
    assert created.status_code == 201
    for path in ("/api/v1/store/payments/intent", "/api/store/payments/intent", "/api/store/payments/intent/"):
        again = await shopper.post(path, body)
        assert again.status_code == 200 and again.json()["payment_id"] == created.json()["payment_id"]
    assert created.json()["gateway_payload"]["client_secret"] == created.json()["client_secret"]


async def test_an_unreachable_database_is_a_retryable_503_problem() -> None:
    """Nothing was done when the database cannot be reached, so the client is told to retry."""
    from tests.e2e.conftest import _hexpay

    async with _hexpay("postgresql+asyncpg://nobody@127.0.0.1:1/nothing") as api:
        response = await api.admin.get("/api/v1/admin/orders/ord_missing")
    problem = assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "127.0.0.1" not in problem["detail"]
