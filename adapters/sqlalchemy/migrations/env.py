"""Alembic environment: async (asyncpg / aiosqlite), through hexpay's own engine so SQLite gets its pragmas.

The URL comes from the Alembic config (upgrade_to_head sets it) or from HEXPAY_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from adapters.sqlalchemy.engine import async_url, create_engine
from adapters.sqlalchemy.tables import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("HEXPAY_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set HEXPAY_DATABASE_URL or sqlalchemy.url")
    return url


def run_migrations_offline() -> None:
    context.configure(url=async_url(_url()), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
