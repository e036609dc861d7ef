"""When an UPDATE needs a savepoint: only when it can violate a unique constraint or a partial unique index
(adapters/sqlalchemy/integrity.py). A wrong "no" would abort a Postgres transaction on a DuplicateRecord that the
caller expects to survive; the repository contract suite runs the clashing cases for real."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.sqlalchemy.integrity import GUARDED_COLUMNS, may_clash

STATUSES = ["requires_payment_method", "requires_confirmation", "requires_action", "processing",
            "requires_capture", "succeeded", "canceled"]
FINAL = {"succeeded", "canceled"}


def payment(status: str, gateway_payment_id: str | None = "pi_1", order_id: str = "ord_1") -> tuple[object, ...]:
    row = {"gateway_account_id": "gwa_1", "gateway_payment_id": gateway_payment_id, "order_id": order_id,
           "status": status}
    return tuple(row[c] for c in GUARDED_COLUMNS["payments"])


def method(is_default: bool, detached: bool = False) -> tuple[object, ...]:
    row = {"customer_id": "cus_1", "detached": detached, "gateway_account_id": "gwa_1",
           "gateway_payment_method_id": "pm_1", "is_default": is_default}
    return tuple(row[c] for c in GUARDED_COLUMNS["payment_methods"])


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_a_status_change_clashes_only_when_the_payment_becomes_live(before: str, after: str) -> None:
    entering_live = after not in FINAL and before in FINAL
    assert may_clash("payments", payment(before), payment(after)) == entering_live


def test_a_changed_key_may_clash_and_an_unknown_row_may_too() -> None:
    assert may_clash("payments", payment("processing", None), payment("processing", "pi_2"))
    assert may_clash("payments", payment("processing"), payment("processing", order_id="ord_2"))
    assert may_clash("payments", None, payment("succeeded"))
    assert not may_clash("payments", payment("processing"), payment("processing"))


def test_a_card_clashes_only_when_it_becomes_the_live_default() -> None:
    assert may_clash("payment_methods", method(False), method(True))
    assert not may_clash("payment_methods", method(True), method(False))
    assert not may_clash("payment_methods", method(True), method(True, detached=True))
    assert may_clash("payment_methods", method(True, detached=True), method(True))
