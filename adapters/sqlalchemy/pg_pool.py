"""The connections units of work run on with Postgres: an asyncpg pool that belongs to the engine.

SQLAlchemy's pool cost about 65 us of CPU for each checkout and return (the greenlet bridge, the rollback on
return, the checkout events); asyncpg's own pool does the same job for about 25 us, and a request checks out one
or two connections. The engine keeps its own pool for what still goes through SQLAlchemy's Connection (migrations,
the readiness probe). This pool takes the engine's connect arguments and JSON codecs (so a row reads the same
either way), opens its connections on first use, keeps them open while they are used, and is closed when the
engine is disposed.

What the engine's pool did, this one does too: a connection idle for longer than `idle_before_ping` is pinged
before it is handed out and replaced if the ping fails (a failover, a proxy that cut it), one used moments ago is
handed out as it is; a connection returned mid-transaction (its ROLLBACK interrupted by a cancellation) or lost
is closed, never handed to the next request; a checkout that waits longer than the timeout is SQLAlchemy's
TimeoutError.

A connection given back in good order is parked here, still checked out of asyncpg's pool, and the next unit of work
takes the one parked last: asyncpg's release runs as a task under `asyncio.shield`, resets the connection and queues
it, its acquire goes through that queue, and a create payment checks out five times (parking cut a create's CPU by
about a sixth, README "Performance", item 21). So, as with SQLAlchemy's pool, the connections opened at the busiest
moment stay open (never more than the pool's size) instead of being closed by asyncpg after 300 s idle, nor after
asyncpg's 50,000 queries; a connection cut while parked is seen closed and dropped, one idle past `idle_before_ping`
is pinged as before; and while a unit of work waits inside asyncpg's acquire (every connection was out), connections
go back through asyncpg, the only way to wake it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

# SQLAlchemy's own arguments to its asyncpg connect(), which asyncpg itself does not take.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")
PING_ATTEMPTS = 3  # as SQLAlchemy's pool: a failed ping is retried on another connection, then it gives up


class PostgresPool:
    def __init__(self, engine: AsyncEngine, *, max_size: int, timeout: float, idle_before_ping: float) -> None:
        self._dialect: Any = engine.dialect
        self._url = engine.url
        self._max_size = max_size
        self._timeout = timeout
        self._idle_before_ping = idle_before_ping
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Future[asyncpg.Pool] | None = None
        # When each connection given back through asyncpg's pool was returned; an entry goes with its connection.
        self._returned_at: weakref.WeakKeyDictionary[asyncpg.Connection, float] = weakref.WeakKeyDictionary()
        self._leased = 0  # connections handed out and not yet back
        # Back, still checked out of asyncpg's pool, each with the moment it came back (kept here rather than in
        # _returned_at, a weak mapping whose every write and read cost more than the rest of a checkout).
        self._parked: list[tuple[Any, asyncpg.Connection, float]] = []
        self._cut: list[Any] = []  # leases of parked connections found closed, for asyncpg to take back
        self._waiting = 0  # units of work inside asyncpg's acquire (all connections were out, none parked)

    async def acquire(self) -> tuple[Any, asyncpg.Connection]:
        """A connection ready for statements, with its lease (asyncpg's pool proxy): give both back to release().
        Statements go to the connection itself: the proxy detaches the moment its connection is lost, after which
        even "is it closed?" cannot be asked through it."""
        pool = self._pool or await self._open()
        for _ in range(PING_ATTEMPTS):
            parked = self._unpark()
            if self._cut:
                await self._release_cut(pool)
            if parked is None:
                lease, connection = await self._checkout(pool)
                returned_at = self._returned_at.pop(connection, None)
            else:
                lease, connection, returned_at = parked
            self._leased += 1
            if returned_at is None or self._fresh(returned_at):
                return lease, connection
            try:
                await connection.fetchrow(";")
            except BaseException as error:  # cut while it sat idle (replaced on the next acquire), or cancelled
                connection.terminate()
                await self._give_back(pool, lease)
                if not isinstance(error, Exception):
                    raise
                continue
            return lease, connection
        raise exc.DisconnectionError("no pooled connection answers")

    def take_parked(self) -> tuple[Any, asyncpg.Connection] | None:
        """The connection parked last, handed out at once (no await) when it is open, fresh enough to need no
        ping and no cut connection waits to go back to asyncpg: the common case. None: acquire() decides."""
        parked = self._parked
        if not parked or self._cut:
            return None
        lease, connection, returned_at = parked[-1]
        if connection.is_closed() or not self._fresh(returned_at):
            return None
        parked.pop()
        self._leased += 1
        return lease, connection

    def _fresh(self, returned_at: float) -> bool:
        """Back recently enough to be used without a ping first."""
        return time.monotonic() - returned_at <= self._idle_before_ping

    def _unpark(self) -> tuple[Any, asyncpg.Connection, float] | None:
        """The connection parked last that is still open; those found cut on the way wait in _cut for asyncpg."""
        while self._parked:
            parked = self._parked.pop()
            if not parked[1].is_closed():
                return parked
            self._cut.append(parked[0])
        return None

    async def _release_cut(self, pool: asyncpg.Pool) -> None:
        while self._cut:  # one at a time: asyncpg shields each release, so a cancelled acquire loses none
            await pool.release(self._cut.pop())  # asyncpg takes the slot back (a no-op if it has already)

    async def _checkout(self, pool: asyncpg.Pool) -> tuple[Any, asyncpg.Connection]:
        # asyncpg runs a timed acquire as a task under wait_for (about 15 us); while fewer than max_size are
        # out, a free slot exists and acquire() takes it without waiting (connecting has its own timeout).
        timeout = self._timeout if self._leased >= self._max_size else None
        self._waiting += 1
        try:
            lease = await pool.acquire(timeout=timeout)
        except TimeoutError as error:
            raise exc.TimeoutError(f"no database connection came free within {self._timeout} s") from error
        finally:
            self._waiting -= 1
        return lease, lease._con

    def park(self, lease: Any, connection: asyncpg.Connection) -> bool:
        """A connection given back in good order parked at once (no await), as release() would park it; False when
        release() must decide: the pool is closed, it is closed or inside a transaction, or a unit of work waits
        in asyncpg's acquire (woken only by asyncpg's release)."""
        # Parked even with a cancelled statement's cancel request still in flight: asyncpg's protocol waits for it
        # before the connection's next statement, as its pool's release would have.
        if self._pool is None or self._waiting or connection.is_closed() or connection.is_in_transaction():
            return False
        self._leased -= 1
        self._parked.append((lease, connection, time.monotonic()))
        return True

    async def release(self, lease: Any, connection: asyncpg.Connection, *, discard: bool = False) -> None:
        """Back to the pool; closed instead when `discard`, when it is still inside a transaction, or when the pool
        was closed (the engine disposed) while it was out."""
        if self._pool is None:
            connection.terminate()  # asyncpg's closing pool, waiting for it, takes it back as closed
            return
        if discard or (not connection.is_closed() and connection.is_in_transaction()):
            connection.terminate()
        elif not connection.is_closed():
            if self.park(lease, connection):
                return
            self._returned_at[connection] = time.monotonic()  # for a unit of work waiting in asyncpg's acquire
        await self._give_back(self._pool, lease)

    async def _give_back(self, pool: asyncpg.Pool, lease: Any) -> None:
        self._leased -= 1
        await pool.release(lease)

    async def _open(self) -> asyncpg.Pool:
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.ensure_future(self._create())
        try:
            pool = await asyncio.shield(opening)
        except BaseException:
            if opening.done() and self._opening is opening:
                self._opening = None  # a failed start is tried again by the next request
            raise
        self._pool = pool
        return pool

    def _connect_args(self) -> tuple[list[Any], dict[str, Any]]:
        args, options = self._dialect.create_connect_args(self._url)
        for name in _SQLALCHEMY_ONLY:
            options.pop(name, None)
        return args, options

    async def connect_alone(self, application_name: str) -> asyncpg.Connection:
        """A connection of the pool's server and settings that is no unit of work's (a listener's), named in
        pg_stat_activity."""
        args, options = self._connect_args()
        options["server_settings"] = {**options.get("server_settings", {}), "application_name": application_name}
        return await asyncpg.connect(*args, **options)

    async def _create(self) -> asyncpg.Pool:
        args, options = self._connect_args()
        # Each connection prepares a statement on first use and keeps it in an LRU of this size (asyncpg's default
        # is 100). An aggregate's UPDATE sets only the columns that changed, one statement per set of columns a
        # transition changes: the storefront's flows use about 70 statements in all; room for the rest.
        options.setdefault("statement_cache_size", 256)
        pool = asyncpg.create_pool(*args, **options, min_size=0, max_size=self._max_size, init=self._prepare,
                                   reset=_keep_session)
        return await pool

    async def _prepare(self, connection: asyncpg.Connection) -> None:
        """A new connection gets the codecs SQLAlchemy's dialect gives its own (json and jsonb as text, read by
        the engine's json_deserializer)."""
        adapted = AsyncAdapt_asyncpg_connection(self._dialect.loaded_dbapi, connection)  # type: ignore[no-untyped-call]
        await self._dialect.setup_asyncpg_json_codec(adapted)
        await self._dialect.setup_asyncpg_jsonb_codec(adapted)

    async def close(self) -> None:
        pool, self._pool, self._opening = self._pool, None, None
        parked, self._parked = self._parked, []
        cut, self._cut = self._cut, []
        self._returned_at.clear()
        self._leased = 0
        if pool is not None:
            for lease in [*(lease for lease, _, _ in parked), *cut]:  # asyncpg's close waits for every one out
                await pool.release(lease)
            await pool.close()

    def terminate(self) -> None:
        pool, self._pool, self._opening = self._pool, None, None
        self._parked, self._cut = [], []
        if pool is not None:
            pool.terminate()


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """asyncpg rolls back an open transaction on release by itself; its default reset would also send RESET ALL,
    UNLISTEN and friends, a round trip on every release for session state hexpay never sets."""


_POOLS: weakref.WeakKeyDictionary[Engine, PostgresPool] = weakref.WeakKeyDictionary()


def attach_pool(engine: AsyncEngine, **options: Any) -> PostgresPool:
    pool = _POOLS[engine.sync_engine] = PostgresPool(engine, **options)

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def close_pool(_engine: Engine) -> None:
        # AsyncEngine.dispose() runs this inside its greenlet, where a coroutine can be awaited.
        if in_greenlet():
            await_(pool.close())
        else:
            pool.terminate()

    return pool


def pool_of(engine: AsyncEngine) -> PostgresPool | None:
    return _POOLS.get(engine.sync_engine)
