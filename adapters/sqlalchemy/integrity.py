"""Translate the database's unique violations into the domain's DuplicateRecord, by constraint."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from adapters.sqlalchemy.tables import FINAL_PAYMENT_STATUSES, metadata
from domain.errors import DuplicateRecord


def _guarantees() -> tuple[dict[str, str], dict[tuple[str, frozenset[str]], str]]:
    """What each unique constraint guarantees, by name (Postgres reports it) and by columns (SQLite does)."""
    by_name: dict[str, str] = {}
    by_columns: dict[tuple[str, frozenset[str]], str] = {}
    for table in metadata.tables.values():
        candidates: list[tuple[Any, list[str], Any]] = []
        pk = table.primary_key
        candidates.append((pk.name, [c.name for c in pk.columns], pk.info.get("what", f"{table.name} id")))
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                candidates.append((constraint.name, [c.name for c in constraint.columns],
                                   constraint.info.get("what", constraint.name)))
        for index in table.indexes:
            if isinstance(index, Index) and index.unique:
                candidates.append((index.name, [c.name for c in index.columns], index.info.get("what", index.name)))
        for name, columns, what in candidates:
            if what == "id":
                what = f"{table.name} id"
            if name:
                by_name[str(name)] = what
            by_columns[(table.name, frozenset(columns))] = what
    return by_name, by_columns


_BY_NAME, _BY_COLUMNS = _guarantees()
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


def duplicate_from(error: IntegrityError) -> DuplicateRecord | None:
    """The DuplicateRecord a unique violation means, or None for any other integrity error."""
    orig = error.orig
    cause = getattr(orig, "__cause__", None)
    constraint = getattr(cause, "constraint_name", None) or getattr(orig, "constraint_name", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    if constraint is not None and sqlstate in (None, "23505"):
        return DuplicateRecord(_BY_NAME.get(constraint, constraint))
    match = _SQLITE_UNIQUE.search(str(orig))
    if match:
        qualified = [c.strip() for c in match.group(1).split(",")]
        table = qualified[0].split(".")[0]
        columns = frozenset(c.split(".")[-1] for c in qualified)
        return DuplicateRecord(_BY_COLUMNS.get((table, columns), match.group(1)))
    if sqlstate == "23505":
        return DuplicateRecord("unique key")
    return None


# Columns a partial unique index's WHERE clause reads: changing them can make a row clash with another.
_PARTIAL_INDEX_COLUMNS = {"payments": {"status"}, "payment_methods": {"is_default", "detached"}}


def _guarded() -> dict[str, tuple[str, ...]]:
    guarded: dict[str, tuple[str, ...]] = {}
    for table in metadata.tables.values():
        columns = set(_PARTIAL_INDEX_COLUMNS.get(table.name, ()))
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                columns.update(c.name for c in constraint.columns)
        for index in table.indexes:
            if index.unique:
                columns.update(c.name for c in index.columns)
        guarded[table.name] = tuple(sorted(columns))
    return guarded


# Per table, the non-key columns an UPDATE must change before it can violate a unique constraint or index.
GUARDED_COLUMNS = _guarded()
# The same as sets: whether an UPDATE's changed columns touch any (`isdisjoint`), asked before `may_clash`.
GUARDED_SETS = {table: frozenset(columns) for table, columns in GUARDED_COLUMNS.items()}


def _in_partial_index(table: str, row: dict[str, Any]) -> bool:
    """Whether a row is inside its table's partial unique index (the WHERE clauses in tables.py)."""
    if table == "payments":
        return row["status"] not in FINAL_PAYMENT_STATUSES
    if table == "payment_methods":
        return bool(row["is_default"]) and not row["detached"]
    return True


def may_clash(table: str, before: tuple[Any, ...] | None, after: tuple[Any, ...]) -> bool:
    """Whether an UPDATE from `before` to `after` (projections on GUARDED_COLUMNS) can violate a unique
    constraint or index. A changed key column can; a change of only the partial index's predicate columns can
    only when it brings the row into the index (a payment that becomes succeeded leaves "one live payment per
    order": it cannot clash with anything). Unknown `before`: it may."""
    if before is None:
        return bool(after)
    if before == after:
        return False
    columns = GUARDED_COLUMNS[table]
    changed = {c for c, old, new in zip(columns, before, after, strict=True) if old != new}
    if changed - _PARTIAL_INDEX_COLUMNS.get(table, set()):
        return True
    return _in_partial_index(table, dict(zip(columns, after, strict=True))) and not _in_partial_index(
        table, dict(zip(columns, before, strict=True)))
