"""The webhook inbox, idempotency records and the outbox feed: rows whose uniqueness is the whole point."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy.deferred_writes import DeferredWrite
from adapters.sqlalchemy.tables import idempotency_keys, outbox, webhook_inbox
from adapters.sqlalchemy.transaction import SqlTransaction
from application.ports.repositories import IdempotencyRecord, InboxEntry, StoredEvent
from application.ports.secret_box import SecretBox
from domain.errors import NotFound

TransactionSource = Callable[[], SqlTransaction]


@functools.cache
def _insert_or_skip(is_postgres: bool, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent insert of the same key waits for the first to commit,
    then inserts nothing (or goes on if the first rolled back). Exactly one of many gets a row.
    Built once per dialect and table, executed with the row as parameters."""
    dialect_insert: Any = postgresql.insert if is_postgres else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing()


# Statements built once (SQLAlchemy then skips their construction and cache key on every request).
_EVENT = (webhook_inbox.c.gateway_account_id == bindparam("match_account_id"),
          webhook_inbox.c.event_id == bindparam("match_event_id"))
_GET_EVENT = select(webhook_inbox).where(*_EVENT)
_KEY = (idempotency_keys.c.caller == bindparam("match_caller"), idempotency_keys.c.key == bindparam("match_key"))
_GET_RECORD = select(idempotency_keys).where(*_KEY)
_COMPLETE = update(idempotency_keys).where(*_KEY)
_RELEASE = delete(idempotency_keys).where(*_KEY)
_FEED_PAGE = select(outbox).where(outbox.c.id > bindparam("after")).order_by(outbox.c.id).limit(
    bindparam("page_limit"))


# The claim and, for a duplicate, the first delivery's outcome in one statement (Postgres): no row when this
# statement stored the event, one for a duplicate. Its SELECT sees the statement's snapshot, taken before the
# INSERT waited on a delivery of the same event still in flight: a duplicate whose first delivery committed during
# that wait finds no stored row there (found is false), and is read again (get()).
_CLAIM = text(
    "WITH claimed AS ("
    "INSERT INTO webhook_inbox (gateway_account_id, event_id, type, received_at, outcome, payment_id) "
    "VALUES (:gateway_account_id, :event_id, :type, :received_at, :outcome, :payment_id) "
    "ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT stored.event_id IS NOT NULL AS found, stored.outcome "
    "FROM (SELECT 1) AS one LEFT JOIN webhook_inbox AS stored "
    "ON stored.gateway_account_id = :match_account_id AND stored.event_id = :match_event_id "
    "WHERE NOT EXISTS (SELECT 1 FROM claimed)"
).bindparams(bindparam("received_at", type_=webhook_inbox.c.received_at.type))


