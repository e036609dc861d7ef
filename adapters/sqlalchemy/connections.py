"""How a unit of work runs its statements: one connection from the engine's pool, one transaction at a time.

On SQLite (and any other dialect) statements go through SQLAlchemy's Connection. On Postgres they are compiled once
by SQLAlchemy's asyncpg dialect and then run on a connection of the engine's asyncpg pool (pg_pool.py):
SQLAlchemy's execution layer (cursor adaptation, result metadata, the greenlet bridge) cost about 80 us of CPU per
statement, three times asyncpg's own work, and a payment's webhook issues 17 statements. What SQLAlchemy gives
stays: the same SQL text, the types' bind processors (UTC timestamps, JSON), the JSON codecs, and its exception
classes (IntegrityError, OperationalError), so callers cannot tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement, Executable, TextClause
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sqlalchemy.pg_pool import PostgresPool, pool_of

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Rows(Protocol):
    """The part of a result the repositories read: rows as mappings, a DML's row count, a single value."""

    @property
    def rowcount(self) -> int: ...

    def mappings(self) -> Any: ...

    def scalar_one(self) -> Any: ...


class Session(Protocol):
    is_postgres: bool
    autocommit: bool  # every statement its own transaction, until begin_for_write()

    def begin_for_write(self) -> None: ...  # autocommit: the next statements form one transaction, to its end

    async def execute(self, statement: Executable, params: Params = None) -> Rows: ...

    # One statement atomic by itself: sent outside a transaction when none is open (no BEGIN, and nothing for
    # commit() to end), else inside the open one.
    async def execute_alone(self, statement: Executable, params: Params = None) -> Rows: ...

    def savepoint(self) -> Any: ...  # an async context manager

    def snapshot(self) -> Any: ...  # an async context manager: the statements inside see one snapshot

    def outside_snapshot(self) -> bool: ...  # True in a reader between statements: each sees its own moment

    def sees_latest(self) -> bool: ...  # the next statement sees every commit before it (its own snapshot)

    def in_transaction(self) -> bool: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class Sessions:
    """Where the units of work of one engine get their sessions: the engine's asyncpg pool (None: not Postgres) and
    dialect looked up once, not per unit of work (a weak-mapping lookup and two proxied properties each time)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pool = pool_of(engine)
        self._dialect = engine.dialect

    async def open(self, *, reads_only: bool = False, autocommit: bool = False) -> Session:
        """reads_only: on Postgres each statement is its own transaction (no BEGIN/ROLLBACK round trips) unless a
        repository asks for a snapshot, and writing is refused. autocommit: each statement is its own
        transaction, writes included, until begin_for_write() (a step of several statements, a savepoint, is
        refused before it). Elsewhere both are an ordinary transaction."""
        pool = self._pool
        if pool is not None:
            # A parked connection is taken without awaiting (one coroutine less per unit of work each way).
            taken = pool.take_parked()
            lease, connection = taken if taken is not None else await pool.acquire()
            return AsyncpgSession(lease, connection, pool, self._dialect, reads_only=reads_only,
                                  autocommit=autocommit)
        return CoreSession(await self._engine.connect())


class CoreSession:
    """Statements through SQLAlchemy's AsyncConnection (SQLite: BEGIN IMMEDIATE comes from engine.py's hook)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self.is_postgres = connection.dialect.name == "postgresql"
        self.autocommit = False

    def begin_for_write(self) -> None:
        pass  # never autocommit: always in a transaction

    async def execute(self, statement: Executable, params: Params = None) -> Rows:
        return await self._connection.execute(statement, params)

    async def execute_alone(self, statement: Executable, params: Params = None) -> Rows:
        return await self._connection.execute(statement, params)  # SQLAlchemy begins a transaction regardless

    def savepoint(self) -> Any:
        return self._connection.begin_nested()

    def snapshot(self) -> Any:
        return nullcontext()  # every unit of work here is one transaction already

    def outside_snapshot(self) -> bool:
        return False

    def sees_latest(self) -> bool:
        return False  # SQLite: a transaction's reads share its first one's snapshot

    def in_transaction(self) -> bool:
        return self._connection.in_transaction()

    async def commit(self) -> None:
        await self._connection.commit()

    async def rollback(self) -> None:
        await self._connection.rollback()

    async def close(self) -> None:
        await self._connection.close()


