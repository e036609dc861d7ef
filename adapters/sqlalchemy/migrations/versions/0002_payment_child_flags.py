"""Payments say on their own row whether they have refunds and disputes.

A payment read FOR UPDATE may be a newer version of the row than its statement's snapshot, and a subquery beside it
still sees the snapshot: the flags were read by a statement of their own after each row lock, a round trip per
settlement. Kept on the row, written by the UPDATE that adds the child (every child is written with its payment),
they are as new as the locked row itself.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, on SQLite too: a batch operation there copies the table and drops the old one,
    # and with foreign keys on, dropping payments deletes every refund and dispute through ON DELETE CASCADE.
    op.add_column('payments', sa.Column('has_refunds', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('payments', sa.Column('has_disputes', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE payments SET has_refunds = EXISTS (SELECT 1 FROM refunds WHERE refunds.payment_id = payments.id),"
               " has_disputes = EXISTS (SELECT 1 FROM disputes WHERE disputes.payment_id = payments.id)")


def downgrade() -> None:
    op.drop_column('payments', 'has_disputes')  # ALTER TABLE DROP COLUMN: SQLite has it since 3.35
    op.drop_column('payments', 'has_refunds')
