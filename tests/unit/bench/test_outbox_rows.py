"""The bench's correctness check counts the outbox rows each recorded request added (bench.run.outbox_rows), to
compare with the rows the load added: the events go as arrays, alone or in one statement with the writes
(adapters/sqlalchemy/deferred_writes.py), whose status then names the SELECT, not the rows inserted."""

from __future__ import annotations

from bench.plan import Param, Step
from bench.run import outbox_rows

_EVENTS = [Param("const", value=["PaymentSucceeded", "OrderPaid", "InvoicePaid"]),
           Param("const", value=["t1", "t2", "t3"]), Param("const", value=["{}", "{}", "{}"])]


def test_events_with_the_writes_count_as_many_as_their_arrays_hold() -> None:
    combined = Step("prepared", "WITH w0 AS (UPDATE payments SET ...), events AS (INSERT INTO outbox (type) ...) "
                    "SELECT 0", [Param("ctx", name="payment_id"), *_EVENTS], status="SELECT 1", rows=1)
    assert outbox_rows([Step("simple", "BEGIN;", status="BEGIN"), combined]) == 3


def test_events_alone_count_by_their_arrays_or_their_status_and_other_statements_not_at_all() -> None:
    alone = Step("prepared", "INSERT INTO outbox (type, occurred_at, data) SELECT ...",
                 [Param("const", value=["PaymentFailed", "OrderPaid"]), Param("const", value=["t1", "t2"])],
                 status="INSERT 0 2")
    listed = Step("prepared", "INSERT INTO outbox (type, occurred_at, data) VALUES ($1, $2, $3)",
                  [Param("const", value="OrderPaid")], status="INSERT 0 1")
    many = Step("many", "INSERT INTO outbox (type) VALUES ($1)", [[Param("const", value="A")]] * 4)
    other = Step("prepared", "UPDATE payments SET status = $1", [Param("const", value="paid")], status="UPDATE 1")
    assert [outbox_rows([s]) for s in (alone, listed, many, other)] == [2, 1, 4, 0]
