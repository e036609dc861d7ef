"""The Postgres pools (the units of work's asyncpg pool, pg_pool.py, and the engine's own, which migrations and the
readiness probe use) hand out a connection that sat idle only after a ping, and replace it when the ping fails;
a connection used moments ago is handed out without one (no round trip per unit of work); a connection lost
mid-transaction is an error of SQLAlchemy's kind and leaves the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from application.ports.repositories import IdempotencyRecord
from entrypoints.settings import Settings, SettingsError
from tests.contract import aggregates as make
from tests.fixtures.one_connection import OnePooledConnection, transaction_control
from tests.fixtures.postgres import asyncpg_dsn

pytestmark = pytest.mark.postgres


_PID = text("SELECT pg_backend_pid()")


async def _backend(engine: AsyncEngine) -> int:
    """The server process behind the engine's own pool (SQLAlchemy's Connection)."""
    async with engine.connect() as connection:
        return int((await connection.execute(_PID)).scalar_one())


def _unit_of_work_backend(engine: AsyncEngine) -> Callable[[], Awaitable[int]]:
    """The server process behind the connection a unit of work gets (the asyncpg pool)."""
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))

    async def backend() -> int:
        async with uow.reader() as reader:
            return int((await reader._current().execute(_PID)).scalar_one())

    return backend


async def _terminate(postgres_url: str, backend: int) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()


@pytest.mark.parametrize("through", ["units of work", "engine"])
async def test_an_idle_connection_cut_by_the_server_is_replaced_unseen(postgres_url: str, through: str) -> None:
    engine = create_engine(postgres_url, idle_before_ping=0.2, pool_size=1, max_overflow=0)
    backend = _unit_of_work_backend(engine) if through == "units of work" else partial(_backend, engine)
    try:
        first = await backend()
        await _terminate(postgres_url, first)
        await asyncio.sleep(0.4)
        second = await backend()
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_idle_past_the_threshold_is_pinged_first(postgres_url: str) -> None:
    engine = create_engine(postgres_url, idle_before_ping=0.2, pool_size=1, max_overflow=0)
    sent: list[str] = []
    try:
        uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
        async with uow.reader() as reader:
            connection = reader._current().session._connection  # type: ignore[attr-defined]
            connection.add_query_logger(lambda record: sent.append(record.query.strip()))
        await asyncio.sleep(0.3)
        backend = _unit_of_work_backend(engine)
        first = await backend()
        await asyncio.sleep(0.1)
        assert sent[0] == ";" and len(sent) == 2  # the ping, then the statement, on the same connection
        assert await backend() == first
        await asyncio.sleep(0.1)
        assert len(sent) == 3  # used moments ago: no ping
    finally:
        await engine.dispose()


async def test_a_unit_of_work_waits_for_a_connection_at_most_the_pool_timeout(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    try:
        async with uow.reader() as holding:
            await holding.payments.get("pay_absent")
            with pytest.raises(exc.TimeoutError):
                async with uow.reader() as waiting:
                    await waiting.payments.get("pay_absent")
        async with uow.reader() as after:  # the one connection is back
            assert await after.payments.get("pay_absent") is None
    finally:
        await engine.dispose()


async def test_disposing_the_engine_closes_the_unit_of_work_pool(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=2, max_overflow=0)
    backend = await _unit_of_work_backend(engine)()
    await engine.dispose()
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        for _ in range(50):
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend):
                break
            await asyncio.sleep(0.02)
        assert not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend)
    finally:
        await admin.close()


async def test_a_connection_used_moments_ago_is_handed_out_without_a_ping(pool: OnePooledConnection) -> None:
    backend = _unit_of_work_backend(pool.engine)
    first = await backend()
    (await pool.queries()).clear()  # the first query's log line may still be on its way
    assert await backend() == first
    assert await pool.queries() == ["SELECT PG_BACKEND_PID()"]


async def test_a_connection_lost_mid_unit_of_work_is_a_database_error_and_leaves_the_pool(
    pool: OnePooledConnection, postgres_url: str
) -> None:
    """Statements run straight on asyncpg (adapters/sqlalchemy/connections.py) still fail the way SQLAlchemy's
    would: a DBAPIError subclass the HTTP layer answers 503 for, with the dead connection dropped from the pool."""
    async with pool.uow() as unit:
        assert await unit.payments.get("pay_absent") is None
        backend = int((await unit._current().execute(text("SELECT pg_backend_pid()"))).scalar_one())
        admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
        finally:
            await admin.close()
        with pytest.raises(exc.DBAPIError) as raised:
            await unit.payments.get("pay_absent")
        assert isinstance(raised.value, exc.OperationalError | exc.InterfaceError)
        assert raised.value.connection_invalidated
    async with pool.uow() as unit:  # a new connection, unseen by the caller
        assert await unit.payments.get("pay_absent") is None
        assert int((await unit._current().execute(text("SELECT pg_backend_pid()"))).scalar_one()) != backend


async def test_a_reader_sends_no_begin_unless_an_aggregate_needs_a_snapshot(pool: OnePooledConnection) -> None:
    async with pool.uow() as unit:
        await unit.payments.add(make.payment("pay_with_children"))
        await unit.payments.add(make.live_payment("pay_alone", order_id="ord_2"))
        await unit.commit()
    (await pool.queries()).clear()
    async with pool.uow.reader() as reader:
        assert (await reader.payments.get("pay_alone")) is not None
        assert await reader.customers.get_by_reference("nobody") is None
    sent = await pool.queries()
    assert len(sent) == 2 and not transaction_control(sent)
    sent.clear()
    async with pool.uow.reader() as reader:
        loaded = await reader.payments.get("pay_with_children")
    assert loaded is not None and len(loaded.refunds) == 2 and len(loaded.disputes) == 1
    begins = [q for q in await pool.queries() if q.startswith("BEGIN")]
    assert begins and "REPEATABLE READ" in begins[0] and "READ ONLY" in begins[0]


async def test_autocommit_sends_no_begin_and_begins_a_transaction_for_an_aggregate_write(
    pool: OnePooledConnection,
) -> None:
    """uow_factory.autocommit() (the idempotency layer's): each single statement commits on its own, with no
    BEGIN/COMMIT round trips; a write of several statements (an aggregate with its event) begins a transaction,
    which a rollback (the unit of work left without commit) undoes whole."""
    record = IdempotencyRecord(caller="shopper:auto", key="k-1", fingerprint="f" * 64, created_at=make.at(1))
    async with pool.uow.autocommit() as unit:
        assert await unit.idempotency.claim(record) is None
        await unit.idempotency.complete("shopper:auto", "k-1", 201, b"{}", {})
        await unit.commit()
    sent = await pool.queries()
    assert len(sent) == 2 and not transaction_control(sent)
    async with pool.uow() as unit:
        found = await unit.idempotency.claim(record)
    assert found is not None and found.status_code == 201
    (await pool.queries()).clear()  # once the last query's log line is in
    async with pool.uow.autocommit() as unit:
        await unit.payments.add(make.payment("pay_rolled_back"))
        assert transaction_control(await pool.queries()) == ["BEGIN ISOLATION LEVEL READ COMMITTED;"]
    assert transaction_control(await pool.queries())[-1] == "ROLLBACK;"
    async with pool.uow() as unit:
        assert await unit.payments.get("pay_rolled_back") is None


async def test_a_unit_of_work_cancelled_mid_statement_leaves_the_pool_usable(pool: OnePooledConnection) -> None:
    """A request cancelled while its statement runs (the client went away) must not hand the next request a
    connection that is mid-transaction. Cancelled again while it rolls back, the ROLLBACK never happens: before the
    fix, the next request on that connection failed with "cannot use Connection.transaction() in a manually
    started transaction"."""

    async def slow() -> None:
        async with pool.uow() as unit:
            await unit.payments.get("pay_absent")  # the transaction is open
            await unit._current().execute(text("SELECT pg_sleep(5)"))

    for n, (delay, again) in enumerate(((0.05, None), (0.2, None), (0.1, 0.0), (0.1, 0.001))):
        task = asyncio.create_task(slow())
        await asyncio.sleep(delay)
        task.cancel()
        if again is not None:  # cancelled again while it rolls back
            await asyncio.sleep(again)
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with pool.uow() as unit:  # the one pooled connection (or its replacement) works
            assert await unit.payments.get("pay_absent") is None
            await unit.payments.add(make.live_payment(f"pay_after_cancel_{n}", order_id=f"ord_{n}"))
            await unit.commit()


async def test_a_unit_of_work_still_open_when_the_engine_is_disposed_ends_without_error(postgres_url: str) -> None:
    """Shutdown while a request holds a connection: disposal waits for it, and its return closes it."""
    engine = create_engine(postgres_url, pool_size=2, max_overflow=0)
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    async with uow.reader() as reader:
        assert await reader.payments.get("pay_absent") is None
        disposing = asyncio.create_task(engine.dispose())
        await asyncio.sleep(0.05)
        assert not disposing.done()  # asyncpg's pool waits for the connection still out
    await asyncio.wait_for(disposing, 5)


async def test_a_connection_cut_while_parked_is_replaced_unseen_before_any_ping(
    pool: OnePooledConnection, postgres_url: str
) -> None:
    """A connection given back waits in hexpay's pool, still checked out of asyncpg's (pg_pool.py): one the server
    cut meanwhile is seen closed and dropped, even when it was used too recently to be pinged."""
    backend = _unit_of_work_backend(pool.engine)
    first = await backend()
    await _terminate(postgres_url, first)
    await asyncio.sleep(0.1)  # the connection's end of the socket sees the server go
    second = await backend()
    assert second != first
    assert await backend() == second  # and the replacement is parked and reused in turn


async def test_a_reader_cancelled_mid_statement_hands_the_next_one_a_quiet_connection(
    pool: OnePooledConnection,
) -> None:
    """Cancelled outside any transaction (a reader), the connection is parked with the statement's cancel request
    still on its way to the server: the next unit of work on it gets its answer, not the cancelled statement's
    (asyncpg's protocol waits for the cancel before the next statement) and not five seconds later."""

    async def slow() -> None:
        async with pool.uow.reader() as reader:
            await reader._current().execute(text("SELECT pg_sleep(5)"))

    for delay in (0.05, 0.2):
        task = asyncio.create_task(slow())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        started = asyncio.get_running_loop().time()
        async with pool.uow.reader() as reader:
            assert await reader.payments.get("pay_absent") is None
        assert asyncio.get_running_loop().time() - started < 4  # not queued behind the cancelled pg_sleep


async def test_a_unit_of_work_waiting_for_the_only_connection_gets_it_as_soon_as_it_is_given_back(
    pool: OnePooledConnection,
) -> None:
    """With every connection out, a unit of work waits inside asyncpg's acquire, which only asyncpg's release wakes:
    the connection given back then goes through asyncpg instead of being parked (parked, it would sit unused while
    the waiter timed out)."""
    given_back = asyncio.Event()

    async def holder() -> None:
        async with pool.uow.reader() as reader:
            assert await reader.payments.get("pay_absent") is None
            await given_back.wait()

    async def waiter() -> bool:
        async with pool.uow.reader() as reader:
            return await reader.payments.get("pay_absent") is None

    held = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    given_back.set()
    assert await asyncio.wait_for(waiting, 5)
    await held
    async with pool.uow.reader() as reader:  # and afterwards the connection is parked and reused as usual
        assert await reader.payments.get("pay_absent") is None


async def test_a_worker_opens_at_most_the_connections_it_is_given(postgres_url: str) -> None:
    """HEXPAY_DATABASE_CONNECTIONS (Settings.database_connections) caps the units of work's pool: with 2, two
    units of work hold both and a third waits for one (here past its timeout), so workers x the setting is what
    Postgres must allow."""
    settings = Settings.from_env({"HEXPAY_DATABASE_URL": postgres_url, "HEXPAY_DATABASE_CONNECTIONS": "2",
                                  "HEXPAY_ADMIN_TOKEN": "a" * 32, "HEXPAY_JWT_SECRET": "b" * 32,
                                  "HEXPAY_SECRET_KEY": AeadSecretBox.generate_key()})
    assert settings.database_connections == 2
    engine = create_engine(settings.database_url, connections=settings.database_connections, pool_timeout=0.2)
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    try:
        async with uow.reader() as first, uow.reader() as second:
            assert await first.payments.get("pay_absent") is None
            assert await second.payments.get("pay_absent") is None
            with pytest.raises(exc.TimeoutError):
                async with uow.reader() as third:
                    await third.payments.get("pay_absent")
    finally:
        await engine.dispose()


@pytest.mark.parametrize("value", ["0", "-3", "many", "1001", "2.5"])
def test_a_connection_count_that_is_not_a_whole_number_in_range_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="HEXPAY_DATABASE_CONNECTIONS"):
        Settings.from_env({"HEXPAY_DATABASE_CONNECTIONS": value, "HEXPAY_ADMIN_TOKEN": "a" * 32,
                           "HEXPAY_JWT_SECRET": "b" * 32, "HEXPAY_SECRET_KEY": AeadSecretBox.generate_key()})
