"""The real app over HTTP (httpx on an in-process ASGI transport), on a real migrated database.

`api` runs on SQLite; `any_db_api` is parametrised over SQLite and Postgres for the main flows. Each test gets
its own container with its settings overridden (container.settings.override), its own database and its own
sandbox network, whose webhooks are posted through the app itself as in the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from cryptography.fernet import Fernet
from dependency_injector import providers

from adapters.sandbox import SandboxNetwork
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.e2e.client import ADMIN_TOKEN, JWT_SECRET, Hexpay


def e2e_settings(database_url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "env": "dev",
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "jwt_secret": JWT_SECRET,
        "secret_keys": (Fernet.generate_key().decode(),),
        "public_base_url": "http://testserver",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def e2e_container(settings: Settings) -> Container:
    container = Container()
    container.settings.override(providers.Object(settings))
    # Deferred gateway happenings (a refund failing later, a dispute) only when a test asks (run_deferred),
    # and quick delivery retries.
    container.sandbox_network.override(providers.Singleton(
        SandboxNetwork, public_base_url=settings.public_base_url, deliver=container.webhook_sender,
        later_after=None, delivery_retry_delays=(0.05, 0.2),
    ))
    return container


@asynccontextmanager
async def _hexpay(database_url: str, **changes: object) -> AsyncIterator[Hexpay]:
    container = e2e_container(e2e_settings(database_url, **changes))
    app = create_app(container)
    async with Hexpay.over(app, container) as hexpay:
        yield hexpay
    await container.sandbox_network().wait_for_deliveries()
    await container.engine().dispose()


@pytest.fixture
async def api(sqlite_url: str) -> AsyncIterator[Hexpay]:
    async with _hexpay(sqlite_url) as hexpay:
        yield hexpay


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db_api(request: pytest.FixtureRequest) -> AsyncIterator[Hexpay]:
    url = request.getfixturevalue(f"{request.param}_url")
    async with _hexpay(url) as hexpay:
        yield hexpay


@pytest.fixture
def api_with(sqlite_url: str) -> Callable[..., AbstractAsyncContextManager[Hexpay]]:
    """The app with some settings changed: `async with api_with(jwt_subject_claim="user_id") as api:`."""
    return lambda **changes: _hexpay(sqlite_url, **changes)
