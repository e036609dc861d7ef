"""What the bench counts in a recorded request. The outbox rows it added (bench.run.outbox_rows), which the
correctness check compares with the rows the load added: the events go as arrays, alone or in one statement with
the writes (adapters/sqlalchemy/deferred_writes.py), whose status then names the SELECT, not the rows inserted. Its
round trips by kind (bench.plan.summary), where a data-modifying WITH is a write."""

from __future__ import annotations

from bench.plan import Param, Step, summary
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


def test_a_data_modifying_with_counts_as_a_write_and_a_plain_with_as_other() -> None:
    steps = [Step("simple", "BEGIN ISOLATION LEVEL READ COMMITTED;"),
             Step("prepared", "WITH claimed AS (INSERT INTO webhook_inbox (event_id) VALUES ($1) ON CONFLICT DO "
                  "NOTHING RETURNING 1) SELECT 1"),
             Step("prepared", "SELECT payments.id FROM payments WHERE payments.id = $1 FOR UPDATE"),
             Step("prepared", "WITH w0 AS (UPDATE payments SET status = $1 WHERE id = $2 RETURNING 1) SELECT 0"),
             Step("prepared", "WITH recent AS (SELECT 1) SELECT * FROM recent"),
             Step("simple", "COMMIT;")]
    assert summary(steps) == {"statements": 6, "transaction": 2, "read": 1, "write": 2, "other": 1}
