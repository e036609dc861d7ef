"""Compiled statements are looked up by the statement object's identity: the same object is compiled once, and a
plan is never handed to another statement, even one built after the first was dropped (ids are reused by
Python; the plan holds its statement so that its id cannot be)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from adapters.sqlalchemy import connections
from adapters.sqlalchemy.tables import payments
from adapters.sqlalchemy.transaction import versioned_update

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


def test_a_statement_is_compiled_once_and_its_arguments_follow_its_names() -> None:
    statement = select(payments.c.id).where(payments.c.id == bindparam("payment_id"),
                                            payments.c.order_id == bindparam("order_id"))
    before = connections.compilations()
    plan = connections._plan(statement, DIALECT, ("payment_id", "order_id"))
    assert connections._plan(statement, DIALECT, ("payment_id", "order_id")) is plan
    assert connections.compilations() == before + 1
    sql, arguments = plan.arguments({"order_id": "ord_1", "payment_id": "pay_1"})
    assert arguments == ["pay_1", "ord_1"] and sql.index("$1") < sql.index("$2")
    assert plan.direct


def test_a_statement_built_per_call_never_gets_another_ones_plan() -> None:
    for n in range(200):  # each dropped before the next is built: Python may give the next one the same id
        statement = select(payments.c.id).where(payments.c.amount == n)  # a literal: a constant of its own plan
        plan = connections._plan(statement, DIALECT, ())
        assert plan.statement is statement
        assert plan.arguments({})[1] == [n]


def test_only_the_columns_with_a_processor_are_converted_and_constants_fill_their_places() -> None:
    statement = versioned_update(payments)
    plan = connections._plan(statement, DIALECT, ("status", "updated_at", "observed_at", "match_id", "match_version"))
    assert not plan.direct and [plan.names[i] for i, _ in plan.converted] == ["updated_at", "observed_at"]
    two_hours_east = datetime(2026, 11, 27, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    sql, arguments = plan.arguments({"match_version": 3, "observed_at": None, "status": "succeeded",
                                     "match_id": "pay_1", "updated_at": two_hours_east})
    assert sql.startswith("UPDATE payments SET status=$1")
    assert arguments == ["succeeded", two_hours_east, None, "pay_1", 3]
    assert arguments[1].tzinfo is UTC  # converted by UtcDateTime; None is left as it is
    with pytest.raises(ValueError, match="naive"):
        plan.arguments({"match_version": 3, "observed_at": None, "status": "succeeded", "match_id": "pay_1",
                        "updated_at": datetime(2026, 11, 27, 12, 0)})

    constant = select(payments.c.id).where(payments.c.amount == 2500, payments.c.id == bindparam("payment_id"))
    plan = connections._plan(constant, DIALECT, ("payment_id",))
    assert plan.constants and plan.arguments({"payment_id": "pay_1"})[1] == [2500, "pay_1"]


def test_a_list_given_per_call_is_expanded_for_each_call_never_looked_up_by_name() -> None:
    statement = select(payments.c.id).where(payments.c.id.in_(bindparam("payment_ids", expanding=True)))
    plan = connections._plan(statement, DIALECT, ("payment_ids",))
    assert plan.expands and not plan.direct
    two = plan.arguments({"payment_ids": ["pay_1", "pay_2"]})
    three = plan.arguments({"payment_ids": ["pay_1", "pay_2", "pay_3"]})
    assert two[1] == ["pay_1", "pay_2"] and three[1] == ["pay_1", "pay_2", "pay_3"]
    assert "$3" in three[0] and "$3" not in two[0]
