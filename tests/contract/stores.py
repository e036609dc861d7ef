"""The stores the repository contract suite runs on: memory, SQLite and Postgres.

Registered by tests/contract/test_repositories_contract.py through `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from application.ports.unit_of_work import UnitOfWorkFactory


@dataclass
class StoreUnderTest:
    name: str
    uow: UnitOfWorkFactory
    # Every stored row of a table as text, to prove what is (not) written in clear; None for memory.
    raw_rows: Callable[[str], Awaitable[list[str]]] | None = None


STORES = ["memory"]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    if request.param == "memory":
        yield StoreUnderTest("memory", MemoryUnitOfWorkFactory())
        return
    raise AssertionError(f"unknown store {request.param}")


@pytest.fixture(params=[s for s in STORES if s != "sqlite"])
async def interleaving_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    """Stores where two transactions of one task can interleave (SQLite runs one writer at a time)."""
    if request.param == "memory":
        yield StoreUnderTest("memory", MemoryUnitOfWorkFactory())
        return
    raise AssertionError(f"unknown store {request.param}")
