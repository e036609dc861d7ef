"""The 1 MiB ceiling on request bodies, and problem answers sent straight from ASGI code (outside Litestar's
exception handling)."""

from __future__ import annotations

from collections.abc import Awaitable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.http.problems import PROBLEM_JSON, FieldError, problem_body

MAX_BODY_BYTES = 1024 * 1024


async def send_problem(send: Send, status: int, code: str, detail: str, *, field: str | None = None) -> None:
    errors = [FieldError(field=field, message=detail)] if code == "validation_error" else None
    body = problem_body(status, code, detail, errors=errors)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class BodyLimit:
    """Refuses a declared Content-Length over the limit before any routing or reading. A body without a length
    (chunked) is counted where it is read: Litestar's request_max_body_size and the idempotency layer."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the inner app's awaitable (or the refusal's) is handed back, so this layer adds no frame
        # to the request's awaits.
        if scope["type"] == ScopeType.HTTP:
            for name, value in scope["headers"]:
                if name.lower() == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        return send_problem(send, 400, "validation_error", "Content-Length is not a number.",
                                            field="Content-Length")
                    if declared > self.limit:
                        return send_problem(send, 413, "payload_too_large", "The request body is larger than 1 MiB.")
        return self.app(scope, receive, send)
