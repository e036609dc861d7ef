"""Create every table: the first revision of the schema in adapters/sqlalchemy/tables.py.

Self-contained on purpose (plain SQLAlchemy types, no imports from the application), so it keeps working
whatever later code looks like.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('reference', name=op.f('uq_customers_reference'))
    )
    op.create_table('gateway_accounts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('publishable_key', sa.String(length=255), nullable=False),
    sa.Column('secret_key_sealed', sa.Text(), nullable=False),
    sa.Column('webhook_secret_sealed', sa.Text(), nullable=False),
    sa.Column('api_base', sa.String(length=500), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_accounts'))
    )
    op.create_table('idempotency_keys',
    sa.Column('caller', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.Column('response_headers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('caller', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_index('ix_idempotency_keys_created_at', 'idempotency_keys', ['created_at'], unique=False)

    op.create_table('invoice_sequences',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_invoice_sequences'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_due', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number')),
    sa.UniqueConstraint('order_id', name=op.f('uq_invoices_order_id'))
    )
    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('customer_reference', sa.String(length=255), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('amount_refunded', sa.BigInteger(), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    op.create_index('ix_orders_customer_id', 'orders', ['customer_id', 'created_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('type', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_table('payment_methods',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_payment_method_id', sa.String(length=255), nullable=False),
    sa.Column('card_brand', sa.String(length=32), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('card_exp_month', sa.Integer(), nullable=False),
    sa.Column('card_exp_year', sa.Integer(), nullable=False),
    sa.Column('cardholder_name', sa.String(length=255), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('detached', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods')),
    sa.UniqueConstraint('gateway_account_id', 'gateway_payment_method_id', name=op.f('uq_payment_methods_gateway_account_id_gateway_payment_method_id'))
    )
    op.create_index('ix_payment_methods_customer_id', 'payment_methods', ['customer_id', 'created_at'], unique=False)
    op.create_index('ux_payment_methods_one_default', 'payment_methods', ['customer_id', 'gateway_account_id'], unique=True, postgresql_where=sa.text('is_default AND NOT detached'), sqlite_where=sa.text('is_default AND NOT detached'))

    op.create_table('payments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('capture_method', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gateway_payment_id', sa.String(length=255), nullable=True),
    sa.Column('client_secret_sealed', sa.Text(), nullable=True),
    sa.Column('payment_method_id', sa.String(length=64), nullable=True),
    sa.Column('gateway_payment_method_id', sa.String(length=255), nullable=True),
    sa.Column('save_card', sa.Boolean(), nullable=False),
    sa.Column('amount_received', sa.BigInteger(), nullable=False),
    sa.Column('amount_capturable', sa.BigInteger(), nullable=False),
    sa.Column('last_payment_error', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('next_action', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('confirmation_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('gateway_account_id', 'gateway_payment_id', name=op.f('uq_payments_gateway_account_id_gateway_payment_id'))
    )
    op.create_index('ix_payments_order_id', 'payments', ['order_id'], unique=False)
    op.create_index('ix_payments_updated_at', 'payments', ['updated_at'], unique=False)
    op.create_index('ux_payments_live', 'payments', ['order_id', 'gateway_account_id'], unique=True, postgresql_where=sa.text("status NOT IN ('succeeded', 'canceled')"), sqlite_where=sa.text("status NOT IN ('succeeded', 'canceled')"))

    op.create_table('webhook_inbox',
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('payment_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('gateway_account_id', 'event_id', name=op.f('pk_webhook_inbox'))
    )
    op.create_table('customer_gateway_ids',
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_customer_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_gateway_ids_customer_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'gateway_account_id', name=op.f('pk_customer_gateway_ids')),
    sa.UniqueConstraint('gateway_account_id', 'gateway_customer_id', name=op.f('uq_customer_gateway_ids_gateway_account_id_gateway_customer_id'))
    )
    op.create_table('disputes',
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_dispute_id', sa.String(length=255), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_disputes_payment_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('gateway_account_id', 'gateway_dispute_id', name=op.f('pk_disputes'))
    )
    op.create_index('ix_disputes_payment_id', 'disputes', ['payment_id'], unique=False)

    op.create_table('order_lines',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'position', name=op.f('pk_order_lines'))
    )
    op.create_table('refunds',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('gateway_account_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('gateway_refund_id', sa.String(length=255), nullable=True),
    sa.Column('failure_reason', sa.String(length=255), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('gateway_account_id', 'gateway_refund_id', name=op.f('uq_refunds_gateway_account_id_gateway_refund_id'))
    )
    op.create_index('ix_refunds_payment_id', 'refunds', ['payment_id'], unique=False)
    op.create_index('ix_refunds_unsettled', 'refunds', ['payment_id'], unique=False, postgresql_where=sa.text("status IN ('pending', 'requires_action')"), sqlite_where=sa.text("status IN ('pending', 'requires_action')"))



def downgrade() -> None:
    # Children first; dropping a table drops its indexes.
    for table in ("refunds", "disputes", "order_lines", "customer_gateway_ids", "webhook_inbox", "payments",
                  "payment_methods", "outbox", "orders", "invoices", "invoice_sequences", "idempotency_keys",
                  "gateway_accounts", "customers"):
        op.drop_table(table)
