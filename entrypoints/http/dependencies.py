"""The bridge from Litestar's dependency injection to the container: one small async provider per name.

Each provider resolves its container provider per request, so a test's `container.x.override(...)` takes effect
on the next request without rebuilding the app. Handlers name what they need (`create_order: CreateOrder`)
and never see the container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from litestar import Request
from litestar.di import Dependency, Provide
from litestar.params import SkipValidationMarker

from entrypoints.http.auth import provide_shopper

if TYPE_CHECKING:
    from entrypoints.container import Container

T = TypeVar("T")

# A handler parameter the container fills by name. Not type-checked per request: what the container gives is
# trusted, and a test's fake (`container.reconcile.override(...)`) need not subclass the real use case.
Injected: TypeAlias = Annotated[T, SkipValidationMarker(), Dependency(kind="named")]

# The container's use-case providers the controllers ask for, by the same names.
USE_CASES = (
    "register_gateway", "update_gateway", "get_gateway", "list_gateways",
    "create_order", "get_order", "cancel_order", "list_customer_orders",
    "get_invoice", "void_invoice", "mark_invoice_uncollectible",
    "get_payment", "capture_payment", "cancel_payment", "refund_payment", "reconcile", "list_events",
    "list_payment_methods", "save_payment_method", "update_payment_method", "set_default_payment_method",
    "remove_payment_method", "create_payment", "confirm_payment", "handle_webhook",
)


def container_of(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


def _use_case(name: str) -> Provide:
    async def provide(request: Request[Any, Any, Any]) -> Any:
        return getattr(container_of(request), name)()

    provide.__name__ = provide.__qualname__ = f"provide_{name}"
    return Provide(provide)


async def provide_gateway_registry(request: Request[Any, Any, Any]) -> Any:
    return container_of(request).gateway_registry()


async def provide_sandbox_network(request: Request[Any, Any, Any]) -> Any:
    return container_of(request).sandbox_network()


def _use_case_after_shopper(name: str) -> Provide:
    async def provide(request: Request[Any, Any, Any], shopper: Injected[Any]) -> Any:
        return getattr(container_of(request), name)()

    provide.__name__ = provide.__qualname__ = f"provide_{name}_after_shopper"
    return Provide(provide)


def after_shopper() -> dict[str, Provide]:
    """For the controllers whose every handler takes the shopper: each use case is provided after it. Litestar
    resolves two independent dependencies in an anyio task group (a task each, about 60 us of CPU per request);
    a chain of two is resolved one after the other, with no task at all."""
    return {name: _use_case_after_shopper(name) for name in USE_CASES}


def dependencies() -> dict[str, Provide]:
    provided = {name: _use_case(name) for name in USE_CASES}
    provided["shopper"] = Provide(provide_shopper)
    provided["gateway_registry"] = Provide(provide_gateway_registry)
    provided["sandbox_network"] = Provide(provide_sandbox_network)
    return provided
