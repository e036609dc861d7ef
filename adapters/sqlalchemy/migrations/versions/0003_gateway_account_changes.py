"""Postgres says when a gateway account changes: a trigger notifies channel hexpay_gateway_accounts.

Each process keeps the gateway accounts it read (every write reads one) for as long as it listens on the channel
(adapters/sqlalchemy/account_memory.py). The trigger, not the repository, sends the notification, so that a change
made by anyone is heard: an admin request, a key rotation, an operator in psql. The payload is the account's id,
or '*' when the whole table was truncated. Postgres delivers a notification when its transaction commits, and
never one of a transaction rolled back. SQLite has no LISTEN: there the accounts are read every time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = 'hexpay_gateway_accounts'  # adapters/sqlalchemy/account_memory.py listens on it


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        CREATE FUNCTION hexpay_gateway_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('{CHANNEL}', '*');
            ELSE
                PERFORM pg_notify('{CHANNEL}', OLD.id);
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER gateway_account_changed AFTER UPDATE OR DELETE ON gateway_accounts "
               "FOR EACH ROW EXECUTE FUNCTION hexpay_gateway_account_changed()")
    op.execute("CREATE TRIGGER gateway_accounts_truncated AFTER TRUNCATE ON gateway_accounts "
               "FOR EACH STATEMENT EXECUTE FUNCTION hexpay_gateway_account_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER gateway_accounts_truncated ON gateway_accounts")
    op.execute("DROP TRIGGER gateway_account_changed ON gateway_accounts")
    op.execute("DROP FUNCTION hexpay_gateway_account_changed()")
