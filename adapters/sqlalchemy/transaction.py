"""One unit of work's connection and transaction, and the write steps every repository shares."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from types import TracebackType
from typing import Any

import msgspec
from sqlalchemy import Delete, Insert, Table, Update, bindparam, delete, insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from adapters.sqlalchemy.connections import Session
from adapters.sqlalchemy.deferred_writes import (
    DeferredWrite,
    alone_statement,
    write_that_matched_no_row,
    writes_params,
    writes_statement,
)
from adapters.sqlalchemy.integrity import GUARDED_COLUMNS, GUARDED_SETS, duplicate_from, may_clash
from application.ports.secret_box import SecretBox
from domain.errors import ConcurrentUpdate
from domain.events import DomainEvent

Rows = list[dict[str, Any]]
_ABSENT = object()
_DOCUMENTS = (dict, list)  # JSON columns: equal as Python values is not enough (1 == 1.0 == True)
_canonical = msgspec.json.Encoder(order="sorted").encode


# Statements built once per table and executed with parameters: SQLAlchemy then finds the compiled SQL at once,
# where a statement built per call costs its construction and cache key every time (about 100 us of CPU each).
@functools.cache
def insert_into(table: Table) -> Insert:
    return insert(table)


def versioned_update(table: Table) -> Update:
    """UPDATE table SET <the parameters' columns> WHERE id = :match_id AND version = :match_version."""
    statement: Update = alone_statement(table, False, ("id", "version"))
    return statement


@functools.cache
def delete_children(child: Table, parent_column: str) -> Delete:
    return delete(child).where(child.c[parent_column] == bindparam("parent_id"))


