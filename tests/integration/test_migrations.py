"""The Alembic migrations build exactly the schema of adapters/sqlalchemy/tables.py, on Postgres and on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from adapters.sqlalchemy import create_engine, upgrade_to_head, upgrade_to_head_async
from adapters.sqlalchemy.migrate import alembic_config
from adapters.sqlalchemy.tables import metadata
from tests.fixtures.postgres import run_blocking


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _schema_differences(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences)
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_the_migrations_have_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


@pytest.mark.postgres
async def test_empty_postgres_migrated_to_head_matches_the_tables(empty_postgres_url: str) -> None:
    await upgrade_to_head_async(empty_postgres_url)
    assert await _schema_differences(empty_postgres_url) == []
    assert await _table_names(empty_postgres_url) == {*metadata.tables, "alembic_version"}


async def test_empty_sqlite_migrated_to_head_matches_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/hexpay.db"  # a fresh file in a directory that does not exist yet
    await upgrade_to_head_async(url)
    assert await _schema_differences(url) == []
    assert await _table_names(url) == {*metadata.tables, "alembic_version"}


async def test_a_second_upgrade_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/hexpay.db"
    upgrade_to_head(url)  # callable from a running loop too: it migrates in a worker thread
    upgrade_to_head(url)
    assert await _schema_differences(url) == []


@pytest.mark.postgres
async def test_downgrade_to_base_and_back(empty_postgres_url: str) -> None:
    await upgrade_to_head_async(empty_postgres_url)
    await asyncio.to_thread(command.downgrade, alembic_config(empty_postgres_url), "base")
    assert await _table_names(empty_postgres_url) == {"alembic_version"}
    await upgrade_to_head_async(empty_postgres_url)
    assert await _schema_differences(empty_postgres_url) == []


def test_the_detector_sees_a_difference(tmp_path: Path) -> None:
    """compare_metadata must notice a missing index, or the tests above prove nothing."""
    url = f"sqlite+aiosqlite:///{tmp_path}/hexpay.db"
    upgrade_to_head(url)

    async def drop_and_compare() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("DROP INDEX ux_payments_live")
                await connection.commit()
                return await connection.run_sync(_differences)
        finally:
            await engine.dispose()

    differences = run_blocking(drop_and_compare())
    assert any("ux_payments_live" in repr(d) for d in differences)


_PAYMENT_0001 = ("INSERT INTO payments (id, order_id, customer_id, gateway_account_id, amount, currency,"
                 " capture_method, status, created_at, updated_at, save_card, amount_received,"
                 " amount_capturable, failed_attempts, confirmation_attempts, version)"
                 " VALUES ('{id}', 'ord_{id}', 'cus_1', 'gw_1', 1000, 'eur', 'automatic', 'succeeded',"
                 " '2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00', false, 1000, 0, 0, 1, 2)")
_REFUND_0001 = ("INSERT INTO refunds (id, payment_id, gateway_account_id, position, amount, currency, status,"
                " created_at, updated_at) VALUES ('rfd_1', 'pay_refunded', 'gw_1', 0, 400, 'eur', 'succeeded',"
                " '2026-11-02 10:00:00+00', '2026-11-02 10:00:00+00')")
_DISPUTE_0001 = ("INSERT INTO disputes (gateway_account_id, gateway_dispute_id, payment_id, position, amount,"
                 " currency, status, opened_at, observed_at) VALUES ('gw_1', 'dp_1', 'pay_disputed', 0, 1000, 'eur',"
                 " 'needs_response', '2026-11-03 10:00:00+00', '2026-11-03 10:00:00+00')")


async def _flags_after_upgrading_payments_of_0001(url: str) -> dict[str, tuple[bool, bool]]:
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            for payment_id in ("pay_plain", "pay_refunded", "pay_disputed"):
                await connection.exec_driver_sql(_PAYMENT_0001.format(id=payment_id))
            await connection.exec_driver_sql(_REFUND_0001)
            await connection.exec_driver_sql(_DISPUTE_0001)
            await connection.commit()
        await upgrade_to_head_async(url)
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("SELECT id, has_refunds, has_disputes FROM payments")
            return {row[0]: (bool(row[1]), bool(row[2])) for row in rows}
    finally:
        await engine.dispose()


_FLAGS_AS_THE_CHILDREN_SAY = {"pay_plain": (False, False), "pay_refunded": (True, False),
                              "pay_disputed": (False, True)}


async def test_payments_of_an_earlier_schema_get_flags_that_match_their_children_on_sqlite(tmp_path: Path) -> None:
    """Revision 0002 adds has_refunds and has_disputes: rows already there must say what their children say, or
    their refunds and disputes would never be read again."""
    url = f"sqlite+aiosqlite:///{tmp_path}/hexpay.db"
    assert await _flags_after_upgrading_payments_of_0001(url) == _FLAGS_AS_THE_CHILDREN_SAY


@pytest.mark.postgres
async def test_payments_of_an_earlier_schema_get_flags_that_match_their_children_on_postgres(
    empty_postgres_url: str,
) -> None:
    assert await _flags_after_upgrading_payments_of_0001(empty_postgres_url) == _FLAGS_AS_THE_CHILDREN_SAY
    assert await _schema_differences(empty_postgres_url) == []
