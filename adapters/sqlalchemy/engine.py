"""The AsyncEngine for a database URL: Postgres (asyncpg) in production, SQLite (aiosqlite) embedded."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sqlalchemy.account_memory import LISTENER_NAME, attach_account_memory
from adapters.sqlalchemy.pg_pool import attach_pool

# How long a SQLite writer waits for the one before it, in milliseconds, before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled Postgres connection that sat unused for longer than this is pinged before it is handed out, and replaced
# if the ping fails (a failover, a proxy that cut it while idle). One used more recently is handed out as it is:
# SQLAlchemy's pool_pre_ping would ping on every checkout, three round trips (BEGIN, an empty query, ROLLBACK)
# for every unit of work.
IDLE_BEFORE_PING_S = 10.0


def json_text(document: Any) -> str:
    """A JSON column's value as text, by msgspec (the engines' serializer, and the outbox's documents)."""
    return msgspec.json.encode(document).decode()


# JSON columns (metadata, outbox documents, gateway snapshots) written and read by msgspec: a third of the json
# module's time, the same values back.
_JSON = {"json_serializer": json_text, "json_deserializer": msgspec.json.decode}


def async_url(url: str | URL) -> URL:
    """Accept the URLs people paste (postgres://, postgresql://, sqlite:///) and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


CONNECTIONS = 40  # the most a worker opens for units of work unless told otherwise (HEXPAY_DATABASE_CONNECTIONS)


def create_engine(url: str | URL, connections: int | None = None, **options: Any) -> AsyncEngine:
    """connections: the most this engine opens for units of work (its pools' whole size); None keeps the
    defaults (Postgres: 40, as many as 32 requests in flight on one worker use at once)."""
    target = async_url(url)
    if connections is not None:
        options = {**options, "pool_size": connections, "max_overflow": 0}
    if target.get_backend_name() == "sqlite":
        return _sqlite_engine(target, options)
    idle_before_ping = options.pop("idle_before_ping", IDLE_BEFORE_PING_S)
    if "poolclass" in options:
        engine = create_async_engine(target, **{**_JSON, **options})
        _with_unit_of_work_pool(engine, options, idle_before_ping)
        return engine
    defaults: dict[str, Any] = {
        **_JSON,
        "hide_parameters": True,  # a database error never quotes row values (client secrets) into logs
        # Sizes both pools (the units of work's asyncpg pool gets pool_size + max_overflow): as many connections
        # as a worker's requests in flight use at once (32 connections of load on one worker). Both open lazily;
        # the engine's own serves only migrations and the readiness probe.
        "pool_size": CONNECTIONS - 10,
        "max_overflow": 10,
        "pool_timeout": 10,  # a request should fail fast rather than queue forever behind a saturated pool
        "pool_recycle": 1_800,
    }
    engine = create_async_engine(target, **{**defaults, **options})
    if not options.get("pool_pre_ping"):
        _ping_when_idle(engine, idle_before_ping)
    _with_unit_of_work_pool(engine, {**defaults, **options}, idle_before_ping)
    return engine


def _with_unit_of_work_pool(engine: AsyncEngine, options: dict[str, Any], idle_before_ping: float) -> None:
    """Units of work draw from asyncpg's pool (pg_pool.py), sized and timed like the engine's."""
    if engine.dialect.driver != "asyncpg":
        return
    size = options.get("pool_size", 5) + options.get("max_overflow", 10)
    pool = attach_pool(engine, max_size=max(size, 1), timeout=options.get("pool_timeout", 30),
                       idle_before_ping=idle_before_ping)
    # One connection more: the listener for gateway account changes (account_memory.py).
    attach_account_memory(engine, partial(pool.connect_alone, LISTENER_NAME))


def _ping_when_idle(engine: AsyncEngine, idle_before_ping: float) -> None:
    """Survive a database failover or an idle connection cut by a proxy, at the cost of one round trip only for
    connections that were idle (the pool retries the checkout with a new connection when the ping fails)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at <= idle_before_ping:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError("a pooled connection no longer answers") from error


def _sqlite_engine(target: URL, options: dict[str, Any]) -> AsyncEngine:
    if target.database and target.database != ":memory:" and not target.database.startswith("file:"):
        Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    defaults: dict[str, Any] = {**_JSON, "hide_parameters": True}
    if "poolclass" not in options:
        defaults.update(pool_size=5, max_overflow=10)
    engine = create_async_engine(target, **{**defaults, **options})

    @event.listens_for(engine.sync_engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, emits BEGIN (below), so reads are inside the transaction too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint; safe with WAL
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin_immediate(connection: Any) -> None:
        # Take the write lock up front: a second writer waits (busy_timeout) instead of failing at its first
        # write with "database is locked" after reading stale data. SQLite thus runs one unit of work at a
        # time, which is what makes get_for_update a no-op here.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
