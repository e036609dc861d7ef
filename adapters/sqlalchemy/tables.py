"""The schema as SQLAlchemy Core tables. The guarantees live here, in constraints the database enforces.

Each unique constraint or index carries info={"what": ...}: the name of the guarantee a DuplicateRecord reports
(the memory store uses the same names). Aggregates refer to each other by id without foreign keys: an aggregate
is the consistency boundary, and the memory store (which unit tests run on) could not mirror them. Children of
one aggregate (order lines, refunds, disputes, gateway customer ids) do have foreign keys, deleted with it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from adapters.sqlalchemy.types import Cursor, Document, MinorUnits, UtcDateTime

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)

FINAL_PAYMENT_STATUSES = ("succeeded", "canceled")
_LIVE = text("status NOT IN ('succeeded', 'canceled')")
_DEFAULT_METHOD = text("is_default AND NOT detached")


def _id(**kwargs: object) -> Column[str]:
    return Column("id", String(64), primary_key=True, info={"what": "id"}, **kwargs)  # type: ignore[arg-type]


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False)


def _currency() -> Column[str]:
    return Column("currency", String(3), nullable=False)


gateway_accounts = Table(
    "gateway_accounts",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("publishable_key", String(255), nullable=False),
    # SecretBox tokens (authenticated encryption), never the credentials themselves.
    Column("secret_key_sealed", Text, nullable=False),
    Column("webhook_secret_sealed", Text, nullable=False),
    Column("api_base", String(500)),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _version(),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("reference", String(255), nullable=False),
    Column("email", String(320)),
    Column("created_at", UtcDateTime, nullable=False),
    _version(),
    UniqueConstraint("reference", info={"what": "customer reference"}),
)

customer_gateway_ids = Table(
    "customer_gateway_ids",
    metadata,
    Column("customer_id", String(64), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("gateway_account_id", String(64), nullable=False),
    Column("gateway_customer_id", String(255), nullable=False),
    PrimaryKeyConstraint("customer_id", "gateway_account_id"),
    UniqueConstraint("gateway_account_id", "gateway_customer_id", info={"what": "gateway customer id"}),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    _id(),
    Column("customer_id", String(64), nullable=False),
    Column("gateway_account_id", String(64), nullable=False),
    Column("gateway_payment_method_id", String(255), nullable=False),
    Column("card_brand", String(32), nullable=False),
    Column("card_last4", String(4), nullable=False),
    Column("card_exp_month", Integer, nullable=False),
    Column("card_exp_year", Integer, nullable=False),
    Column("cardholder_name", String(255)),
    Column("is_default", Boolean, nullable=False),
    Column("detached", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _version(),
    UniqueConstraint("gateway_account_id", "gateway_payment_method_id", info={"what": "gateway payment method id"}),
    Index("ix_payment_methods_customer_id", "customer_id", "created_at"),
    Index("ux_payment_methods_one_default", "customer_id", "gateway_account_id", unique=True,
          postgresql_where=_DEFAULT_METHOD, sqlite_where=_DEFAULT_METHOD, info={"what": "default payment method"}),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    Column("customer_id", String(64), nullable=False),
    Column("customer_reference", String(255), nullable=False),
    _currency(),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("metadata", Document, nullable=False),
    Column("amount_refunded", MinorUnits, nullable=False),
    Column("payment_id", String(64)),
    _version(),
    Index("ix_orders_customer_id", "customer_id", "created_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("description", String(500), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_amount", MinorUnits, nullable=False),
    _currency(),
    PrimaryKeyConstraint("order_id", "position"),
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    Column("order_id", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    _currency(),
    Column("amount_due", MinorUnits, nullable=False),
    Column("amount_paid", MinorUnits, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _version(),
    UniqueConstraint("number", info={"what": "invoice number"}),
    UniqueConstraint("order_id", info={"what": "invoice for order"}),
)

# One counter row per year, bumped with UPDATE ... RETURNING: the row lock makes numbers gapless among commits.
invoice_sequences = Table(
    "invoice_sequences",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_value", Integer, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    _id(),
    Column("order_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("gateway_account_id", String(64), nullable=False),
    Column("amount", MinorUnits, nullable=False),
    _currency(),
    Column("capture_method", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("gateway_payment_id", String(255)),
    Column("client_secret_sealed", Text),  # the shopper's key to the intent: sealed like credentials
    Column("payment_method_id", String(64)),
    Column("gateway_payment_method_id", String(255)),
    Column("save_card", Boolean, nullable=False),
    Column("amount_received", MinorUnits, nullable=False),
    Column("amount_capturable", MinorUnits, nullable=False),
    Column("last_payment_error", Document),
    Column("next_action", Document),
    Column("observed_at", UtcDateTime),
    Column("failed_attempts", Integer, nullable=False),
    Column("confirmation_attempts", Integer, nullable=False, server_default="0"),
    # Whether any refund or dispute row belongs to the payment: a payment without (most) is read in one round trip,
    # even FOR UPDATE, where a subquery would see an older snapshot than the locked row (migration 0002).
    Column("has_refunds", Boolean, nullable=False, server_default=false()),
    Column("has_disputes", Boolean, nullable=False, server_default=false()),
    _version(),
    UniqueConstraint("gateway_account_id", "gateway_payment_id", info={"what": "gateway payment id"}),
    Index("ux_payments_live", "order_id", "gateway_account_id", unique=True,
          postgresql_where=_LIVE, sqlite_where=_LIVE, info={"what": "live payment"}),
    Index("ix_payments_order_id", "order_id"),
    Index("ix_payments_updated_at", "updated_at"),
)

refunds = Table(
    "refunds",
    metadata,
    _id(),
    Column("payment_id", String(64), ForeignKey("payments.id", ondelete="CASCADE"), nullable=False),
    Column("gateway_account_id", String(64), nullable=False),  # the payment's: gateway ids are per account
    Column("position", Integer, nullable=False),
    Column("amount", MinorUnits, nullable=False),
    _currency(),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("reason", String(255)),
    Column("gateway_refund_id", String(255)),
    Column("failure_reason", String(255)),
    Column("observed_at", UtcDateTime),
    UniqueConstraint("gateway_account_id", "gateway_refund_id", info={"what": "gateway refund id"}),
    Index("ix_refunds_payment_id", "payment_id"),
    Index("ix_refunds_unsettled", "payment_id", postgresql_where=text("status IN ('pending', 'requires_action')"),
          sqlite_where=text("status IN ('pending', 'requires_action')")),
)

disputes = Table(
    "disputes",
    metadata,
    Column("gateway_account_id", String(64), nullable=False),
    Column("gateway_dispute_id", String(255), nullable=False),
    Column("payment_id", String(64), ForeignKey("payments.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("amount", MinorUnits, nullable=False),
    _currency(),
    Column("status", String(32), nullable=False),
    Column("reason", String(255)),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("observed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("gateway_account_id", "gateway_dispute_id", info={"what": "gateway dispute id"}),
    Index("ix_disputes_payment_id", "payment_id"),
)

webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("gateway_account_id", String(64), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(128), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("outcome", String(64)),
    Column("payment_id", String(64)),
    PrimaryKeyConstraint("gateway_account_id", "event_id", info={"what": "webhook event"}),
)

# The id is the feed's cursor. Writers take a transaction-level lock just before inserting (see outbox.py), so
# ids are handed out in commit order and a reader never skips a row committed later with a smaller id.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Cursor, primary_key=True, autoincrement=True),
    Column("type", String(128), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("data", Document, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status_code", Integer),
    Column("response_body", LargeBinary),
    Column("response_headers", Document),
    PrimaryKeyConstraint("caller", "key", info={"what": "idempotency key"}),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
