"""The committed state of the in-memory store, and the transactions that change it.

It behaves like the database on purpose, so that use cases tested on memory behave the same on Postgres:
- a transaction works on a private copy (reads are deep copies; its writes are invisible to others until commit);
- a write takes the row's lock until the transaction ends, and so does a read "for update": another writer waits,
  then re-checks (a stale version raises ConcurrentUpdate, as `UPDATE ... WHERE version = :v` finding no row);
- every unique key a write claims is held until the transaction ends: a second claimant waits for the first to
  finish, then sees its committed row and raises DuplicateRecord (as a unique index does), or goes on after a
  rollback. A wait on a transaction of the same asyncio task would never end (Postgres would hang), so it raises.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from adapters.memory.copies import private_copy
from adapters.memory.unique_keys import UNIQUE_KEYS
from application.ports.repositories import StoredEvent
from domain.errors import ConcurrentUpdate, DuplicateRecord
from domain.events import DomainEvent

UniqueKeys = Callable[[Any], Iterable[tuple[Hashable, ...]]]


@dataclass(slots=True)
class Row:
    version: int
    value: Any  # a private copy, without pending domain events


def _without_events(value: Any) -> Any:
    value = private_copy(value)
    if hasattr(value, "events"):
        value.events = []
    for child in [*getattr(value, "refunds", ()), *getattr(value, "disputes", ())]:
        child.pop_events()
    return value


def drain_events(aggregate: Any) -> list[DomainEvent]:
    """The aggregate's new events (its children's too), removed from it."""
    events: list[DomainEvent] = list(getattr(aggregate, "events", ()))
    for child in [*getattr(aggregate, "refunds", ()), *getattr(aggregate, "disputes", ())]:
        events.extend(child.pop_events())
    if hasattr(aggregate, "events"):
        aggregate.events.clear()
    return events


class MemoryStore:
    """Committed rows per table, the outbox, and who holds which lock."""

    def __init__(self, unique_keys: dict[str, UniqueKeys] | None = None) -> None:
        self.tables: dict[str, dict[Hashable, Row]] = defaultdict(dict)
        self.outbox: list[StoredEvent] = []
        self.unique_keys: dict[str, UniqueKeys] = dict(UNIQUE_KEYS) if unique_keys is None else unique_keys
        self.row_locks: dict[tuple[str, Hashable], MemoryTransaction] = {}
        self.key_locks: dict[tuple[Hashable, ...], MemoryTransaction] = {}
        # Committed unique keys -> the key of the row holding them (keys are namespaced by guarantee).
        self.unique_index: dict[tuple[Hashable, ...], Hashable] = {}
        self._event_ids = itertools.count(1)

    def reindex(self, keys_of: UniqueKeys, key: Hashable, previous: Row | None, current: Row | None) -> None:
        if previous is not None:
            for unique_key in keys_of(previous.value):
                if self.unique_index.get(unique_key) == key:
                    del self.unique_index[unique_key]
        if current is not None:
            for unique_key in keys_of(current.value):
                self.unique_index[unique_key] = key

    def next_event_id(self) -> str:
        return str(next(self._event_ids))


class MemoryTransaction:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.task = asyncio.current_task()
        self.writes: dict[str, dict[Hashable, Row | None]] = defaultdict(dict)  # None: deleted
        self.loaded_versions: dict[tuple[str, Hashable], int] = {}
        self.touched: dict[int, Any] = {}  # id() -> aggregate whose events go to the outbox on commit
        self.done = asyncio.Event()

    # ---- reading this transaction's view -------------------------------------------------------------------
    def row(self, table: str, key: Hashable) -> Row | None:
        pending = self.writes.get(table, {})
        if key in pending:
            return pending[key]
        return self.store.tables[table].get(key)

    def rows(self, table: str) -> Iterator[tuple[Hashable, Row]]:
        pending = self.writes.get(table, {})
        for key, row in self.store.tables[table].items():
            if key not in pending:
                yield key, row
        for key, maybe_row in pending.items():
            if maybe_row is not None:
                yield key, maybe_row

    def read(self, table: str, key: Hashable) -> Any:
        row = self.row(table, key)
        if row is None:
            return None
        self.loaded_versions[(table, key)] = row.version
        return private_copy(row.value)

    def values(self, table: str) -> Iterator[tuple[Hashable, Any]]:
        """Every row of the table as this transaction sees it (not copied: callers copy what they return)."""
        for key, row in self.rows(table):
            yield key, row.value

    # ---- locks ---------------------------------------------------------------------------------------------
    async def _wait_for(self, holder: MemoryTransaction, what: str) -> None:
        if holder.task is not None and holder.task is asyncio.current_task():
            raise ConcurrentUpdate(f"{what} is held by another unit of work of the same task")
        await holder.done.wait()

    def lock_holder(self, table: str, key: Hashable) -> MemoryTransaction | None:
        holder = self.store.row_locks.get((table, key))
        return None if holder is None or holder is self else holder

    async def lock_row(self, table: str, key: Hashable) -> None:
        while (holder := self.lock_holder(table, key)) is not None:
            await self._wait_for(holder, f"{table} {key}")
        self.store.row_locks[(table, key)] = self

    def try_lock_row(self, table: str, key: Hashable) -> bool:
        if self.lock_holder(table, key) is not None:
            return False
        self.store.row_locks[(table, key)] = self
        return True

    async def wait_for_writer(self, table: str, key: Hashable) -> None:
        """Wait while another transaction has an uncommitted write of this row (as an INSERT would)."""
        while (holder := self.lock_holder(table, key)) is not None and key in holder.writes.get(table, {}):
            await self._wait_for(holder, f"{table} {key}")

    async def claim_keys(self, table: str, key: Hashable, value: Any) -> None:
        keys_of = self.store.unique_keys.get(table)
        if keys_of is None:
            return
        wanted = set(keys_of(value))
        while True:
            holder = next(
                (h for k in wanted if (h := self.store.key_locks.get(k)) is not None and h is not self), None
            )
            if holder is not None:
                await self._wait_for(holder, "a unique key")
                continue
            clash = self._clash(table, key, wanted, keys_of)
            if clash is None:
                break
            other_key, index = clash
            writer = self.lock_holder(table, other_key)
            if writer is not None and other_key in writer.writes.get(table, {}):
                await self._wait_for(writer, "a conflicting row")  # it may be changing that row's key
                continue
            raise DuplicateRecord(str(index))
        for k in wanted:
            self.store.key_locks[k] = self

    def _clash(
        self, table: str, key: Hashable, wanted: set[tuple[Hashable, ...]], keys_of: UniqueKeys
    ) -> tuple[Hashable, Hashable] | None:
        """Another row of this transaction's view holding one of the wanted keys: (its key, the guarantee)."""
        pending = self.writes.get(table, {})
        for unique_key in wanted:
            owner = self.store.unique_index.get(unique_key)
            if owner is None or owner == key:
                continue
            if owner in pending:  # this transaction rewrote that row: its new version decides
                rewritten = pending[owner]
                if rewritten is None or unique_key not in set(keys_of(rewritten.value)):
                    continue
            return owner, unique_key[0]
        for other_key, row in pending.items():
            if other_key == key or row is None:
                continue
            common = wanted.intersection(keys_of(row.value))
            if common:
                return other_key, next(iter(common))[0]
        return None

    # ---- writing -------------------------------------------------------------------------------------------
    def put(self, table: str, key: Hashable, value: Any, version: int) -> None:
        self.writes[table][key] = Row(version, _without_events(value))
        self.loaded_versions[(table, key)] = version

    def delete(self, table: str, key: Hashable) -> None:
        self.writes[table][key] = None

    def touch(self, aggregate: Any) -> None:
        self.touched.setdefault(id(aggregate), aggregate)

    async def insert(self, table: str, key: Hashable, value: Any) -> None:
        await self.lock_row(table, key)
        if self.row(table, key) is not None:
            raise DuplicateRecord(f"{table} id")
        await self.claim_keys(table, key, value)
        self.put(table, key, value, getattr(value, "version", 0))
        self.touch(value)

    async def update(self, table: str, key: Hashable, value: Any) -> None:
        await self.lock_row(table, key)
        current = self.row(table, key)
        if current is None:
            raise ConcurrentUpdate(f"{table} {key} no longer exists")
        versioned = hasattr(value, "version")
        expected = value.version if versioned else self.loaded_versions.get((table, key), current.version)
        if current.version != expected:
            raise ConcurrentUpdate(f"{table} {key} was changed by someone else")
        await self.claim_keys(table, key, value)
        new_version = current.version + 1
        if versioned:
            value.version = new_version
        self.put(table, key, value, new_version)
        self.touch(value)

    # ---- ending --------------------------------------------------------------------------------------------
    def commit(self) -> None:
        """Publish every write and the touched aggregates' events at once (no await: nothing interleaves)."""
        events = [event for aggregate in self.touched.values() for event in drain_events(aggregate)]
        for table, pending in self.writes.items():
            committed = self.store.tables[table]
            keys_of = self.store.unique_keys.get(table)
            for key, row in pending.items():
                previous = committed.pop(key, None)
                if row is not None:
                    committed[key] = row
                if keys_of is not None:
                    self.store.reindex(keys_of, key, previous, row)
        for event in events:
            self.store.outbox.append(
                StoredEvent(id=self.store.next_event_id(), type=event.type, occurred_at=event.occurred_at,
                            data=private_copy(event.data()))
            )
        self.end()

    def end(self) -> None:
        """Release every lock; waiters wake and re-check against what is now committed."""
        for locks in (self.store.row_locks, self.store.key_locks):
            held = [k for k, holder in locks.items() if holder is self]
            for k in held:
                del locks[k]  # type: ignore[arg-type]
        self.writes.clear()
        self.touched.clear()
        self.done.set()
