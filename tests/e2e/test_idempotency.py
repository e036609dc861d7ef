"""Idempotency-Key on POSTs: replays, reuse with another body, in flight, per caller, 5xx released, expiry."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dependency_injector import providers

from adapters.clock import FixedClock
from application.ports.repositories import IdempotencyRecord
from application.use_cases.reconcile import ReconcileResult
from entrypoints.http.idempotency import fingerprint
from tests.e2e.client import ADMIN_TOKEN, Hexpay, assert_problem

ORDER = {"customer": {"reference": "alice"}, "currency": "usd",
         "lines": [{"description": "Tea", "quantity": 1, "unit_amount": 500}]}


async def test_same_key_same_body_replays_the_first_answer(any_db_api: Hexpay) -> None:
    api = any_db_api
    first = await api.admin.post("/api/v1/admin/orders/", ORDER, key="order-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await api.admin.post("/api/v1/admin/orders/", ORDER, key="order-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content and again.headers["content-type"] == first.headers["content-type"]
    assert (await api.event_types()).count("OrderCreated") == 1

    reused = await api.admin.post("/api/v1/admin/orders/", {**ORDER, "currency": "eur"}, key="order-1")
    assert_problem(reused, 422, "idempotency_key_reused")
    elsewhere = await api.admin.post("/api/v1/admin/reconcile/", key="order-1")  # another path is another request
    assert_problem(elsewhere, 422, "idempotency_key_reused")
    assert (await api.event_types()).count("OrderCreated") == 1


async def test_a_4xx_answer_is_replayed_too(api: Hexpay) -> None:
    bad = {**ORDER, "currency": "xyz"}
    first = await api.admin.post("/api/v1/admin/orders/", bad, key="bad-1")
    assert_problem(first, 400, "validation_error")
    again = await api.admin.post("/api/v1/admin/orders/", bad, key="bad-1")
    assert again.status_code == 400 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def test_in_flight_is_409(api: Hexpay) -> None:
    async with api.container.uow_factory()() as uow:
        print_ = fingerprint("POST", "/api/v1/admin/reconcile", b"", b"")  # the routed path: no trailing slash
        await uow.idempotency.claim(IdempotencyRecord(caller="admin", key="busy", fingerprint=print_,
                                                      created_at=datetime.now(UTC)))
        await uow.commit()
    assert_problem(await api.admin.post("/api/v1/admin/reconcile/", key="busy"), 409, "idempotency_key_in_use")
    # A claim left by a request that died (no answer after 5 minutes) is taken over by the retry.
    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=6))
    api.container.clock.override(providers.Object(clock))
    assert (await api.admin.post("/api/v1/admin/reconcile/", key="busy")).status_code == 200


async def test_concurrent_requests_with_one_key_create_one_order(api: Hexpay) -> None:
    answers = await asyncio.gather(*(api.admin.post("/api/v1/admin/orders/", ORDER, key="race") for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "idempotency_key_in_use")
    assert (await api.event_types()).count("OrderCreated") == 1


async def test_keys_are_per_caller(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    orders = {who: await api.order(who) for who in ("ann", "ben")}
    for who, order in orders.items():
        answer = await api.shopper(who).post("/api/store/payments/intent/",
                                              {"order_id": order["id"], "gateway_id": gateway["id"]}, key="same-key")
        assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers
        assert answer.json()["order_id"] == order["id"]


async def test_a_5xx_releases_the_key(api: Hexpay) -> None:
    calls: list[int] = []

    class FlakyReconcile:
        async def __call__(self, *_: Any) -> ReconcileResult:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("database went away: postgresql://user:hunter2@db/x")
            return ReconcileResult(checked=0, changed=0)

    api.container.reconcile.override(providers.Object(FlakyReconcile()))
    failed = await api.admin.post("/api/v1/admin/reconcile/", key="retry-me")
    body = assert_problem(failed, 500, "internal_error")
    assert "hunter2" not in failed.text and "RuntimeError" not in failed.text, body
    retried = await api.admin.post("/api/v1/admin/reconcile/", key="retry-me")
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert len(calls) == 2
    replayed = await api.admin.post("/api/v1/admin/reconcile/", key="retry-me")
    assert replayed.headers["idempotent-replayed"] == "true" and len(calls) == 2


async def test_bad_keys_and_unauthenticated_callers(api: Hexpay) -> None:
    assert_problem(await api.admin.post("/api/v1/admin/orders/", ORDER, key="k" * 256), 400, "validation_error")
    assert_problem(await api.admin.post("/api/v1/admin/orders/", ORDER, key=""), 400, "validation_error")
    assert (await api.admin.post("/api/v1/admin/orders/", ORDER, key="k" * 255)).status_code == 201

    # A refused credential records nothing under the key.
    assert_problem(await api.bearer("wrong").post("/api/v1/admin/orders/", ORDER, key="first"), 401,
                   "unauthenticated")
    assert (await api.admin.post("/api/v1/admin/orders/", ORDER, key="first")).status_code == 201


async def test_a_key_is_kept_24_hours(api: Hexpay) -> None:
    clock = FixedClock(datetime.now(UTC))
    api.container.clock.override(providers.Object(clock))
    assert (await api.admin.post("/api/v1/admin/orders/", ORDER, key="daily")).status_code == 201
    clock.advance(timedelta(hours=23).total_seconds())
    assert_problem(await api.admin.post("/api/v1/admin/orders/", {**ORDER, "currency": "eur"}, key="daily"), 422,
                   "idempotency_key_reused")
    clock.advance(timedelta(hours=2).total_seconds())
    fresh = await api.admin.post("/api/v1/admin/orders/", {**ORDER, "currency": "eur"}, key="daily")
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert fresh.json()["currency"] == "eur"



async def test_the_record_is_complete_before_the_answer_reaches_the_client(api: Hexpay) -> None:
    """A client that retries the instant it has the answer must get the replay, never 409 in flight: when the
    last byte of the answer is sent, the stored record already holds it. Driven at the ASGI level, because an
    in-process HTTP client only returns once the whole app call has finished."""
    body = json.dumps({"customer": {"reference": "ray"}, "currency": "usd",
                       "lines": [{"description": "Tea", "quantity": 1, "unit_amount": 900}]}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/admin/orders/", "raw_path": b"/api/v1/admin/orders/",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()), (b"idempotency-key", b"instant-1"),
                         (b"authorization", f"Bearer {ADMIN_TOKEN}".encode())]}
    stored_when_last_byte_left: list[int | None] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            async with api.container.uow_factory()() as uow:
                record = await uow.idempotency.claim(IdempotencyRecord(
                    caller="admin", key="instant-1", fingerprint="probe", created_at=datetime.now(UTC)))
            stored_when_last_byte_left.append(record.status_code if record else None)

    await api.app(scope, receive, send)
    assert stored_when_last_byte_left == [201]