class SqlAlchemyWebhookInbox:
    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx

    async def claim(self, entry: InboxEntry) -> tuple[bool, str | None]:
        tx = self._tx()
        if not tx.is_postgres:  # SQLite has no INSERT inside WITH: two statements
            return (True, None) if await self.record(entry) else (False, await self._outcome_of(entry))
        row = (await tx.execute(_CLAIM, {
            "gateway_account_id": entry.gateway_account_id, "event_id": entry.event_id, "type": entry.type,
            "received_at": entry.received_at, "outcome": entry.outcome, "payment_id": entry.payment_id,
            "match_account_id": entry.gateway_account_id, "match_event_id": entry.event_id})).mappings().first()
        if row is None:
            return True, None
        # Not found: the first delivery committed during the INSERT's wait, after the statement's snapshot.
        return False, row["outcome"] if row["found"] else await self._outcome_of(entry)

    async def _outcome_of(self, entry: InboxEntry) -> str | None:
        stored = await self.get(entry.gateway_account_id, entry.event_id)
        return stored.outcome if stored is not None else None

    async def record(self, entry: InboxEntry) -> bool:
        tx = self._tx()
        row = {"gateway_account_id": entry.gateway_account_id, "event_id": entry.event_id, "type": entry.type,
               "received_at": entry.received_at, "outcome": entry.outcome, "payment_id": entry.payment_id}
        return (await tx.execute(_insert_or_skip(tx.is_postgres, webhook_inbox), row)).rowcount == 1

    async def set_outcome(self, gateway_account_id: str, event_id: str, outcome: str, payment_id: str | None) -> None:
        """Postgres: held until commit with the settlement's writes (deferred_writes.py), NotFound coming then."""
        await self._tx().write_row((webhook_inbox.name, gateway_account_id, event_id), DeferredWrite(
            webhook_inbox, False, {"outcome": outcome, "payment_id": payment_id},
            functools.partial(NotFound, f"no webhook event {event_id} for {gateway_account_id}"),
            {"gateway_account_id": gateway_account_id, "event_id": event_id}))

    async def get(self, gateway_account_id: str, event_id: str) -> InboxEntry | None:
        row = (await self._tx().execute(_GET_EVENT, {"match_account_id": gateway_account_id,
                                                      "match_event_id": event_id})).mappings().first()
        return None if row is None else InboxEntry(**row)


class SqlAlchemyEventFeed:
    def __init__(self, tx: TransactionSource) -> None:
        self._tx = tx

    async def list_after(self, cursor: str | None, limit: int) -> list[StoredEvent]:
        after = int(cursor) if cursor else 0
        rows = (await self._tx().execute(_FEED_PAGE, {"after": after, "page_limit": limit})).mappings()
        return [StoredEvent(id=str(r["id"]), type=r["type"], occurred_at=r["occurred_at"], data=r["data"])
                for r in rows]


class SqlAlchemyIdempotencyRecords:
    """Stored answers are sealed: an intent's answer carries its client_secret, kept here for 24 hours."""

    def __init__(self, tx: TransactionSource, box: SecretBox) -> None:
        self._tx = tx
        self._box = box

    def _seal(self, body: bytes | None) -> bytes | None:
        # Binary and not remembered by the box: an answer is sealed once and opened only if its key comes again.
        return None if body is None else self._box.seal_bytes(body)

    def _open(self, sealed: bytes | None) -> bytes | None:
        if sealed is None:
            return None
        try:
            return self._box.open_bytes(bytes(sealed))
        except ValueError:
            # Stored before seal_bytes: a text token of the answer in base64. Records live 24 hours, so this path
            # has nothing left to open a day after the upgrade.
            return base64.b64decode(self._box.open(bytes(sealed).decode("ascii", errors="replace")))

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        tx = self._tx()
        row = {"caller": record.caller, "key": record.key, "fingerprint": record.fingerprint,
               "created_at": record.created_at, "status_code": record.status_code,
               "response_body": self._seal(record.response_body), "response_headers": record.response_headers}
        if (await tx.execute(_insert_or_skip(tx.is_postgres, idempotency_keys), row)).rowcount == 1:
            return None
        found = (await tx.execute(_GET_RECORD, {"match_caller": record.caller, "match_key": record.key})
                 ).mappings().first()
        if found is None:  # released between our insert and this read: try once more
            return await self.claim(record)
        return IdempotencyRecord(**{**found, "response_body": self._open(found["response_body"])})

    async def complete(self, caller: str, key: str, status_code: int, body: bytes, headers: dict[str, str]) -> None:
        result = await self._tx().execute(_COMPLETE, {
            "status_code": status_code, "response_body": self._seal(body), "response_headers": dict(headers),
            "match_caller": caller, "match_key": key})
        if result.rowcount != 1:
            raise NotFound(f"no idempotency record {key}")

    async def release(self, caller: str, key: str) -> None:
        await self._tx().execute(_RELEASE, {"match_caller": caller, "match_key": key})

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self._tx().execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff))
        return int(result.rowcount)
