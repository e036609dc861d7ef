"""The unit-of-work pool's own decisions (adapters/sqlalchemy/pg_pool.py), on a stand-in for asyncpg's pool: a
connection whose idle ping fails is closed and another one is tried; a request cancelled during the ping gives its
connection back closed; a timed acquire only when every connection is out. (Against a real server these paths
need a connection that dies silently, which a test cannot make; tests/integration/test_engine_pool.py covers the
rest on Postgres.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc

from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.pg_pool import PING_ATTEMPTS, PostgresPool, pool_of


class StandInConnection:
    def __init__(self, ping: BaseException | None = None) -> None:
        self.ping_error = ping
        self.pings = 0
        self.terminated = False

    async def fetchrow(self, query: str) -> None:
        assert query == ";"
        self.pings += 1
        if self.ping_error is not None:
            raise self.ping_error

    def terminate(self) -> None:
        self.terminated = True

    def is_closed(self) -> bool:
        return self.terminated

    def is_in_transaction(self) -> bool:
        return False


class Lease:
    def __init__(self, connection: StandInConnection) -> None:
        self._con = connection


class StandInPool:
    """Hands out its connections in order; records the timeouts asked for and what came back."""

    def __init__(self, connections: list[StandInConnection]) -> None:
        self.free = list(connections)
        self.timeouts: list[float | None] = []
        self.released: list[StandInConnection] = []

    async def acquire(self, timeout: float | None = None) -> Lease:  # noqa: ASYNC109 - asyncpg's signature
        self.timeouts.append(timeout)
        return Lease(self.free.pop(0))

    async def release(self, lease: Lease) -> None:
        self.released.append(lease._con)
        self.free.append(lease._con)


def _pool(stand_in: StandInPool, *, max_size: int = 2) -> PostgresPool:
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    pool = PostgresPool(engine, max_size=max_size, timeout=1.5, idle_before_ping=0.0)
    pool._pool = stand_in  # type: ignore[assignment]
    return pool


async def _idle(pool: PostgresPool, *connections: StandInConnection) -> None:
    """Each connection was returned a moment ago: with idle_before_ping=0 the next checkout pings it."""
    for connection in connections:
        pool._leased += 1
        await pool.release(Lease(connection), connection)  # type: ignore[arg-type]
    await asyncio.sleep(0.001)


async def test_a_connection_whose_idle_ping_fails_is_closed_and_the_next_one_is_handed_out() -> None:
    dead, alive = StandInConnection(ping=ConnectionResetError("cut while idle")), StandInConnection()
    stand_in = StandInPool([dead, alive])
    pool = _pool(stand_in)
    await _idle(pool, alive, dead)  # parked: the one given back last is handed out first
    stand_in.released.clear()
    _, connection = await pool.acquire()
    assert connection is alive and alive.pings == 1
    assert dead.terminated and stand_in.released == [dead]


async def test_when_every_ping_fails_the_checkout_is_a_disconnection_error() -> None:
    dead = [StandInConnection(ping=ConnectionResetError("gone")) for _ in range(PING_ATTEMPTS)]
    stand_in = StandInPool(dead)
    pool = _pool(stand_in, max_size=PING_ATTEMPTS)
    await _idle(pool, *dead)
    with pytest.raises(exc.DisconnectionError):
        await pool.acquire()
    assert all(c.terminated for c in dead) and pool._leased == 0


async def test_a_request_cancelled_during_the_ping_gives_its_connection_back_closed() -> None:
    pinged = StandInConnection(ping=asyncio.CancelledError())
    stand_in = StandInPool([pinged])
    pool = _pool(stand_in)
    await _idle(pool, pinged)
    stand_in.released.clear()
    with pytest.raises(asyncio.CancelledError):
        await pool.acquire()
    assert pinged.terminated and stand_in.released == [pinged] and pool._leased == 0


async def test_a_timed_acquire_only_when_every_connection_is_out() -> None:
    stand_in = StandInPool([StandInConnection(), StandInConnection(), StandInConnection()])
    pool = _pool(stand_in, max_size=2)
    pool._idle_before_ping = 60.0
    first: Any = await pool.acquire()
    await pool.acquire()
    assert stand_in.timeouts == [None, None]
    await pool.release(*first)
    assert await pool.acquire() == first  # parked, and taken again without asking asyncpg's pool
    assert stand_in.timeouts == [None, None]
    await pool.acquire()  # two are out: this one may wait, at most the timeout
    assert stand_in.timeouts == [None, None, 1.5]


async def test_a_connection_given_back_is_parked_and_only_disposal_returns_it_to_asyncpg() -> None:
    """Given back in good order, a connection stays checked out of asyncpg's pool, parked for the next unit of
    work; closing the pool gives every parked one back first (asyncpg's close waits for all it handed out)."""
    stand_in = StandInPool([StandInConnection(), StandInConnection()])
    closed: list[int] = []

    async def close() -> None:
        closed.append(len(stand_in.released))

    stand_in.close = close  # type: ignore[attr-defined]
    pool = _pool(stand_in)
    pool._idle_before_ping = 60.0
    leases: list[Any] = [await pool.acquire(), await pool.acquire()]
    for lease in leases:
        await pool.release(*lease)
    assert stand_in.released == [] and pool._leased == 0
    await pool.close()
    assert closed == [2]


async def test_an_engine_for_postgres_has_the_pool_and_one_for_sqlite_has_none(tmp_path: Path) -> None:
    postgres = create_engine("postgresql://nobody@127.0.0.1:1/none")
    sqlite = create_engine(f"sqlite:///{tmp_path / 'hexpay.db'}")
    try:
        assert pool_of(postgres) is not None and pool_of(sqlite) is None
    finally:
        await postgres.dispose()
        await sqlite.dispose()
