"""hexpay in this process (the real app on an in-process ASGI transport), for building template rows and for
recording the statements each scenario's request sends to Postgres.

Recording hooks asyncpg itself (prepared statements, simple queries, executemany), so it sees exactly what goes
over the wire, BEGIN and COMMIT included: the same list pg_stat_statements would show, in order, with the
parameters and each statement's result. Only statements issued while a request is being recorded are kept.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from asyncpg.prepared_stmt import PreparedStatement
from dependency_injector import providers
from litestar import Litestar

from adapters.sandbox import SandboxNetwork
from bench.secrets import GATEWAY_SECRET_KEY, PUBLISHABLE_KEY, BenchSecrets
from entrypoints.container import Container
from entrypoints.http.app import create_app


@dataclass
class Statement:
    kind: str  # prepared | simple | extended | many
    sql: str
    args: tuple[Any, ...] | list[tuple[Any, ...]]
    status: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


_recording: contextvars.ContextVar[list[Statement] | None] = contextvars.ContextVar("bench_recording", default=None)
_installed = False


def _install_hooks() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    fetch, execute, run, many = (PreparedStatement.fetch, asyncpg.Connection.execute,
                                 asyncpg.Connection._execute, asyncpg.Connection.executemany)

    async def traced_fetch(self: PreparedStatement, *args: Any, **kwargs: Any) -> Any:
        log = _recording.get()
        if log is None:
            return await fetch(self, *args, **kwargs)
        entry = Statement("prepared", self.get_query(), args)
        log.append(entry)
        result = await fetch(self, *args, **kwargs)
        entry.status, entry.rows = self.get_statusmsg(), [dict(r) for r in result]
        return result

    async def traced_execute(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        log = _recording.get()
        if log is None or args:
            return await execute(self, query, *args, **kwargs)
        entry = Statement("simple", query, ())
        log.append(entry)
        entry.status = await execute(self, query, **kwargs)
        return entry.status

    async def traced_run(self: asyncpg.Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        """hexpay's Postgres sessions run statements with Connection.fetch/execute (extended protocol, asyncpg's
        statement cache: prepared once per connection); SQLAlchemy's ping runs `;` with no arguments."""
        log = _recording.get()
        if log is None:
            return await run(self, query, args, *rest, **kwargs)
        entry = Statement("prepared" if args else "extended", query, tuple(args))
        log.append(entry)
        result = await run(self, query, args, *rest, **kwargs)
        rows, status = (result[0], result[1]) if kwargs.get("return_status") else (result, None)
        entry.rows = [dict(r) for r in rows or ()]
        entry.status = status.decode() if isinstance(status, bytes) else status
        if entry.status is None and entry.kind == "prepared":
            entry.status = f"SELECT {len(entry.rows)}"
        return result

    async def traced_many(self: asyncpg.Connection, command: str, args: Any, **kwargs: Any) -> Any:
        log = _recording.get()
        if log is None:
            return await many(self, command, args, **kwargs)
        args = [tuple(a) for a in args]
        log.append(Statement("many", command, args))
        return await many(self, command, args, **kwargs)

    PreparedStatement.fetch = traced_fetch
    asyncpg.Connection.execute = traced_execute
    asyncpg.Connection._execute = traced_run
    asyncpg.Connection.executemany = traced_many


@dataclass
class Recorded:
    response: httpx.Response
    statements: list[Statement]
    started: float


class InProcessHexpay:
    def __init__(self, container: Container, http: httpx.AsyncClient, secrets: BenchSecrets, app: Litestar) -> None:
        self.container, self.http, self.secrets = container, http, secrets
        self.app = app  # the ASGI app itself, for callers that bypass the HTTP client (bench.cpu_per_request)

    @property
    def network(self) -> SandboxNetwork:
        network: SandboxNetwork = self.container.sandbox_network()
        return network

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets.admin_token}"}

    def shopper(self, reference: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets.shopper_token(reference)}"}

    async def call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                   json: Any = None, content: bytes | None = None, expect: int | tuple[int, ...] = (200, 201),
                   ) -> httpx.Response:
        response = await self.http.request(method, path, headers=headers, json=json, content=content)
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    async def record(self, method: str, path: str, **kwargs: Any) -> Recorded:
        log: list[Statement] = []
        token = _recording.set(log)
        started = time.time()
        try:
            response = await self.call(method, path, **kwargs)
        finally:
            _recording.reset(token)
        return Recorded(response, log, started)

    async def register_gateway(self) -> str:
        response = await self.call("POST", "/api/v1/admin/gateways/", headers=self.admin(), json={
            "name": "Sandbox", "kind": "sandbox",
            "config": {"secret_key": GATEWAY_SECRET_KEY, "publishable_key": PUBLISHABLE_KEY,
                       "webhook_secret": self.secrets.webhook_secret}}, expect=201)
        return str(response.json()["id"])

    async def save_card(self, reference: str, gateway_id: str, test_method: str = "pm_card_visa") -> str:
        response = await self.call("POST", "/api/v1/me/payment-methods/", headers=self.shopper(reference), json={
            "gateway": gateway_id, "gateway_payment_method_data": {"payment_method_id": test_method}}, expect=201)
        return str(response.json()["id"])

    async def order(self, reference: str) -> str:
        response = await self.call("POST", "/api/v1/admin/orders/", headers=self.admin(), json={
            "customer": {"reference": reference, "email": f"{reference}@example.com"}, "currency": "usd",
            "lines": [{"description": "Tea, 250 g", "quantity": 2, "unit_amount": 1250}],
            "metadata": {"cart": "bench"}}, expect=201)
        return str(response.json()["id"])


@asynccontextmanager
async def in_process_hexpay(database_url: str, secrets: BenchSecrets, *,
                            recording: bool = True) -> AsyncIterator[InProcessHexpay]:
    """The app as `hexpay serve` builds it, with the sandbox's webhooks kept (not delivered): the bench sends the
    webhooks it wants itself, so each recorded request shows only its own statements. Without `recording` the
    statement hooks are not installed (they cost CPU on every statement: bench.cpu_per_request measures without)."""
    if recording:
        _install_hooks()
    settings = secrets.settings(database_url)
    container = Container()
    container.settings.override(providers.Object(settings))
    container.sandbox_network.override(providers.Singleton(
        SandboxNetwork, public_base_url=settings.public_base_url, deliver=None, later_after=None))
    app = create_app(container)
    try:
        await container.uow_factory().start()  # as the app's startup does (httpx's transport runs no lifespan)
        # Litestar's ASGI signature is narrower than the one httpx declares; the app is a plain ASGI callable.
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield InProcessHexpay(container, http, secrets, app)
    finally:
        await container.engine().dispose()