# --- Postgres, straight to asyncpg ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled for one set of parameter names: its SQL and how to turn a dict into $1..$n."""

    statement: ClauseElement  # held, with the dialect, so that their ids (the cache key) are not reused
    dialect: Dialect
    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # the positions whose type has a bind processor, with it
    constants: Mapping[str, Any]  # values bound inside the statement itself (literals in a WHERE clause)
    expands: bool  # an IN list rendered per call: SQLAlchemy expands it, the slower path
    returns_rows: bool
    writes: bool
    direct: bool = field(init=False)  # every value is a caller's, passed as it is: a lookup per name

    def __post_init__(self) -> None:
        object.__setattr__(self, "direct", not (self.expands or self.constants or self.converted))

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        # A plan is made for one exact set of parameter names, so every name is either the caller's or a
        # constant: the values are gathered by one map in C, then only the columns with a processor (UTC
        # timestamps, JSON) are converted, where a loop over every name cost a settlement's 25-column UPDATE
        # about 20 bytecodes a column.
        if self.direct:
            return self.sql, list(map(params.__getitem__, self.names))
        if self.expands:
            state = self.compiled.construct_expanded_state(dict(params))
            processors = state.processors
            names = state.positiontup or ()
            values = [state.parameters[name] for name in names]
            return state.statement, [processors[n](v) if n in processors and v is not None else v
                                     for n, v in zip(names, values, strict=True)]
        arguments = list(map({**params, **self.constants}.__getitem__ if self.constants else params.__getitem__,
                             self.names))
        for index, process in self.converted:
            value = arguments[index]
            if value is not None:
                arguments[index] = process(value)
        return self.sql, arguments


