"""A unit of work's writes held until commit and sent with its events as one statement (Postgres).

A payment's settlement writes the payment, its order and invoice, the webhook's outcome, and the events: as a
transaction that was BEGIN, one statement each and COMMIT. Held until commit, the writes go as one statement, each a
data-modifying WITH, with the outbox rows inserted beside them: one round trip, and atomic by itself, so a unit of
work that read nothing under lock sends neither BEGIN nor COMMIT. A versioned UPDATE that matched no row (its version
had moved: someone else changed the aggregate first) must undo the others: the statement's final SELECT calls
hexpay_no_row(n) (Alembic 0004) for the first such write, the statement fails as a whole, and the adapter raises that
write's own error; a unique violation fails the whole statement too. The outbox rows take the commit-order lock
first, as every outbox INSERT does.

Postgres runs the WITH's writes on one snapshot, none seeing another's effect, so a row is never written twice in
one statement: a second write of the same row joins the first (SqlTransaction). What holds a write back and when it
is sent early (before any other statement, so that everything after it sees it) is SqlTransaction's business.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, Table, Text, bindparam, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause

from adapters.sqlalchemy.engine import json_text
from adapters.sqlalchemy.tables import outbox
from domain.events import DomainEvent

COMMIT_ORDER_LOCK = 7308485  # the advisory lock every outbox INSERT takes, held until its transaction commits
EVENT_ARRAYS = (
    bindparam("types", type_=ARRAY(outbox.c.type.type)),
    bindparam("occurred", type_=ARRAY(outbox.c.occurred_at.type)),
    bindparam("documents", type_=ARRAY(Text())),  # each already JSON text (msgspec): no per-element processor
)
EVENTS_IN_COMMIT_ORDER = (  # the rows of `e`, in their order, after the commit-order lock is taken
    f"(SELECT pg_advisory_xact_lock({COMMIT_ORDER_LOCK})) AS commit_order, "
    "unnest(:types, :occurred, :documents) WITH ORDINALITY AS e(type, occurred_at, data, n)"
)
INSERT_EVENTS = ("INSERT INTO outbox (type, occurred_at, data) "
                 f"SELECT e.type, e.occurred_at, e.data::jsonb FROM {EVENTS_IN_COMMIT_ORDER} ORDER BY e.n")
NO_ROW = "HX001"  # hexpay_no_row's SQLSTATE (Alembic 0004)
_NO_ROW_MESSAGE = re.compile(r"hexpay: write (\d+) matched no row")


def event_arrays(events: list[DomainEvent]) -> dict[str, list[Any]]:
    return {"types": [e.type for e in events], "occurred": [e.occurred_at for e in events],
            "documents": [json_text(e.data()) for e in events]}


Shape = tuple[Table, bool, tuple[str, ...], tuple[str, ...]]  # table, INSERT or not, columns set, columns matched


@dataclass(slots=True)
class DeferredWrite:
    """One row's INSERT, or its UPDATE where `match` holds (id and version; the inbox's event key), not sent yet."""

    table: Table
    inserts: bool
    values: dict[str, Any]  # the INSERT's row, or the columns the UPDATE sets
    missing: Callable[[], Exception] | None = None  # an UPDATE's error when no row matched
    match: dict[str, Any] = field(default_factory=dict)
    aggregate: Any = None  # whose events are stored with it

    def shape(self) -> Shape:
        return self.table, self.inserts, tuple(self.values), tuple(self.match)

    def params(self) -> dict[str, Any]:
        """The parameters of the write alone (alone_statement): values by column, match values as match_<column>."""
        return {**self.values, **{"match_" + column: value for column, value in self.match.items()}}


@functools.cache
def alone_statement(table: Table, inserts: bool, match: tuple[str, ...]) -> Any:
    """The write as its own statement (SQLAlchemy Core, the columns given by the parameters' names): an aggregate's
    versioned UPDATE is UPDATE ... WHERE id = :match_id AND version = :match_version."""
    if inserts:
        return insert(table)
    return update(table).where(*(table.c[column] == bindparam("match_" + column) for column in match))


@functools.lru_cache(maxsize=512)
def writes_statement(shapes: tuple[Shape, ...], with_events: bool) -> TextClause:
    """The writes (then the events) as one statement; write n's values bound as :w<n>_<column>, its match values as
    :w<n>_match_<column>. Built once per sequence of shapes (tables, kinds and columns): a settlement has a few."""
    writes: list[str] = []
    checks: list[str] = []
    binds = []
    for n, (table, inserts, columns, match) in enumerate(shapes):
        assert all(c.isidentifier() and c.islower() for c in (*columns, *match)), (columns, match)
        binds += [bindparam(f"w{n}_{c}", type_=table.c[c].type) for c in columns]
        binds += [bindparam(f"w{n}_match_{c}", type_=table.c[c].type) for c in match]
        if inserts:
            writes.append(f"w{n} AS (INSERT INTO {table.name} ({', '.join(columns)}) "
                          f"VALUES ({', '.join(f':w{n}_{c}' for c in columns)}) RETURNING 1)")
            continue
        writes.append(f"w{n} AS (UPDATE {table.name} SET {', '.join(f'{c} = :w{n}_{c}' for c in columns)} "
                      f"WHERE {' AND '.join(f'{c} = :w{n}_match_{c}' for c in match)} RETURNING 1)")
        checks.append(f"WHEN NOT EXISTS (SELECT 1 FROM w{n}) THEN hexpay_no_row({n})")
    if with_events:
        writes.append(f"events AS ({INSERT_EVENTS} RETURNING 1)")
    # Every data-modifying WITH runs to its end whether or not the SELECT reads it; the CASE names the first write
    # that matched no row, in the order they were made.
    verdict = f"CASE {' '.join(checks)} ELSE 0 END" if checks else "0"
    statement = text(f"WITH {', '.join(writes)} SELECT {verdict} AS verdict")
    return statement.bindparams(*binds, *(EVENT_ARRAYS if with_events else ()))


@functools.lru_cache(maxsize=512)
def _bind_names(shapes: tuple[Shape, ...]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Per write, its values' and its match values' parameter names, in the order of its columns (once per shape:
    a settlement's 25 names were 25 f-strings per request)."""
    return tuple((tuple(f"w{n}_{c}" for c in columns), tuple(f"w{n}_match_{c}" for c in match))
                 for n, (_, _, columns, match) in enumerate(shapes))


def writes_params(shapes: tuple[Shape, ...], writes: list[DeferredWrite],
                  events: list[DomainEvent]) -> dict[str, Any]:
    params: dict[str, Any] = event_arrays(events) if events else {}
    for (value_names, match_names), write in zip(_bind_names(shapes), writes, strict=True):
        params.update(zip(value_names, write.values.values(), strict=True))
        params.update(zip(match_names, write.match.values(), strict=True))
    return params


def write_that_matched_no_row(error: DBAPIError) -> int | None:
    """The index hexpay_no_row named, when that is what failed the statement."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    found = _NO_ROW_MESSAGE.search(str(orig))
    return int(found.group(1)) if sqlstate == NO_ROW and found else None
