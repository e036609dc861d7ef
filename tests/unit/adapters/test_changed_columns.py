"""An aggregate's UPDATE sets only the columns that differ from the row as read (or last written) in the same
transaction, plus the version; a row never read there is written whole. A column is left out only when its old
value is the same type and equal, JSON documents compared as canonical JSON: writing a column needlessly costs a
few microseconds, leaving out a changed one would lose a write. The statements are recorded by a fake session
(the Session port), so what is asserted is exactly what would be sent."""

from __future__ import annotations

import asyncio
import math
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy.tables import invoices
from adapters.sqlalchemy.transaction import SqlTransaction

MATCH = ("match_id", "match_version")


class _Rows:
    rowcount = 1

    def mappings(self) -> Any:
        return []

    def scalar_one(self) -> Any:
        return None


class RecordingSession:
    """The Session port in memory: every UPDATE matches its one row; the parameters of each are kept."""

    is_postgres = False
    autocommit = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def execute(self, statement: Any, params: Any = None) -> _Rows:
        self.sent.append(dict(params or {}))
        return _Rows()

    def savepoint(self) -> Any:
        return nullcontext()

    def snapshot(self) -> Any:
        return nullcontext()

    def outside_snapshot(self) -> bool:
        return False

    def in_transaction(self) -> bool:
        return True

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class Aggregate:
    def __init__(self, version: int = 3) -> None:
        self.id = "inv_1"
        self.version = version


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def invoice_row(**changes: Any) -> dict[str, Any]:
    row = {"id": "inv_1", "order_id": "ord_1", "number": "2026-000001", "currency": "usd", "amount_due": 2500,
           "amount_paid": 0, "status": "open", "created_at": NOW, "version": 3}
    return {**row, **changes}


def transaction() -> tuple[SqlTransaction, RecordingSession]:
    session = RecordingSession()
    return SqlTransaction(session, AeadSecretBox(["a-test-key-of-32-characters-long"])), session


def set_columns(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in MATCH}


async def test_a_row_not_read_in_the_transaction_is_written_whole() -> None:
    tx, session = transaction()
    await tx.update_aggregate(invoices, invoice_row(status="paid", amount_paid=2500), Aggregate())
    (sent,) = session.sent
    assert set_columns(sent) == {k: v for k, v in invoice_row(status="paid", amount_paid=2500, version=4).items()
                                 if k != "id"}
    assert (sent["match_id"], sent["match_version"]) == ("inv_1", 3)


async def test_a_read_row_sets_only_what_changed_and_the_version() -> None:
    tx, session = transaction()
    tx.remember_row(invoices, invoice_row())
    invoice = Aggregate()
    await tx.update_aggregate(invoices, invoice_row(status="paid", amount_paid=2500), invoice)
    assert set_columns(session.sent[0]) == {"status": "paid", "amount_paid": 2500, "version": 4}
    assert invoice.version == 4
    # The next update in the same transaction compares with the row just written, not the one first read.
    await tx.update_aggregate(invoices, invoice_row(status="paid", amount_paid=2500, amount_due=2600, version=4),
                              invoice)
    assert set_columns(session.sent[1]) == {"amount_due": 2600, "version": 5}
    assert (session.sent[1]["match_version"], invoice.version) == (4, 5)


async def test_the_same_instant_is_unchanged_and_another_type_is_a_change() -> None:
    tx, session = transaction()
    read = invoice_row(amount_paid=2500, created_at=NOW.astimezone(timezone(timedelta(hours=2))))  # as read
    tx.remember_row(invoices, read)
    await tx.update_aggregate(invoices, invoice_row(amount_paid=2500.0), Aggregate())
    assert set_columns(session.sent[0]) == {"amount_paid": 2500.0, "version": 4}  # 2500 == 2500.0, yet a change


async def test_a_column_missing_from_the_read_row_is_written() -> None:
    tx, session = transaction()
    tx.remember_row(invoices, invoice_row())
    tx.rows[("invoices", "inv_1")] = {k: v for k, v in invoice_row().items() if k != "number"}  # not selected
    await tx.update_aggregate(invoices, invoice_row(), Aggregate())
    assert set_columns(session.sent[0]) == {"number": "2026-000001", "version": 4}


# No hexpay column is a float; inside JSON documents -0.0 and 0.0 differ, as scalars they compare equal.
floats = st.floats(-3, 3, allow_nan=False).filter(lambda x: x != 0 or math.copysign(1, x) > 0)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), floats, st.sampled_from(["a", "b", ""]))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)),
                         max_leaves=6)
values = st.one_of(scalars, documents)
COLUMNS = ("order_id", "number", "currency", "amount_due", "amount_paid", "status", "created_at")


def stored(value: Any) -> tuple[type, str]:
    """What the database would hold: the type and its canonical JSON (1, 1.0 and true all differ)."""
    return type(value), msgspec.json.encode(value, order="sorted").decode()


@given(st.fixed_dictionaries({c: values for c in COLUMNS}), st.fixed_dictionaries({c: values for c in COLUMNS}),
       st.lists(st.sampled_from(COLUMNS), unique=True))
def test_no_changed_column_is_left_out_and_no_unchanged_one_is_sent(
    before: dict[str, Any], after: dict[str, Any], kept: list[str],
) -> None:
    after = {**after, **{c: before[c] for c in kept}}  # some columns untouched, as most are in a settlement
    tx, session = transaction()
    tx.remember_row(invoices, {"id": "inv_1", **before, "version": 3})
    asyncio.run(tx.update_aggregate(invoices, {"id": "inv_1", **after, "version": 3}, Aggregate()))
    written = set_columns(session.sent[0])
    assert written.pop("version") == 4
    for column in COLUMNS:
        if stored(before[column]) != stored(after[column]):
            assert written[column] is after[column]  # every change is written
        else:
            assert column not in written  # the same value is not sent again