_NO_PARAMS: Mapping[str, Any] = {}
# Transactions and savepoints are their statements, sent as they are: asyncpg's Transaction objects (state checks,
# guards, the text built anew) cost about a third as much again as the round trips of BEGIN and COMMIT themselves.
# READ COMMITTED said, not left to the server's default: each statement sees what committed before it, which the
# settlements' row locks and the gateway accounts' memory (account_memory.py) rely on.
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED;"
_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"  # one snapshot for a reader's statements
_READER_WRITES = "a reader unit of work cannot write"
AUTOCOMMIT_WRITES_ONE = "an autocommit unit of work writes one statement at a time"
# A write, or a data-modifying WITH (WITH name AS (INSERT ...) SELECT ...).
_DML = re.compile(r"^\s*(?:WITH\s+\w+\s+AS\s*\(\s*)?(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


def _compile(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    textual = isinstance(statement, TextClause)  # text(): its SQL says what it is
    writes = bool(_DML.match(compiled.string)) if textual else (
        compiled.isinsert or compiled.isupdate or compiled.isdelete)
    returns_rows = not writes or (bool(_RETURNING.search(compiled.string)) if textual
                                  else bool(compiled.effective_returning))
    late = {p.key for p in (*compiled.post_compile_params, *compiled.literal_execute_params)}
    if late & set(keys):  # a list given per call: its length changes the SQL
        return _Plan(statement, dialect, compiled, compiled.string, (), (), {}, True, returns_rows, writes)
    if late:
        # Lists fixed in the statement (status NOT IN the final statuses): expanded once, here.
        state = compiled.construct_expanded_state(dict.fromkeys(keys))
        names = tuple(state.positiontup or ())
        constants = {n: state.parameters[n] for n in names if n not in keys}
        return _Plan(statement, dialect, compiled, state.statement, names,
                     _converted(state.processors.get(n) for n in names), constants, False, returns_rows, writes)
    names = tuple(compiled.positiontup or ())
    processors = (compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    constants = {n: compiled.binds[n].effective_value for n in names if n not in keys}
    return _Plan(statement, dialect, compiled, compiled.string, names, _converted(processors), constants, False,
                 returns_rows, writes)


def _converted(processors: Iterable[Callable[[Any], Any] | None]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    return tuple((index, process) for index, process in enumerate(processors) if process is not None)


_PLANS: dict[tuple[int, int, tuple[str, ...]], _Plan] = {}
_MAX_PLANS = 1024
_compilations = 0


def _plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan:
    """Keyed by the statement object's identity: hexpay's hot statements are built once at import, so this is a
    dict lookup on two ints and the names (a ClauseElement's own hash runs Python code; lru_cache cost twice this).
    A plan holds its statement, so an id in the cache cannot be reused by another statement. A statement built per
    call (a filtered listing) misses and is compiled, like SQLAlchemy without its cache."""
    key = (id(statement), id(dialect), keys)
    plan = _PLANS.get(key)
    if plan is None:
        global _compilations
        _compilations += 1
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _compile(cast(ClauseElement, statement), dialect, keys)
    return plan


def compilations() -> int:
    """How many statements have been compiled in this process (a test holds the hot path to none)."""
    return _compilations


class _Mappings:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Result:
    """asyncpg's Records are already mappings (row["id"], row.get(...), dict(row))."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def mappings(self) -> _Mappings:
        return _Mappings(self._rows)

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise exc.NoResultFound("expected one row") if not self._rows else exc.MultipleResultsFound("many rows")
        return self._rows[0][0]


def _count(status: str) -> int:
    """'UPDATE 3' / 'INSERT 0 1' / 'DELETE 0' -> the number of rows."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


class AsyncpgSession:
    """One pooled connection; the transaction begins with the first statement, as SQLAlchemy's does."""

    is_postgres = True

    def __init__(self, lease: Any, connection: Any, pool: PostgresPool, dialect: Dialect, *,
                 reads_only: bool = False, autocommit: bool = False) -> None:
        self._reads_only = reads_only
        self.autocommit = autocommit
        self._autocommit_after = False  # a write began the open transaction: autocommit again once it ends
        self._pool = pool
        self._dialect = dialect
        self._lease = lease
        self._connection: Any = connection  # asyncpg.Connection
        self._transaction: str | None = None  # the statement that began the open transaction, if one is open
        self._savepoints = 0  # open savepoints, each named after its depth
        self._lost = False

    async def execute(self, statement: Executable, params: Params = None) -> Rows:
        # A dict (nearly every call) is known at once: two ABC checks cost more than the plan lookup.
        if type(params) is not dict and isinstance(params, Sequence) and not isinstance(params, Mapping):
            return await self._execute_many(statement, params)
        values: Mapping[str, Any] = params or _NO_PARAMS
        plan = _plan(statement, self._dialect, tuple(values))
        if self._reads_only and plan.writes:
            raise RuntimeError(_READER_WRITES)
        if self._transaction is None and not (self._reads_only or self.autocommit):
            await self._begin()
        return await self._send(plan, values)

    async def execute_alone(self, statement: Executable, params: Params = None) -> Rows:
        values = cast(Mapping[str, Any], params or _NO_PARAMS)  # one row's parameters: never an executemany
        plan = _plan(statement, self._dialect, tuple(values))
        if self._reads_only and plan.writes:
            raise RuntimeError(_READER_WRITES)
        return await self._send(plan, values)

    async def _send(self, plan: _Plan, values: Mapping[str, Any]) -> Rows:
        sql, arguments = plan.arguments(values)
        try:
            if plan.returns_rows:
                rows = await self._connection.fetch(sql, *arguments)
                return _Result(rows, len(rows))
            return _Result([], _count(await self._connection.execute(sql, *arguments)))
        except Exception as error:
            raise self._translated(error, sql) from error

    async def _execute_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> Rows:
        """Several rows of one statement: always a write, and never atomic alone."""
        if self._reads_only:
            raise RuntimeError(_READER_WRITES)
        if self.autocommit:
            raise RuntimeError(AUTOCOMMIT_WRITES_ONE)
        if not rows:
            return _Result([], 0)
        if self._transaction is None:
            await self._begin()
        plan = _plan(statement, self._dialect, tuple(rows[0]))
        batch = [plan.arguments(row) for row in rows]
        try:
            await self._connection.executemany(batch[0][0], [arguments for _, arguments in batch])
        except Exception as error:
            raise self._translated(error, batch[0][0]) from error
        return _Result([], len(rows))

    async def _begin(self, begin: str = _BEGIN) -> None:
        await self._run(begin)
        self._transaction = begin

    def begin_for_write(self) -> None:
        """In autocommit, before a write that cannot commit alone (several statements, or events with it): the
        next statement begins a transaction, which commit() or rollback() ends. What was written before committed
        alone, as autocommit promised; the reads before it saw their own moments, as at READ COMMITTED inside it."""
        if self.autocommit:
            self.autocommit, self._autocommit_after = False, True

    def outside_snapshot(self) -> bool:
        return self._reads_only and self._transaction is None

    def sees_latest(self) -> bool:
        return self._transaction != _BEGIN_SNAPSHOT

    def snapshot(self) -> _Snapshot:
        """In a reader, the statements inside run in one READ ONLY transaction (REPEATABLE READ: one snapshot
        for all of them); elsewhere the unit of work's transaction already is one."""
        return _Snapshot(self)

    def savepoint(self) -> _Savepoint:
        """A SAVEPOINT, released on success and rolled back to on error."""
        return _Savepoint(self)

    async def _run(self, sql: str) -> None:
        try:
            await self._connection.execute(sql)
        except Exception as error:
            raise self._translated(error, sql) from error

    def in_transaction(self) -> bool:
        return self._transaction is not None

    async def commit(self) -> None:
        await self._end("COMMIT;")

    async def rollback(self) -> None:
        await self._end("ROLLBACK;")

    async def _end(self, statement: str) -> None:
        transaction, self._transaction = self._transaction, None
        if self._autocommit_after:
            self.autocommit, self._autocommit_after = True, False
        if transaction is not None:
            await self._run(statement)

    async def close(self) -> None:
        """Back to the pool. A connection still inside a transaction (its ROLLBACK interrupted: the request was
        cancelled) or lost is closed instead, never handed to the next request."""
        try:
            if self._transaction is not None:
                await self.rollback()
        finally:
            self._transaction = None
            if self._lost or not self._pool.park(self._lease, self._connection):
                await self._pool.release(self._lease, self._connection, discard=self._lost)

    def _translated(self, error: Exception, sql: str) -> Exception:
        """The SQLAlchemy exception SQLAlchemy itself would raise (IntegrityError with the constraint's name,
        OperationalError for a lost server), and a connection that is gone is dropped from the pool."""
        try:  # SQLAlchemy's own translation, by the adapter its pool would have wrapped this connection in
            AsyncAdapt_asyncpg_connection(  # type: ignore[no-untyped-call]
                self._dialect.loaded_dbapi, self._connection)._handle_exception(error)
        except Exception as adapted:
            translated: Exception = adapted
        else:  # pragma: no cover - _handle_exception always raises
            translated = error
        disconnected = self._connection.is_closed()
        if disconnected:
            self._transaction = None
            self._lost = True
        dbapi_error = getattr(self._dialect.loaded_dbapi, "Error", Exception)
        if not isinstance(translated, dbapi_error):
            return translated
        if disconnected:  # whatever asyncpg called it (it may notice mid-operation): the server is gone, retryable
            return exc.OperationalError(sql, None, translated, hide_parameters=True, connection_invalidated=True)
        return exc.DBAPIError.instance(sql, None, translated, dbapi_error, hide_parameters=True,
                                       connection_invalidated=disconnected, dialect=self._dialect)


# The two context managers are classes rather than @asynccontextmanager generators: each generator made per use
# was an async generator the event loop registers in a weak set (and unregisters when it is collected), around a
# contextlib wrapper; a settlement enters one per UPDATE.
class _Snapshot:
    __slots__ = ("_began", "_session")

    def __init__(self, session: AsyncpgSession) -> None:
        self._session = session
        self._began = False

    async def __aenter__(self) -> None:
        session = self._session
        if session._reads_only and session._transaction is None:
            await session._begin(_BEGIN_SNAPSHOT)
            self._began = True

    async def __aexit__(self, *exc_info: object) -> None:
        if self._began:
            await self._session.rollback()


class _Savepoint:
    __slots__ = ("_name", "_session")

    def __init__(self, session: AsyncpgSession) -> None:
        self._session = session
        self._name = ""

    async def __aenter__(self) -> None:
        session = self._session
        if session.autocommit:
            raise RuntimeError(AUTOCOMMIT_WRITES_ONE)
        if session._transaction is None:
            await session._begin()
        session._savepoints += 1
        self._name = f"hexpay_savepoint_{session._savepoints}"
        try:
            await session._run(f"SAVEPOINT {self._name};")
        except BaseException:
            session._savepoints -= 1
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        session = self._session
        try:
            if exc_type is None:
                await session._run(f"RELEASE SAVEPOINT {self._name};")
            else:
                await session._run(f"ROLLBACK TO SAVEPOINT {self._name};")
        finally:
            session._savepoints -= 1