class SqlTransaction:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.session = session
        # The session's own method, not one that forwards to it: each statement's answer then climbs back through
        # one frame less on its way to the repository (while writes are deferred, a method that sends them first).
        self.execute = session.execute
        self.box = box
        self.is_postgres = session.is_postgres
        # Postgres: writes held until commit (deferred_writes.py), per row, in the order they were first made.
        self.deferred: dict[Hashable, DeferredWrite] = {}
        self.touched: dict[int, Any] = {}  # id() -> aggregate whose events go to the outbox on commit
        # Child rows as last read or written, per (table, parent id): unchanged children are not rewritten.
        self.children: dict[tuple[str, Hashable], Rows] = {}
        # Per (table, id), the row as last read or written in this transaction: an update sets only the columns
        # that differ from it (and the version), and one that leaves its guarded columns (and the children) alone
        # cannot violate a unique constraint, so it needs no savepoint.
        self.rows: dict[tuple[str, Hashable], Any] = {}

    @property
    def outside_snapshot(self) -> bool:
        """In a reader unit of work, between statements: a read that takes several statements must take them
        inside `snapshot()`."""
        return self.session.outside_snapshot()

    def snapshot(self) -> Any:
        return self.session.snapshot()

    def remember_row(self, table: Table, row: Any) -> None:
        self.rows[(table.name, row["id"])] = row

    def step(self, guarded: bool = True) -> _Step:
        """Writes that succeed or fail together, a unique violation raised as DuplicateRecord.

        A failed statement aborts a whole Postgres transaction, so the step runs in a savepoint there: the unit
        of work stays usable after a DuplicateRecord, as on SQLite (which aborts only the statement) and in memory.
        """
        return _Step(self.session, self.is_postgres and guarded)

    def touch(self, aggregate: Any) -> None:
        self.touched.setdefault(id(aggregate), aggregate)

    def remember_children(self, table: Table, parent_id: Hashable, rows: Rows) -> None:
        self.children[(table.name, parent_id)] = rows

    def _begin_unless_alone(self, aggregate: Any, statements: int) -> None:
        """In an autocommit unit of work each statement commits alone: a write sent now commits alone only when it
        is one statement and has no events to store with it (they would commit apart from it); otherwise a
        transaction begins with it, and the unit of work's commit() ends it."""
        if self.session.autocommit and (statements > 1 or getattr(aggregate, "events", None)):
            self.session.begin_for_write()

    def defer(self, row: Hashable, write: DeferredWrite) -> None:
        """Hold a one-statement write until commit or the next statement (Postgres only). A second write of the same
        row joins the first: the columns it sets are added to the first's, which matches the version as read."""
        held = self.deferred.get(row)
        if held is not None:
            held.values.update(write.values)
            return
        self.deferred[row] = write
        self.execute = self._send_deferred_first

    async def write_row(self, row: Hashable, write: DeferredWrite) -> None:
        """A one-statement write of a row that is no aggregate (a webhook's outcome): held on Postgres (defer), sent
        at once elsewhere; either way an UPDATE that matched no row raises the write's own error."""
        if self.is_postgres:
            self.defer(row, write)
        else:
            await self._send([write], [], self.execute, guarded=False)

    async def _send_deferred_first(self, statement: Any, params: Any = None) -> Any:
        await self.send_deferred()
        return await self.execute(statement, params)

    async def send_deferred(self) -> None:
        """The held writes, sent now because a statement follows them: that statement, and all after it, see them.
        In an autocommit unit of work they begin a transaction unless they are one write that may commit alone."""
        writes = self._take_deferred()
        if not writes:
            return
        if len(writes) > 1 or getattr(writes[0].aggregate, "events", None):
            self.session.begin_for_write()  # (a no-op outside autocommit)
        await self._send(writes, [], self.session.execute, guarded=any(w.inserts for w in writes))

    async def send_deferred_with(self, events: list[DomainEvent]) -> None:
        """At commit: the held writes and the events in one statement, sent alone when no transaction is open (it is
        atomic by itself: no BEGIN, no COMMIT), else as the open transaction's last."""
        await self._send(self._take_deferred(), events, self.session.execute_alone, guarded=False)

    def _take_deferred(self) -> list[DeferredWrite]:
        writes = list(self.deferred.values())
        self.deferred = {}
        self.execute = self.session.execute
        return writes

    async def _send(self, writes: list[DeferredWrite], events: list[DomainEvent], run: Any, guarded: bool) -> None:
        if len(writes) == 1 and not events:  # one write: its own plain statement, its row count read here
            write = writes[0]
            async with self.step(guarded):
                result = await run(alone_statement(write.table, write.inserts, tuple(write.match)), write.params())
            if not write.inserts and result.rowcount != 1:
                raise _missing(write)
            return
        shapes = tuple(write.shape() for write in writes)
        try:
            async with self.step(guarded):
                await run(writes_statement(shapes, bool(events)), writes_params(shapes, writes, events))
        except DBAPIError as error:
            failed = write_that_matched_no_row(error)
            if failed is None:
                raise
            raise _missing(writes[failed]) from error

    async def insert_aggregate(self, table: Table, row: dict[str, Any], aggregate: Any,
                               children: Sequence[tuple[Table, str, Rows]] = ()) -> None:
        statements = 1 + sum(1 for _, _, rows in children if rows)
        # An INSERT is held only in an autocommit unit of work, when it has events to go with it: elsewhere a caller
        # may go on after its DuplicateRecord, which must then come from add() itself.
        if statements == 1 and self.is_postgres and self.session.autocommit and getattr(aggregate, "events", None):
            self.defer((table.name, row["id"]), DeferredWrite(table, True, row, aggregate=aggregate))
        else:
            if self.deferred:
                await self.send_deferred()
            self._begin_unless_alone(aggregate, statements)
            async with self.step():
                await self.execute(insert_into(table), row)
                for child, _, rows in children:
                    if rows:
                        await self.execute(insert_into(child), rows)
        for child, _, rows in children:
            self.children[(child.name, row["id"])] = rows
        self.remember_row(table, row)
        self.touch(aggregate)

    async def update_aggregate(self, table: Table, row: dict[str, Any], aggregate: Any,
                               children: Sequence[tuple[Table, str, Rows]] = ()) -> None:
        """UPDATE ... WHERE id = :id AND version = :loaded; no row means someone else changed it first."""
        expected = aggregate.version
        before = self.rows.get((table.name, aggregate.id))
        values = _changed(row, before)
        values["version"] = expected + 1
        changed_children = [(child, column, rows) for child, column, rows in children
                            if self.children.get((child.name, aggregate.id)) != rows]
        # An UPDATE that changes none of the guarded columns cannot clash: `values` already names what changed.
        guarded = GUARDED_COLUMNS[table.name]
        clash = bool(changed_children) or (
            (before is None or not GUARDED_SETS[table.name].isdisjoint(values)) and may_clash(
                table.name, None if before is None else tuple(before.get(c, _ABSENT) for c in guarded),
                tuple(row[c] for c in guarded)))
        if self.is_postgres and not clash:  # one statement that cannot raise DuplicateRecord: held until commit
            self.defer((table.name, aggregate.id), DeferredWrite(
                table, False, values, functools.partial(_lost_race, table, aggregate),
                {"id": aggregate.id, "version": expected}, aggregate))
        else:
            if self.deferred:
                await self.send_deferred()
            self._begin_unless_alone(aggregate, 1 + len(changed_children))
            async with self.step(guarded=clash):
                params = {**values, "match_id": aggregate.id, "match_version": expected}
                if (await self.execute(versioned_update(table), params)).rowcount != 1:
                    raise _lost_race(table, aggregate)
                for child, parent_column, rows in changed_children:
                    await self.execute(delete_children(child, parent_column), {"parent_id": aggregate.id})
                    if rows:
                        await self.execute(insert_into(child), rows)
        aggregate.version = row["version"] = expected + 1
        for child, _, rows in children:
            self.children[(child.name, aggregate.id)] = rows
        self.rows[(table.name, aggregate.id)] = row  # the row as it now is: every column was as it says already
        self.touch(aggregate)


