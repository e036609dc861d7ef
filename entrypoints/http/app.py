"""The Litestar application: routes, error handling, and the layers around them.

Outermost first, every request passes: RequestObserver (request id, log line, metrics) -> BodyLimit (1 MiB by
Content-Length) -> Litestar (CORS for the configured origins, routing, problem+json for every error)
-> Authentication (the admin token or shopper JWT the route's audience needs) -> IdempotencyMiddleware (POSTs
with an Idempotency-Key) -> the controller, which maps the body to a command, calls the use case and maps its
answer back.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from entrypoints.http.auth import Authentication
from entrypoints.http.controllers.admin_events import AdminEventsController
from entrypoints.http.controllers.admin_gateways import AdminGatewaysController
from entrypoints.http.controllers.admin_invoices import AdminInvoicesController
from entrypoints.http.controllers.admin_orders import AdminOrdersController
from entrypoints.http.controllers.admin_payments import AdminPaymentsController, AdminReconcileController
from entrypoints.http.controllers.operations import live, metrics, ready
from entrypoints.http.controllers.sandbox import SandboxController
from entrypoints.http.controllers.shopper_orders import ShopperOrdersController
from entrypoints.http.controllers.shopper_payment_methods import ShopperPaymentMethodsController
from entrypoints.http.controllers.store_payments import StorePaymentsController, storefront_gateways
from entrypoints.http.controllers.webhooks import receive_webhook
from entrypoints.http.dependencies import dependencies
from entrypoints.http.idempotency import IdempotencyMiddleware
from entrypoints.http.limits import MAX_BODY_BYTES, BodyLimit
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.request_log import RequestObserver
from entrypoints.http.strict_json import StrictJSONRequest

if TYPE_CHECKING:
    from entrypoints.container import Container

ROUTES: list[Any] = [
    AdminGatewaysController, AdminOrdersController, AdminInvoicesController, AdminPaymentsController,
    AdminReconcileController, AdminEventsController,
    ShopperPaymentMethodsController, ShopperOrdersController, StorePaymentsController, storefront_gateways,
    receive_webhook, SandboxController, live, ready, metrics,
]


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="hexpay",
        version="1.0.0",
        description="Payments and invoicing: saved cards, orders with invoices, payments with 3-D Secure, refunds, "
                    "webhooks settled exactly once. Every error is application/problem+json {type, title, status, "
                    "detail, code}. Every POST accepts an Idempotency-Key header (1-255 characters): the same key "
                    "and body within 24 h replays the first answer with Idempotent-Replayed: true; another body is "
                    "422 idempotency_key_reused; while the first runs, 409 idempotency_key_in_use.",
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
        components=Components(security_schemes={
            "admin": SecurityScheme(type="http", scheme="bearer", description="HEXPAY_ADMIN_TOKEN"),
            "shopper": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                      description="HS256 JWT signed with HEXPAY_JWT_SECRET"),
        }),
        use_handler_docstrings=False,
    )


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    """Browsers call the shopper endpoints and the sandbox's client side from the shop's origins. Bearer
    credentials only (no cookies), so allowing an origin grants nothing without a token."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        expose_headers=["Idempotent-Replayed", "X-Request-Id"],
        allow_credentials=False,
        max_age=600,
    )


async def _open(container: Container) -> None:
    """At startup: listen for gateway account changes, so that every request may take its account from memory."""
    start = getattr(container.uow_factory(), "start", None)  # a unit of work factory without a memory has none
    if start is not None:
        await start()


async def _close(container: Container) -> None:
    """At shutdown: the gateway adapters' HTTP pools, then the database pool."""
    registry = container.gateway_registry()
    close = getattr(registry, "aclose", None)
    if close is not None:
        await close()
    await container.engine().dispose()


def create_app(container: Container) -> Litestar:
    metrics = HttpMetrics()
    app = Litestar(
        route_handlers=ROUTES,
        dependencies=dependencies(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(Authentication, container=container),
                    DefineMiddleware(IdempotencyMiddleware, container=container)],
        request_max_body_size=MAX_BODY_BYTES,
        request_class=StrictJSONRequest,
        openapi_config=_openapi(),
        state=State({"container": container, "metrics": metrics}),
        on_startup=[partial(_open, container)],
        on_shutdown=[partial(_close, container)],
        cors_config=_cors(container.settings().cors_origins),
        logging_config=None,
    )
    app.asgi_handler = RequestObserver(BodyLimit(app.asgi_handler), metrics)
    container.webhook_sender().attach(app)
    return app
