"""bench.cpu_per_request calls the app straight through ASGI: the request must arrive whole and the status and
answer come back, or the CPU it measures is not a request's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, post

from bench.cpu_per_request import DirectCall, _send


@post("/echo/", status_code=201)
async def echo(request: Request[Any, Any, Any]) -> dict[str, object]:
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


# _send: the steps in order, never more than `concurrency` of them in flight.
@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_every_step_runs_once_in_order_with_at_most_concurrency_in_flight(concurrency: int) -> None:
    started: list[int] = []
    in_flight = peak = 0

    def step(n: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal in_flight, peak
            started.append(n)
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            in_flight -= 1
        return run

    await _send([step(n) for n in range(20)], concurrency)
    assert started == list(range(20))
    assert peak == concurrency
