"""Ids of the rows the bench seeds, from numbers: the same formula in Python (the load client, the bare handler)
and in SQL (the seeding statements, pgbench scripts), so every side names the same rows without a lookup.

Each id has the shape of hexpay's own (prefix, underscore, 26 characters); `b` marks seeded rows, and rows written
during a run carry the letter of the system that wrote them (p = pgbench), so no two systems ever collide.
"""

from __future__ import annotations

WIDTH = 25  # digits after the one marker letter: prefix_ + 26 characters, as SortableIdGenerator makes


def order_id(n: int) -> str:
    return f"ord_b{n:025d}"


def invoice_id(n: int) -> str:
    return f"inv_b{n:025d}"


def invoice_number(n: int) -> str:
    return f"INV-B-{n:012d}"


def payment_id(n: int, marker: str = "b") -> str:
    return f"pay_{marker}{n:025d}"


def gateway_payment_id(n: int) -> str:
    return f"pi_b{n:023d}"


def event_id(n: int, marker: str) -> str:
    return f"evt_{marker}{n:023d}"


def customer_id(c: int) -> str:
    return f"cus_b{c:025d}"


def reference(c: int) -> str:
    return f"shopper-b{c:08d}"


def gateway_customer_id(c: int) -> str:
    return f"cus_g{c:023d}"


def payment_method_id(c: int) -> str:
    return f"cpm_b{c:025d}"


def gateway_payment_method_id(c: int) -> str:
    return f"pm_b{c:023d}"


# The same formulas over a SQL integer expression (a column, a series value, or a pgbench variable like :n).
def sql_id(prefix: str, marker: str, number: str, width: int = WIDTH) -> str:
    return f"('{prefix}_{marker}' || lpad(({number})::text, {width}, '0'))"


SQL = {
    "order_id": lambda x: sql_id("ord", "b", x),
    "invoice_id": lambda x: sql_id("inv", "b", x),
    "invoice_number": lambda x: f"('INV-B-' || lpad(({x})::text, 12, '0'))",
    "payment_id": lambda x: sql_id("pay", "b", x),
    "gateway_payment_id": lambda x: sql_id("pi", "b", x, 23),
    "customer_id": lambda x: sql_id("cus", "b", x),
    "reference": lambda x: f"('shopper-b' || lpad(({x})::text, 8, '0'))",
    "gateway_customer_id": lambda x: sql_id("cus", "g", x, 23),
    "payment_method_id": lambda x: sql_id("cpm", "b", x),
    "gateway_payment_method_id": lambda x: sql_id("pm", "b", x, 23),
}


def sql_event_id(marker: str, x: str) -> str:
    return sql_id("evt", marker, x, 23)


def sql_payment_id(marker: str, x: str) -> str:
    return sql_id("pay", marker, x)
