"""A function a statement calls to fail as a whole: hexpay_no_row(n) raises SQLSTATE HX001 naming write n.

A unit of work's writes on Postgres are sent at commit as one statement, each a data-modifying WITH
(adapters/sqlalchemy/deferred_writes.py). A versioned UPDATE that matched no row (someone else changed the aggregate
first) must undo the statement's other writes, and when the statement runs outside a transaction nothing but an
error can do that: its final SELECT calls this function for the first write that matched no row, the statement
fails, and the adapter raises that write's own error (ConcurrentUpdate, NotFound). SQLite sends each write at once
and needs nothing here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_ROW = 'HX001'  # adapters/sqlalchemy/deferred_writes.py recognises it


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # VOLATILE (the default): the planner never calls it ahead of time, only when a CASE branch reaches it.
    op.execute(f"""
        CREATE FUNCTION hexpay_no_row(write integer) RETURNS integer LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'hexpay: write % matched no row', write USING ERRCODE = '{NO_ROW}';
        END $$
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP FUNCTION hexpay_no_row(integer)")
