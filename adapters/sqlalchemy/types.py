"""Column types that keep the database's quirks out of the mapping code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """TIMESTAMPTZ on Postgres; on SQLite (no time zones) the UTC wall time. Always an aware UTC datetime back.

    A naive datetime is refused: guessing its zone is how a payment ends up an hour off."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: hexpay stores aware UTC timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# Minor units: a bigint (an 8-digit Stripe maximum fits an int, but a sum of refunds in a 0-decimal currency may not).
MinorUnits = BigInteger

# Postgres's binary JSON; plain JSON text elsewhere.
Document = JSON().with_variant(JSONB(), "postgresql")

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid), so the outbox's BIGINT id is an INTEGER there.
Cursor = BigInteger().with_variant(Integer(), "sqlite")
