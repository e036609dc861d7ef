"""Idempotency-Key on every POST (API.md "Idempotency").

A record per (caller, key) is claimed in its own committed transaction before the request runs, so a second
request with the key sees it at once: while the first runs, 409 idempotency_key_in_use; afterwards, the first
answer (status and body) replayed with `Idempotent-Replayed: true`; with another body, 422
idempotency_key_reused. Answers worth replaying are 2xx and 4xx: the same request would get them again. A 5xx
or a crash releases the claim, so the client's retry runs the request afresh (the use cases' own gateway
idempotency keys make that safe).

It is an ASGI middleware rather than a handler dependency because it must capture the exact bytes of the
answer, including the problem+json of an error raised anywhere below it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from application.ports.repositories import IdempotencyRecord
from entrypoints.http.auth import caller_of
from entrypoints.http.headers import header_of
from entrypoints.http.limits import MAX_BODY_BYTES, read_body, send_problem

if TYPE_CHECKING:
    from entrypoints.container import Container

HEADER = "idempotency-key"
_HEADER_BYTES = HEADER.encode()
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# A claim this old with no answer belongs to a request that died (a crash, a killed worker): a retry takes over.
ABANDONED_AFTER = timedelta(minutes=5)
PURGE_EVERY_S = 3600.0
_KEPT_HEADERS = ("content-type", "location")

_log = logging.getLogger("hexpay.idempotency")


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two requests share a byte stream
        digest.update(part)
    return digest.hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self._last_purge = 0.0

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: a request without a key gets the inner app's awaitable as it is, so this layer adds no
        # frame to its awaits.
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            return self.app(scope, receive, send)
        key = header_of(scope, _HEADER_BYTES)
        if key is None:
            return self.app(scope, receive, send)
        return self._keyed(scope, receive, send, key)

    async def _keyed(self, scope: HTTPScope, receive: Receive, send: Send, key: str) -> None:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            await send_problem(send, 400, "validation_error", "Idempotency-Key must be 1-255 characters.",
                               field="Idempotency-Key")
            return
        caller = caller_of(scope)  # Authentication has already refused an unknown caller
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await send_problem(send, 413, "payload_too_large", "The request body is larger than 1 MiB.")
            return
        request_print = fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)
        now = self.container.clock().now()
        record = IdempotencyRecord(caller=caller, key=key, fingerprint=request_print, created_at=now)
        existing = await self._claim(record)
        if existing is not None:
            await self._answer_existing(existing, request_print, send)
            return
        await self._run(scope, _replaying(body, receive), send, caller, key)
        await self._maybe_purge(now)

    async def _claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        # Every step is one statement, atomic alone (an expired record released, then claimed again, may be
        # claimed by another caller in between: then theirs is the one found, as if they had come first).
        async with self.container.uow_factory().autocommit() as uow:
            existing = await uow.idempotency.claim(record)
            if existing is not None and self._expired(existing, record.created_at):
                await uow.idempotency.release(record.caller, record.key)
                existing = await uow.idempotency.claim(record)
            await uow.commit()
        return existing

    @staticmethod
    def _expired(existing: IdempotencyRecord, now: datetime) -> bool:
        age = now - _utc(existing.created_at)
        return age > RETENTION or (existing.status_code is None and age > ABANDONED_AFTER)

    async def _answer_existing(self, existing: IdempotencyRecord, request_print: str, send: Send) -> None:
        if existing.fingerprint != request_print:
            await send_problem(send, 422, "idempotency_key_reused",
                               "This Idempotency-Key was used with another request.")
            return
        if existing.status_code is None:
            await send_problem(send, 409, "idempotency_key_in_use",
                               "A request with this Idempotency-Key is still being processed.")
            return
        headers = [(k.encode(), v.encode()) for k, v in (existing.response_headers or {}).items()]
        headers.append((REPLAYED.lower().encode(), b"true"))
        body = existing.response_body or b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": existing.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _run(self, scope: Scope, receive: Receive, send: Send, caller: str, key: str) -> None:
        status = 0
        kept: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    lowered = name.decode("latin-1").lower()
                    if lowered in _KEPT_HEADERS:
                        kept[lowered] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Held back until the record is complete: a client that retries the moment it has the
                    # answer must find it stored (replayed), not still in flight (409).
                    final.append(message)
                    return
            await send(message)

        final: list[Message] = []
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await self._settle(caller, key, None, b"", {})
            raise
        await self._settle(caller, key, status if 200 <= status < 500 else None, b"".join(chunks), kept)
        for message in final:
            await send(message)

    async def _settle(self, caller: str, key: str, status: int | None, body: bytes, headers: dict[str, str]) -> None:
        try:
            async with self.container.uow_factory().autocommit() as uow:
                if status is None:
                    await uow.idempotency.release(caller, key)
                else:
                    await uow.idempotency.complete(caller, key, status, body, headers)
                await uow.commit()
        except Exception:
            # The answer has gone out; the claim stays in flight and expires after ABANDONED_AFTER.
            _log.exception("idempotency record %s could not be stored", "completed" if status else "released")

    async def _maybe_purge(self, now: datetime) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = time.monotonic()
        try:
            async with self.container.uow_factory()() as uow:
                await uow.idempotency.purge_older_than(now - RETENTION)
                await uow.commit()
        except Exception:
            _log.exception("purging old idempotency records failed")


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body already read, handed on once; then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


