"""The request log line: its five fields, taken by name, and only the text a caller chose sent through the
redactor (a request id the caller sent, a method no HTTP parser would have produced). Driven through the ASGI
layer itself, with the production formatter on a captured stream."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from entrypoints.http.logs import FIELDS, MASK, VOUCHED, JsonFormatter, Redactor
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.request_log import RequestObserver


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What hexpay.http writes, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(("a-configured-secret-value",))))
    logger = logging.getLogger("hexpay.http")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _one_line(log: io.StringIO) -> dict[str, Any]:
    (line,) = [json.loads(text) for text in log.getvalue().splitlines()]
    return line  # type: ignore[no-any-return]


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    scope["path_template"] = "/things/{id}"
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _request(method: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    answered: list[tuple[bytes, bytes]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answered.extend(message["headers"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    observer = RequestObserver(_answer, HttpMetrics())
    await observer({"type": "http", "method": method, "path": "/things/1", "headers": headers}, receive, send)
    return answered


async def test_a_line_carries_exactly_its_fields_and_a_made_id_as_it_is(log: io.StringIO) -> None:
    answered = await _request("GET", [])
    made_id = dict(answered)[b"x-request-id"].decode()
    line = _one_line(log)
    assert set(line) == {"ts", "level", "logger", "message", "request_id", "method", "route", "status",
                         "duration_ms"}
    assert (line["request_id"], line["method"], line["route"], line["status"]) == (made_id, "GET", "/things/{id}",
                                                                                   204)
    assert len(made_id) == 32 and int(made_id, 16) >= 0


@pytest.mark.parametrize(("method", "request_id", "masked"), [
    ("POST", b"whsec_" + b"y" * 20, "request_id"),  # a caller's id, secret-shaped
    ("POST", b"a-configured-secret-value", "request_id"),
    ("sk_live_abc123", b"trace-1", "method"),  # no HTTP parser makes this method: it is the caller's text
])
async def test_what_the_caller_chose_is_redacted(log: io.StringIO, method: str, request_id: bytes,
                                                 masked: str) -> None:
    await _request(method, [(b"x-request-id", request_id)])
    line = _one_line(log)
    assert line[masked] == MASK
    other = {"request_id": "method", "method": "request_id"}[masked]
    assert line[other] == (method if other == "method" else request_id.decode())


async def test_a_record_without_named_fields_is_still_scanned(log: io.StringIO) -> None:
    logging.getLogger("hexpay.http").info("other", extra={"order_id": "ord_1", "amount": 2500})
    line = _one_line(log)
    assert (line["message"], line["order_id"], line["amount"]) == ("other", "ord_1", 2500)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """The request lines' records themselves, as any handler of the logger receives them."""
    handler = _Records()
    logger = logging.getLogger("hexpay.http")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


_NOT_COMPARED = ("created", "msecs", "relativeCreated", "message", "asctime")  # the clock; what formatters add


async def test_a_line_record_has_every_attribute_logging_itself_gives_it(
        records: list[logging.LogRecord]) -> None:
    # Lines are copies of one record made by LogRecord itself: a handler of the user's must find the same
    # attributes, with the same values, as in a record made by makeRecord for the same line.
    await _request("GET", [])
    await _request("GET", [])
    first, second = records
    made = logging.getLogger("hexpay.http").makeRecord(
        "hexpay.http", logging.INFO, first.pathname, 0, "request", (), None,
        extra={k: getattr(first, k) for k in ("request_id", "method", "route", "status", "duration_ms", FIELDS,
                                               VOUCHED)})
    assert {k: v for k, v in vars(first).items() if k not in _NOT_COMPARED} == {
        k: v for k, v in vars(made).items() if k not in _NOT_COMPARED}
    assert first.levelname == "INFO" and first.module == "request_log" and first.process == made.process
    assert first is not second and first.created <= second.created
    assert first.msecs == int((first.created - int(first.created)) * 1000)


async def test_a_line_served_on_another_thread_names_that_thread(records: list[logging.LogRecord]) -> None:
    await _request("GET", [])

    def elsewhere() -> None:
        asyncio.run(_request("GET", []))

    thread = threading.Thread(target=elsewhere, name="another-loop")
    thread.start()
    thread.join()
    await _request("GET", [])
    assert [r.threadName for r in records] == [threading.current_thread().name, "another-loop",
                                               threading.current_thread().name]
    assert records[1].thread == thread.ident


async def test_a_record_factory_of_the_users_makes_the_line(records: list[logging.LogRecord]) -> None:
    made_by_factory: list[logging.LogRecord] = []
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.tenant = "shop-1"
        made_by_factory.append(record)
        return record

    logging.setLogRecordFactory(factory)
    try:
        await _request("GET", [])
    finally:
        logging.setLogRecordFactory(previous)
    assert records == made_by_factory
    assert vars(records[0])["tenant"] == "shop-1" and vars(records[0])["status"] == 204


async def test_a_logger_class_of_the_users_makes_the_line(records: list[logging.LogRecord],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # A Logger subclass whose makeRecord adds to each record (logging.setLoggerClass) still makes the line.
    logger = logging.getLogger("hexpay.http")

    class Tagging(logging.Logger):
        def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
            record = super().makeRecord(*args, **kwargs)
            record.tagged = True
            return record

    monkeypatch.setattr(logger, "__class__", Tagging)
    await _request("GET", [])
    assert vars(records[0]).get("tagged") is True and vars(records[0])["status"] == 204


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_process_names_its_own_pid(records: list[logging.LogRecord]) -> None:
    asyncio.run(_request("GET", []))  # the parent's copy is made (no event loop runs here: the child starts one)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: one line through the same observer, its record's pid written back
        try:
            os.close(reader)
            records.clear()
            asyncio.run(_request("GET", []))
            os.write(writer, f"{records[0].process} {os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        in_record, actual = answer.read().split()
    os.waitpid(child, 0)
    assert in_record == actual != str(os.getpid())
    assert records[0].process == os.getpid()
