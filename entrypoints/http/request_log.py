"""The outermost layer of every request: its id, its log line and its metrics.

The line carries the route template (not the path: ids in paths would make every line unique and every metric
label a new series), the method, the status and the duration; never headers, query string or body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import threading
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.headers import header_of
from entrypoints.http.logs import FIELDS, VOUCHED
from entrypoints.http.metrics import HttpMetrics

REQUEST_ID = "x-request-id"
_REQUEST_ID_BYTES = REQUEST_ID.encode()
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
UNMATCHED = "unmatched"
_LINE_FIELDS = ("request_id", "method", "route", "status", "duration_ms")
# Methods an HTTP parser hands over as they are; any other method name came from the caller as text.
_STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

_log = logging.getLogger("hexpay.http")


class _LineRecords:
    """The request line's LogRecords, each a copy of one made by LogRecord itself with the clock (and, on Python
    3.12+, the task's name) set anew: LogRecord.__init__ works out the same file, module, thread and process names
    for every line (with makeRecord, about 400 bytecodes a request: a twentieth of a webhook delivery's), and on
    the thread that serves requests none of them changes. A logging set up with its own record factory gets its
    records from that factory (or its Logger class's makeRecord), as before."""

    def __init__(self) -> None:
        self._fixed: dict[str, Any] = {}
        self._thread = -1
        os.register_at_fork(after_in_child=self._forget)  # a forked worker is another process, with its own pid

    def _forget(self) -> None:
        self._fixed, self._thread = {}, -1

    def make(self, extra: dict[str, Any]) -> logging.LogRecord:
        if logging.getLogRecordFactory() is not logging.LogRecord or type(_log).makeRecord is not _MAKE_RECORD:
            return _log.makeRecord(_log.name, logging.INFO, __file__, 0, "request", (), None, extra=extra)
        if self._thread != threading.get_ident():
            made = logging.LogRecord(_log.name, logging.INFO, __file__, 0, "request", (), None)
            self._fixed = {k: v for k, v in vars(made).items() if k not in ("created", "msecs", "relativeCreated")}
            self._thread = made.thread or -1
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(self._fixed)
        created = time.time()  # as LogRecord.__init__ sets its three clock fields
        fields["created"] = created
        fields["msecs"] = int((created - int(created)) * 1000) + 0.0
        fields["relativeCreated"] = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
        if "taskName" in fields:  # Python 3.12+: the task that served the request
            task = asyncio.current_task() if getattr(logging, "logAsyncioTasks", False) else None
            fields["taskName"] = None if task is None else task.get_name()
        fields.update(extra)
        return record


_MAKE_RECORD = logging.Logger.makeRecord
_line_records = _LineRecords()


def request_id_of(scope: Scope) -> tuple[str, bool]:
    """The caller's X-Request-Id when it is a sane token (so traces join up across services), else a new one; and
    whether the caller chose it."""
    text = header_of(scope, _REQUEST_ID_BYTES)
    if text is not None and _VALID_ID.match(text):
        return text, True
    return secrets.token_hex(16), False  # 32 hex digits, as uuid4().hex gave, without building a UUID (2 us)


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id, caller_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before answering

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (_REQUEST_ID_BYTES, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = scope["method"]
            self.metrics.observe_request(method, route, status, seconds)
            if _log.isEnabledFor(logging.INFO):
                # Only text the caller chose is redacted (logs.VOUCHED): the request id when the caller sent it (one
                # made here is hex), the method when no HTTP parser would have produced it.
                redact: tuple[str, ...] = ("request_id",) if caller_id else ()
                if method not in _STANDARD_METHODS:
                    redact += ("method",)
                # The route is a template, the status and duration numbers. The formatter takes the line's fields by
                # name instead of scanning the record (logs.FIELDS; with the redaction, two thirds of the line's CPU).
                # Made and handled directly: Logger.info would first walk the stack for a file and line the JSON
                # line does not carry.
                _log.handle(_line_records.make({
                    "request_id": request_id, "method": method, "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 2), FIELDS: _LINE_FIELDS,
                    VOUCHED: redact}))
