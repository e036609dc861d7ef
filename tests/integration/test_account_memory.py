"""Gateway accounts remembered per process (adapters/sqlalchemy/account_memory.py): a change made by another process
is seen once Postgres's notification of it arrives, nothing is served while the listener is lost, and a row the
reading transaction wrote itself (it may be rolled back) or a read that raced a change is never remembered.

"Another process" is a second engine on the same database, with its own memory and its own listener, as a second
worker has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest
from alembic import command

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.account_memory import LISTENER_NAME, AccountMemory, account_memory_of
from adapters.sqlalchemy.migrate import alembic_config
from domain.gateway_account import GatewayAccount
from tests.contract import aggregates as make
from tests.fixtures.postgres import asyncpg_dsn

pytestmark = pytest.mark.postgres

NOTICED_WITHIN_S = 10.0  # a bound on waiting for a notification or a reconnection, not a speed being tested


@dataclass
class Process:
    uow: SqlAlchemyUnitOfWorkFactory
    memory: AccountMemory

    async def account(self) -> GatewayAccount:
        async with self.uow() as uow:
            account = await uow.gateway_accounts.get("gwa_1")
        assert account is not None
        return account

    async def rename(self, name: str) -> None:
        async with self.uow() as uow:
            account = await uow.gateway_accounts.get("gwa_1")
            assert account is not None
            account.name = name
            await uow.gateway_accounts.update(account)
            await uow.commit()


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[tuple[Process, Process]]:
    box = AeadSecretBox([AeadSecretBox.generate_key()])
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    try:
        first, second = (Process(SqlAlchemyUnitOfWorkFactory(e, box), _memory(e)) for e in engines)
        async with first.uow() as uow:
            await uow.gateway_accounts.add(make.gateway_account())
            await uow.commit()
        assert await first.uow.start(NOTICED_WITHIN_S) and await second.uow.start(NOTICED_WITHIN_S)
        yield first, second
    finally:
        for engine in engines:
            await engine.dispose()


def _memory(engine: object) -> AccountMemory:
    memory = account_memory_of(engine)  # type: ignore[arg-type]
    assert memory is not None
    return memory


async def _eventually(check: Callable[[], Awaitable[bool]]) -> bool:
    for _ in range(int(NOTICED_WITHIN_S / 0.02)):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_change_made_by_another_process_is_seen_once_notified(
    processes: tuple[Process, Process],
) -> None:
    first, second = processes
    assert (await first.account()).name == "Stripe EU gwa_1"
    assert first.memory.get("gwa_1") is not None  # remembered: the next read sends nothing
    await second.rename("Stripe renamed")

    async def renamed() -> bool:
        return (await first.account()).name == "Stripe renamed"

    assert await _eventually(renamed)
    assert first.memory.get("gwa_1") is None or first.memory.get("gwa_1")["name"] == "Stripe renamed"


async def test_a_deleted_or_truncated_account_is_forgotten(processes: tuple[Process, Process],
                                                           postgres_url: str) -> None:
    first, _ = processes
    await first.account()
    connection = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        await connection.execute("TRUNCATE gateway_accounts CASCADE")
    finally:
        await connection.close()

    async def gone() -> bool:
        async with first.uow() as uow:
            return await uow.gateway_accounts.get("gwa_1") is None

    assert await _eventually(gone)


async def test_nothing_is_served_from_memory_while_the_listener_is_lost(
    processes: tuple[Process, Process], postgres_url: str,
) -> None:
    first, second = processes
    await first.account()
    connection = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        # Every listener of this database is cut (both processes'); the first must stop serving at once.
        await connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = $1 AND datname = current_database()", LISTENER_NAME)
    finally:
        await connection.close()

    async def deaf() -> bool:
        return not first.memory.listening

    assert await _eventually(deaf)
    # No notification can reach it now: the change must be read from the database, not from memory.
    await second.rename("Renamed while deaf")
    assert (await first.account()).name == "Renamed while deaf"

    async def back() -> bool:
        return first.memory.listening and second.memory.listening

    assert await _eventually(back)  # it reconnects by itself, and serves again
    await first.account()
    assert first.memory.get("gwa_1") is not None
    await second.rename("Renamed after")

    async def renamed() -> bool:
        return (await first.account()).name == "Renamed after"

    assert await _eventually(renamed)


async def test_a_row_the_transaction_wrote_is_neither_served_nor_remembered(
    processes: tuple[Process, Process],
) -> None:
    first, _ = processes
    await first.account()
    async with first.uow() as uow:
        account = await uow.gateway_accounts.get("gwa_1")
        assert account is not None
        account.name = "Never committed"
        await uow.gateway_accounts.update(account)
        again = await uow.gateway_accounts.get("gwa_1")
        assert again is not None and again.name == "Never committed"  # its own write, from the database
        await uow.rollback()
    assert first.memory.get("gwa_1") is None
    assert (await first.account()).name == "Stripe EU gwa_1"


async def test_a_read_inside_an_older_snapshot_is_not_remembered(processes: tuple[Process, Process]) -> None:
    """A reader's one-snapshot transaction sees the moment of its first statement: an account read in it after a
    change was notified is the old row, and must not be remembered as if it were the latest."""
    first, second = processes
    async with first.uow.reader() as uow, uow._current().snapshot():
        await uow.customers.get("cus_nobody")  # the snapshot is taken here
        generation = first.memory.generation
        await second.rename("Renamed after the snapshot")

        async def notified() -> bool:
            return first.memory.generation != generation

        assert await _eventually(notified)
        account = await uow.gateway_accounts.get("gwa_1")
        assert account is not None and account.name == "Stripe EU gwa_1"  # the snapshot's moment
    assert (await first.account()).name == "Renamed after the snapshot"


async def test_a_read_that_raced_a_change_is_not_remembered(processes: tuple[Process, Process]) -> None:
    first, _ = processes
    generation = first.memory.generation  # as a read takes it, before its statement
    row = {"id": "gwa_1", "name": "as read"}
    first.memory.forget("gwa_1")  # a notification handled while the statement ran
    first.memory.remember("gwa_1", row, generation)
    assert first.memory.get("gwa_1") is None
    first.memory.remember("gwa_1", row, first.memory.generation)
    assert first.memory.get("gwa_1") is row


async def test_the_listener_goes_with_the_engine(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    assert await uow.start(NOTICED_WITHIN_S)
    await engine.dispose()
    assert not _memory(engine).listening
    connection = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        async def closed() -> bool:
            return not await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
                LISTENER_NAME)

        assert await _eventually(closed)
    finally:
        await connection.close()


async def test_a_database_without_the_trigger_is_read_every_time(empty_postgres_url: str) -> None:
    """Migrated by a hexpay that had no trigger (revision 0002): the memory never serves, reads stay correct."""
    await asyncio.to_thread(command.upgrade, alembic_config(empty_postgres_url), "0002")
    engine = create_engine(empty_postgres_url)
    try:
        uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
        assert not await uow.start(1.0)
        async with uow() as unit:
            await unit.gateway_accounts.add(make.gateway_account())
            await unit.commit()
        async with uow() as unit:
            assert await unit.gateway_accounts.get("gwa_1") is not None
        assert _memory(engine).get("gwa_1") is None and not _memory(engine).listening
    finally:
        await engine.dispose()


class _ThroughAPooler(asyncpg.Connection):
    """What a client of PgBouncer sees: the process id the connection was opened with is the pooler's own."""

    def get_server_pid(self) -> int:
        return super().get_server_pid() + 1


async def test_a_listener_behind_a_pooler_never_serves(postgres_url: str) -> None:
    """In PgBouncer's transaction mode a LISTEN stays on a server connection other clients go on to use: the
    notifications would not come, so the memory must not serve at all."""
    memory = AccountMemory(lambda: asyncpg.connect(asyncpg_dsn(postgres_url), connection_class=_ThroughAPooler))
    try:
        assert not await memory.start(1.0)
        memory.remember("gwa_1", {"id": "gwa_1"}, memory.generation)
        assert memory.get("gwa_1") is None
    finally:
        await memory.close()
