"""bench.cpu_per_request calls the app straight through ASGI: the request must arrive whole and the status and
answer come back, or the CPU it measures is not a request's."""

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


async def test_a_direct_call_delivers_body_and_headers_and_returns_status_and_answer() -> None:
    call = DirectCall(Litestar([echo, refuse], debug=False))
    answer = await call.post("/echo/", {"Idempotency-Key": "k-1"}, b'{"amount": 2500}')
    assert answer == (201, {"body": {"amount": 2500}, "key": "k-1"})
    status, problem = await call.post("/refuse/", {}, b"")
    assert status == 500 and problem["status_code"] == 500
