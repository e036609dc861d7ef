"""bench.cpu_per_request calls the app straight through ASGI: the request must arrive whole and the status come
back, or the CPU it measures is not a request's."""

from __future__ import annotations

import msgspec
from litestar import Litestar, Request, post

from bench.cpu_per_request import DirectCall


@post("/echo/", status_code=201)
async def echo(request: Request[object, object, object]) -> dict[str, object]:
    body = msgspec.json.decode(await request.body())
    return {"body": body, "key": request.headers.get("idempotency-key")}


@post("/refuse/", status_code=201)
async def refuse() -> None:
    raise ValueError("refused")


async def test_a_direct_call_delivers_body_and_headers_and_returns_the_status() -> None:
    app = Litestar([echo, refuse], debug=False)
    call = DirectCall(app)
    seen: list[dict[str, object]] = []
    original = call.app

    async def watching(scope: dict[str, object], receive: object, send: object) -> None:
        async def spy(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                seen.append(msgspec.json.decode(message["body"]))  # type: ignore[arg-type]
            await send(message)  # type: ignore[operator]
        await original(scope, receive, spy)

    call.app = watching
    assert await call.post("/echo/", {"Idempotency-Key": "k-1"}, b'{"amount": 2500}') == 201
    assert seen == [{"body": {"amount": 2500}, "key": "k-1"}]
    assert await call.post("/refuse/", {}, b"") == 500