def _missing(write: DeferredWrite) -> Exception:
    assert write.missing is not None  # every held UPDATE says what its missing row means
    return write.missing()


def _lost_race(table: Table, aggregate: Any) -> ConcurrentUpdate:
    """A versioned UPDATE that matched no row: someone else changed (or removed) the aggregate first."""
    return ConcurrentUpdate(f"{table.name} {aggregate.id} was changed by someone else")


class _Step:
    """step() as a class, not an @asynccontextmanager generator (see connections._Savepoint for why)."""

    __slots__ = ("_rollback_on_duplicate", "_savepoint", "_session")

    def __init__(self, session: Session, guarded: bool) -> None:
        # A step that is the transaction's first work needs no savepoint: on a unique violation the whole
        # transaction, which holds nothing else, is rolled back and the next statement begins a new one. In an
        # autocommit unit of work a step is one statement (SqlTransaction._begin_unless_alone), and a failed one
        # ends alone.
        first = session.in_transaction() is False
        if session.autocommit:
            guarded = first = False
        self._session = session
        self._savepoint = session.savepoint() if guarded and not first else None
        self._rollback_on_duplicate = guarded and first

    async def __aenter__(self) -> None:
        if self._savepoint is not None:
            await self._savepoint.__aenter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        error = exc
        if self._savepoint is not None:
            try:
                if await self._savepoint.__aexit__(exc_type, exc, tb):
                    return True
            except IntegrityError as raised:  # the savepoint's own release failed on a deferred constraint
                error = raised
        if not isinstance(error, IntegrityError):
            return False
        duplicate = duplicate_from(error)
        if duplicate is None:
            if error is exc:
                return False
            raise error
        if self._rollback_on_duplicate:
            await self._session.rollback()
        raise duplicate from error


def _changed(row: dict[str, Any], before: Any) -> dict[str, Any]:
    """The columns of `row` (id aside) whose value differs from `before`, the row as read or written earlier in
    this transaction under the version the UPDATE matches on (None: not read here, so every column). A payment's
    settlement changes four or five of its 23 columns: the others are neither converted nor sent, and Postgres
    binds a quarter of the parameters. A value counts as unchanged only when it is the same type and equal (JSON
    documents compared as canonical JSON, where 1, 1.0 and true differ): a doubt writes the column."""
    if before is None:
        return {k: v for k, v in row.items() if k != "id"}
    get = before.get
    # The id needs no test of its own: `before` was found under it, so it is equal (and mostly the same object).
    return {k: v for k, v in row.items()
            if (old := get(k, _ABSENT)) is not v
            and (type(old) is not type(v) or old != v or (type(v) in _DOCUMENTS and _canonical(old) != _canonical(v)))}
