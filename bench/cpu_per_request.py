"""CPU per request of hexpay in this process, for an A/B of a change too small for the loaded bench to tell from
its noise: `python -m bench.cpu_per_request --requests 1500` prints the user and system CPU per create payment;
`--scenario confirm_payment` per confirm of a payment opened with the shopper's saved card (it succeeds and pays its
order and invoice); `--scenario webhook` per webhook delivery (the sandbox's own events for payments the shopper
confirmed in the browser, as Stripe.js does: each moves a payment to succeeded and pays its order and invoice).

The real app (uvloop, Postgres, the sandbox gateway, production settings and garbage-collector tuning, a JSON log
line per request written to /dev/null) is called straight through ASGI, one request after another (or N at once
with `--concurrency N`), so nothing else competes for this process: no HTTP server, no load client. Its figure is
not the bench's (no HTTP parsing; one at a time, no batching of concurrent requests either) but the difference
between two trees is the difference in hexpay's own work. To compare, run it from two checkouts in turn,
A B A B A B (`git worktree add ../old HEAD~1`, then `cd ../old && python -m bench.cpu_per_request`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvloop
from sqlalchemy.engine import make_url

from adapters.sqlalchemy import upgrade_to_head
from bench import bytecodes, instructions, target
from bench.inprocess import InProcessHexpay, in_process_hexpay
from bench.secrets import BenchSecrets
from entrypoints.http.asgi import tune_garbage_collector
from entrypoints.http.logs import configure_logging

DATABASE = "hexpay_bench_cpu"
_MEASURED = "requests measured: "
SHOPPERS = 200
WARM_UP = 100

Window = Callable[[], contextlib.AbstractContextManager[Any]]  # entered around the measured requests alone


class DirectCall:
    """One POST through the app's ASGI callable, without an HTTP client (httpx's ASGI transport would cost more
    CPU per request than the difference being measured)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """The status and the decoded JSON answer (None when it has none)."""
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in
                             {**headers, "content-length": str(len(body)), "host": "127.0.0.1"}.items()],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status, answer = 0, bytearray()

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, json.loads(answer) if answer else None


@contextlib.contextmanager
def production_logging(secrets: BenchSecrets) -> Iterator[None]:
    """The JSON log lines at INFO, redacted, written as `hexpay serve` writes them (one per request), to /dev/null
    instead of a terminal; the app built in process has no handler of its own."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with open(os.devnull, "w") as sink:
        with contextlib.redirect_stderr(sink):  # the handler takes the stream that is stderr at this moment
            configure_logging("INFO", (secrets.admin_token, secrets.jwt_secret, secrets.secret_key))
        try:
            yield
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)


@contextlib.contextmanager
def production_collector() -> Iterator[None]:
    """The garbage collector as `hexpay serve` tunes it once the app is built (startup objects frozen, the first
    generation collected every 5,000 allocations), put back afterwards for whoever runs this in their process."""
    thresholds = gc.get_threshold()
    tune_garbage_collector()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def paid_in_the_browser(hexpay: InProcessHexpay, gateway_id: str,
                               created: list[dict[str, Any]]) -> list[tuple[dict[str, str], bytes]]:
    """Each payment confirmed at the sandbox with its client secret alone (what Stripe.js does), so hexpay learns of
    the success only from the webhook; the sandbox's signed events for it, oldest first."""
    hexpay.network.drain_webhooks(gateway_id)  # the creations' events: not what is measured
    for payment in created:
        card = hexpay.network.tokenize("4242424242424242", 12, 2034, "123")  # a card form, once per payment
        hexpay.network.confirm_from_browser(payment["gateway_payment_id"], payment["client_secret"], card)
    return [(dict(headers), body) for body, headers in hexpay.network.drain_webhooks(gateway_id)]


async def _deliver(call: DirectCall, gateway_id: str, headers: dict[str, str], body: bytes) -> None:
    status, answer = await call.post(f"/api/store/payments/callback/{gateway_id}", headers, body)
    if status != 200 or answer.get("duplicate"):
        raise SystemExit(f"webhook answered {status}: {answer}")


async def measure(requests: int, scenario: str = "create_payment", server_url: str | None = None,
                  database: str = DATABASE, window: Window = contextlib.nullcontext,
                  concurrency: int = 1) -> dict[str, float]:
    """server_url: a Postgres server to create the scratch database on (default: as `make bench` chooses);
    window: entered around the measured requests alone (the instruction count switches callgrind on in it)."""
    chosen = target.Target(make_url(server_url)) if server_url else await target.choose()
    chosen.database = database
    await target.create_database(chosen)
    try:
        await asyncio.to_thread(upgrade_to_head, chosen.url())
        secrets = BenchSecrets()
        with production_logging(secrets):
            async with in_process_hexpay(chosen.url(), secrets, recording=False) as hexpay:
                with production_collector():
                    return await _measure_on(hexpay, requests, scenario, window, concurrency)
    finally:
        await target.drop_database(chosen)


