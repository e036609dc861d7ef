"""CPU per request of hexpay in this process, for an A/B of a change too small for the loaded bench to tell from
its noise: `python -m bench.cpu_per_request --requests 1500` prints the user and system CPU per create payment.

The real app (uvloop, Postgres, the sandbox gateway, production settings) is called straight through ASGI, one
request after another, so nothing else competes for this process: no HTTP server, no load client, no other
request's work. Its figure is not the bench's (no HTTP parsing, no batching of concurrent requests) but the
difference between two trees is the difference in hexpay's own work. To compare, run it from two checkouts in
turn, A B A B A B (`git worktree add ../old HEAD~1`, then `cd ../old && python -m bench.cpu_per_request`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import uvloop

from adapters.sqlalchemy import upgrade_to_head
from bench import target
from bench.inprocess import InProcessHexpay, in_process_hexpay
from bench.secrets import BenchSecrets

DATABASE = "hexpay_bench_cpu"
SHOPPERS = 200
WARM_UP = 100


class DirectCall:
    """One POST through the app's ASGI callable, without an HTTP client (httpx's ASGI transport would cost more
    CPU per request than the difference being measured)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @classmethod
    def into(cls, hexpay: InProcessHexpay) -> DirectCall:
        return cls(hexpay.http._transport.app)  # type: ignore[attr-defined]  # the ASGITransport's app

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in
                             {**headers, "content-length": str(len(body)), "host": "127.0.0.1"}.items()],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


async def measure(requests: int) -> dict[str, float]:
    chosen = await target.choose()
    chosen.database = DATABASE
    await target.create_database(chosen)
    try:
        await asyncio.to_thread(upgrade_to_head, chosen.url())
        async with in_process_hexpay(chosen.url(), BenchSecrets(), recording=False) as hexpay:
            gateway_id = await hexpay.register_gateway()
            cards = {f"shopper-{n}": await hexpay.save_card(f"shopper-{n}", gateway_id) for n in range(SHOPPERS)}
            orders = [(reference, await hexpay.order(reference))
                      for n in range(requests + WARM_UP) for reference in [f"shopper-{n % SHOPPERS}"]]
            call = DirectCall.into(hexpay)

            async def create(reference: str, order_id: str) -> None:
                body = json.dumps({"order_id": order_id, "gateway_id": gateway_id,
                                   "payment_method_id": cards[reference]}).encode()
                headers = {**hexpay.shopper(reference), "Idempotency-Key": uuid.uuid4().hex,
                           "Content-Type": "application/json"}
                status = await call.post("/api/store/payments/intent/", headers, body)
                if status != 201:
                    raise SystemExit(f"create payment answered {status}")

            for reference, order_id in orders[:WARM_UP]:
                await create(reference, order_id)
            before, started = os.times(), time.perf_counter()
            for reference, order_id in orders[WARM_UP:]:
                await create(reference, order_id)
            after, ended = os.times(), time.perf_counter()
    finally:
        await target.drop_database(chosen)
    return {"requests": requests,
            "user_us": 1e6 * (after.user - before.user) / requests,
            "system_us": 1e6 * (after.system - before.system) / requests,
            "wall_us": 1e6 * (ended - started) / requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="create payments measured (after 100 warm-up)")
    options = parser.parse_args()
    result = uvloop.run(measure(options.requests))
    print(f"create payment, in process: {result['user_us'] + result['system_us']:,.0f} us CPU per request "
          f"(user {result['user_us']:,.0f}, system {result['system_us']:,.0f}; wall {result['wall_us']:,.0f}) "
          f"over {options.requests} requests")


if __name__ == "__main__":
    main()
