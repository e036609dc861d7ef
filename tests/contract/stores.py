"""The stores the repository contract suite runs on: memory, SQLite and Postgres.

Registered by tests/contract/test_repositories_contract.py through `pytest_plugins`; the databases come from
tests/fixtures/postgres.py (postgres_url, sqlite_url).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.crypto import AeadSecretBox
from adapters.memory import MemoryUnitOfWorkFactory
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from application.ports.unit_of_work import UnitOfWorkFactory


@dataclass
class StoreUnderTest:
    name: str
    uow: UnitOfWorkFactory
    # Every stored row of a table as text, to prove what is (not) written in clear; None for memory.
    raw_rows: Callable[[str], Awaitable[list[str]]] | None = None


STORES = ["memory", "sqlite", "postgres"]


def _raw_rows(engine: AsyncEngine) -> Callable[[str], Awaitable[list[str]]]:
    async def dump(table: str) -> list[str]:
        async with engine.connect() as connection:
            rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()
        return [repr(tuple(row)) for row in rows]

    return dump


async def sql_store(name: str, url: str) -> AsyncIterator[StoreUnderTest]:
    engine = create_engine(url)
    box = AeadSecretBox([AeadSecretBox.generate_key()])
    try:
        yield StoreUnderTest(name, SqlAlchemyUnitOfWorkFactory(engine, box), _raw_rows(engine))
    finally:
        await engine.dispose()


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    if request.param == "memory":
        yield StoreUnderTest("memory", MemoryUnitOfWorkFactory())
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    async for store in sql_store(request.param, url):
        yield store
