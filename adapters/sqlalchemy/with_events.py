"""An aggregate's write and its events in one statement, for an autocommit unit of work on Postgres.

A payment opened with its PaymentCreated, or a settlement that moves the payment alone and records its event, is one
aggregate written by one statement plus its outbox rows: as a transaction that is BEGIN, the write, the outbox
INSERT and COMMIT, four round trips. Sent as one statement it is one, atomic by itself: the write is a data-modifying
WITH, and the outbox rows are inserted from it, so an UPDATE that matched no row (its version had moved) inserts none
and the caller sees ConcurrentUpdate; a unique violation fails the whole statement. The outbox rows take the
commit-order lock first, as the unit of work's own outbox INSERT does (unit_of_work.py).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import ARRAY, Table, Text, bindparam, text
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


def event_arrays(events: list[DomainEvent]) -> dict[str, list[Any]]:
    return {"types": [e.type for e in events], "occurred": [e.occurred_at for e in events],
            "documents": [json_text(e.data()) for e in events]}


@functools.cache
def write_with_events(table: Table, inserts: bool, columns: tuple[str, ...]) -> TextClause:
    """INSERT (columns: the row's) or versioned UPDATE (columns: the changed ones, then match_id, match_version),
    then the events; each value bound as :v_<column>. RETURNING one row per event stored: none if the UPDATE
    matched no row. Built once per table, kind and set of columns."""
    assert all(c.isidentifier() and c.islower() for c in columns), columns  # written into the SQL as they are
    if inserts:
        write = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                 f"VALUES ({', '.join(':v_' + c for c in columns)})")
        binds = [bindparam("v_" + c, type_=table.c[c].type) for c in columns]
    else:
        sets = [c for c in columns if c not in ("match_id", "match_version")]
        write = (f"UPDATE {table.name} SET {', '.join(f'{c} = :v_{c}' for c in sets)} "
                 "WHERE id = :v_match_id AND version = :v_match_version")
        binds = [bindparam("v_" + c, type_=table.c[c].type) for c in sets]
        binds += [bindparam("v_match_id", type_=table.c.id.type),
                  bindparam("v_match_version", type_=table.c.version.type)]
    return text(
        f"WITH written AS ({write} RETURNING 1) "
        "INSERT INTO outbox (type, occurred_at, data) "
        f"SELECT e.type, e.occurred_at, e.data::jsonb FROM written, {EVENTS_IN_COMMIT_ORDER} ORDER BY e.n "
        "RETURNING 1"
    ).bindparams(*binds, *EVENT_ARRAYS)


def params_with_events(values: dict[str, Any], events: list[DomainEvent]) -> dict[str, Any]:
    return {**{"v_" + k: v for k, v in values.items()}, **event_arrays(events)}