async def _send(steps: list[Callable[[], Awaitable[Any]]], concurrency: int) -> None:
    """The steps in order, `concurrency` of them in flight at a time (as many clients each waiting for its answer
    before sending the next)."""
    pending = iter(steps)

    async def client() -> None:
        for step in pending:
            await step()

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def _measure_on(hexpay: InProcessHexpay, requests: int, scenario: str,
                      window: Window, concurrency: int = 1) -> dict[str, float]:
    gateway_id = await hexpay.register_gateway()
    cards = {f"shopper-{n}": await hexpay.save_card(f"shopper-{n}", gateway_id) for n in range(SHOPPERS)}
    orders = [(reference, await hexpay.order(reference))
              for n in range(requests + WARM_UP) for reference in [f"shopper-{n % SHOPPERS}"]]
    # One token per shopper for the whole run, as the load client holds them (bench.run): a token made per request
    # would measure PyJWT's encoding here and a verification there that a storefront's session does not repeat.
    authorization = {reference: hexpay.shopper(reference) for reference in cards}
    # Each token used once before the window, as the bench's load client has used its tokens by the time it
    # measures: hexpay checks a token's signature on its first use only (entrypoints/http/auth.py), and the warm-up
    # alone reaches the first WARM_UP shoppers, so half the measured creates would otherwise pay for a first use.
    for headers in authorization.values():
        await hexpay.call("GET", "/api/v1/me/payment-methods/", headers=headers, expect=200)
    call = DirectCall(hexpay.app)

    async def create(reference: str, order_id: str) -> dict[str, Any]:
        body = json.dumps({"order_id": order_id, "gateway_id": gateway_id,
                           "payment_method_id": cards[reference]}).encode()
        headers = {**authorization[reference], "Idempotency-Key": uuid.uuid4().hex,
                   "Content-Type": "application/json"}
        status, answer = await call.post("/api/store/payments/intent/", headers, body)
        if status != 201 or not isinstance(answer, dict):
            raise SystemExit(f"create payment answered {status}")
        return answer

    async def confirm(reference: str, payment: dict[str, Any]) -> None:
        headers = {**authorization[reference], "Idempotency-Key": uuid.uuid4().hex}
        status, answer = await call.post(f"/api/store/payments/{payment['payment_id']}/confirm/", headers, b"")
        if status != 200 or answer.get("status") != "succeeded":
            raise SystemExit(f"confirm payment answered {status}: {answer}")

    # Each scenario: its requests, each a call; the first WARM_UP are sent before the measured window.
    steps: list[Callable[[], Awaitable[Any]]]
    if scenario == "confirm_payment":
        opened = [(reference, await create(reference, order_id)) for reference, order_id in orders]
        steps = [functools.partial(confirm, reference, payment) for reference, payment in opened]
    elif scenario == "webhook":
        created = [await create(reference, order_id) for reference, order_id in orders]
        deliveries = await paid_in_the_browser(hexpay, gateway_id, created)
        steps = [functools.partial(_deliver, call, gateway_id, headers, body) for headers, body in deliveries]
    else:
        steps = [functools.partial(create, reference, order_id) for reference, order_id in orders]
    await _send(steps[:WARM_UP], concurrency)  # at the same concurrency: the connections it needs are opened here
    measured = steps[WARM_UP:]
    with window():
        before, started = os.times(), time.perf_counter()
        await _send(measured, concurrency)
        after, ended = os.times(), time.perf_counter()
    return {"requests": len(measured),
            "user_us": 1e6 * (after.user - before.user) / len(measured),
            "system_us": 1e6 * (after.system - before.system) / len(measured),
            "wall_us": 1e6 * (ended - started) / len(measured)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, help="payments created (after 100 warm-up); default 1,500, or 200 "
                        "with --instructions")
    parser.add_argument("--scenario", choices=("create_payment", "confirm_payment", "webhook"),
                        default="create_payment")
    parser.add_argument("--database", default=DATABASE,
                        help="the scratch database's name (created and dropped; two runs at once need two names)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="requests in flight at once (default 1: one after another)")
    parser.add_argument("--instructions", action="store_true",
                        help="count the instructions per request under valgrind instead (bench/instructions.py)")
    parser.add_argument("--bytecodes", type=int, metavar="TOP", default=0,
                        help="count the Python bytecodes per request instead and print the TOP files and functions "
                             "that ran the most (bench/bytecodes.py; default 200 requests)")
    options = parser.parse_args()
    requests = options.requests or (200 if options.instructions or options.bytecodes else 1500)
    if options.bytecodes:
        counts = bytecodes.Counts()
        result = uvloop.run(measure(requests, options.scenario, database=options.database, window=counts.counting,
                                    concurrency=options.concurrency))
        print(f"{options.scenario}, in process: {counts.report(int(result['requests']), options.bytecodes)}")
        return
    if options.instructions and not instructions.under_callgrind():
        counted, printed = instructions.count("bench.cpu_per_request", [
            "--instructions", "--requests", str(requests), "--scenario", options.scenario,
            "--database", options.database, "--concurrency", str(options.concurrency)])
        measured = int(printed.split(_MEASURED)[-1].split()[0])  # a webhook run delivers what the payments sent
        print(f"{options.scenario}, in process: {counted / measured:,.0f} instructions per request "
              f"over {measured:,} requests")
        return
    window = instructions.counted if options.instructions else contextlib.nullcontext
    result = uvloop.run(measure(requests, options.scenario, database=options.database, window=window,
                                concurrency=options.concurrency))
    if options.instructions:
        print(f"{_MEASURED}{result['requests']:.0f}")  # for the parent; CPU times under valgrind say nothing
        return
    print(f"{options.scenario}, in process: {result['user_us'] + result['system_us']:,.0f} us CPU per request "
          f"(user {result['user_us']:,.0f}, system {result['system_us']:,.0f}; wall {result['wall_us']:,.0f}) "
          f"over {result['requests']:,.0f} requests")


if __name__ == "__main__":
    main()
