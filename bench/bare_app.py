"""The bare handler: Litestar + asyncpg, no layers, issuing for each request exactly the statements hexpay sent for
the same request (the recorded plans), with the values the request carries or earlier statements returned.

It does what any handler of these routes must do and nothing else: checks the shopper's token (HS256) or the
webhook's signature, decodes the body, runs the statements, answers JSON. Where hexpay's recorded requests took
different paths (a new webhook or a duplicate, a new Idempotency-Key or a replay), it follows the plan whose
recorded results match the ones it gets, so it branches where hexpay branched.

Served like hexpay: `python -m bench.serve bare` (uvicorn, uvloop, httptools, N workers); configured by BENCH_*.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import weakref
from collections.abc import Callable
from typing import Any

import asyncpg
import jwt
import msgspec
from litestar import Litestar, Request, Response, get, post

from bench import plan

_FROM = re.compile(r"\bFROM (\w+)")
_ROWS = re.compile(r"^\s*(SELECT|WITH)\b|\bRETURNING\b", re.I)
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)
# hexpay's INSERT of a payment, alone or as the data-modifying WITH its event is inserted from (with_events.py).
_INSERT_PAYMENT = re.compile(r"^\s*(?:WITH \w+ AS \()?INSERT INTO payments \(([^)]*)\) VALUES")


class Diverged(Exception):
    """A statement's result differs from every recorded one: the bare handler is not doing hexpay's work."""


class Env:
    __slots__ = ("body", "ctx", "fresh", "make_body", "rows", "tables")

    def __init__(self, ctx: dict[str, Any], make_body: Callable[[Env], bytes]) -> None:
        self.ctx = ctx
        self.rows: dict[int, list[Any]] = {}
        self.tables: dict[str, list[Any]] = {}
        self.fresh: dict[str, str] = {}
        self.body: bytes | None = None
        self.make_body = make_body

    def response_body(self) -> bytes:
        if self.body is None:
            self.body = self.make_body(self)
        return self.body

    def new_id(self, slot: str, prefix: str, width: int) -> str:
        value = self.fresh.get(slot)
        if value is None:
            value = self.fresh[slot] = self.fresh[prefix] = plan.fresh_id(prefix, width)
        return value


def _getter(p: plan.Param) -> Callable[[Env], Any]:
    if p.source == "ctx":
        name = p.name or ""
        return lambda env: env.ctx[name]
    if p.source == "row":
        step, column = p.step or 0, p.name or ""
        return lambda env: env.rows[step][0][column]
    if p.source == "now":
        return lambda env: plan.now()
    if p.source == "new":
        slot, prefix, width = p.slot or "", p.name or "", p.width or 24
        return lambda env: env.new_id(slot, prefix, width)
    if p.source == "body":
        return lambda env: env.response_body()
    if p.source == "print":
        return lambda env: env.ctx["fingerprint"]
    value = plan.decode(p.value)
    return lambda env: value


class CompiledStep:
    __slots__ = ("args", "fetches", "inserts_payment", "kind", "outcome", "sql", "table", "write")

    def __init__(self, step: plan.Step) -> None:
        self.kind, self.sql = step.kind, step.sql
        self.fetches = bool(_ROWS.search(step.sql)) and step.kind != "many" and step.sql.strip() != ";"
        self.write = bool(_WRITE.match(step.sql))
        # A payment hexpay opens is answered from what it wrote, not read back: so is the bare handler's answer.
        opened = _INSERT_PAYMENT.match(step.sql)
        self.inserts_payment = [c.strip() for c in opened.group(1).split(",")] if opened else None
        match = _FROM.search(step.sql)
        self.table = match.group(1) if match and step.sql.lstrip().upper().startswith("SELECT") else None
        self.outcome: Any = step.rows if self.fetches else step.status
        if step.kind == "many":
            self.args: Any = [[_getter(p) for p in row] for row in step.params]
        else:
            self.args = [_getter(p) for p in step.params]


_statements: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


class Runner:
    """The variants of one scenario walked side by side: the handler follows those whose results it matches."""

    def __init__(self, variants: dict[str, list[plan.Step]]) -> None:
        self.variants = [(name, [CompiledStep(s) for s in steps]) for name, steps in variants.items()]

    async def run(self, connection: asyncpg.Connection, env: Env) -> str:
        candidates = self.variants
        index = 0
        while True:
            live = [(n, steps) for n, steps in candidates if index < len(steps)]
            if not live:
                return candidates[0][0]
            step = live[0][1][index]
            outcome = await self._execute(connection, step, env, index)
            if len(live) > 1:
                live = [(n, s) for n, s in live if s[index].sql == step.sql and s[index].outcome == outcome]
            elif step.write and outcome != step.outcome:
                raise Diverged(f"{step.sql[:80]}: {outcome} where hexpay got {step.outcome}")
            if not live:
                raise Diverged(f"{step.sql[:80]}: {outcome} matches no recorded request")
            candidates = live
            index += 1

    async def _execute(self, connection: asyncpg.Connection, step: CompiledStep, env: Env, index: int) -> Any:
        if step.kind == "many":
            await connection.executemany(step.sql, [[get(env) for get in row] for row in step.args])
            return None
        if step.kind == "extended" and not step.args:  # asyncpg's ping of an idle connection
            await connection.fetchrow(step.sql)
            return None
        args = [get(env) for get in step.args]
        if step.inserts_payment is not None:  # its columns' values come first (its events' after them)
            env.tables["payments"] = [dict(zip(step.inserts_payment, args[:len(step.inserts_payment)], strict=True))]
        if step.fetches:
            rows = await connection.fetch(step.sql, *args)
            env.rows[index] = rows
            if step.table:
                env.tables[step.table] = rows
            return len(rows)
        return await connection.execute(step.sql, *args)


# ---- the routes ------------------------------------------------------------------------------------------------
class Config:
    def __init__(self) -> None:
        self.dsn = os.environ["BENCH_DSN"]
        self.jwt_secret = os.environ["BENCH_JWT_SECRET"]
        self.webhook_secret = os.environ["BENCH_WEBHOOK_SECRET"]
        with open(os.environ["BENCH_PLANS"]) as handle:
            raw = json.load(handle)
        self.runners = {scenario: Runner({v: plan.from_json(s) for v, s in variants.items()})
                        for scenario, variants in raw.items()}
        self.pool: asyncpg.Pool | None = None


CONFIG: Config | None = None
POOL_MAX = 30  # connections per worker, unless the harness gives fewer
_problem = {"content-type": "application/problem+json"}


def _config() -> Config:
    assert CONFIG is not None
    return CONFIG


def _shopper(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(token, _config().jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    return str(claims["sub"])


def _fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


def _json(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if not isinstance(v, bytes)}


def _payment_body(env: Env) -> bytes:
    rows = env.tables.get("payments") or [{}]
    return msgspec.json.encode({**_json(rows[0]), **{k: v for k, v in env.fresh.items() if "_" not in k}})


def _unauthenticated() -> Response[bytes]:
    return Response(b'{"status":401,"code":"unauthenticated"}', status_code=401, headers=_problem)


async def _run(scenario: str, env: Env) -> str:
    config = _config()
    assert config.pool is not None
    async with config.pool.acquire() as connection:
        return await config.runners[scenario].run(connection, env)


@post("/api/store/payments/intent/", status_code=201)
async def create_intent(request: Request[Any, Any, Any]) -> Response[bytes]:
    reference = _shopper(request)
    if reference is None:
        return _unauthenticated()
    body = await request.body()
    data = msgspec.json.decode(body)
    ctx = {"reference": reference, "caller": f"shopper:{reference}", "key": request.headers["idempotency-key"],
           "order_id": data["order_id"], "gateway_id": data["gateway_id"],
           "payment_method_id": data.get("payment_method_id"),
           "fingerprint": _fingerprint("POST", request.url.path, body)}
    env = Env(ctx, _payment_body)
    variant = await _run("create_payment", env)
    if variant == "replay":
        record = env.tables["idempotency_keys"][0]
        return Response(record["response_body"], status_code=record["status_code"],
                        headers={"content-type": "application/json", "idempotent-replayed": "true"})
    return Response(env.response_body(), status_code=201, media_type="application/json")


@post("/api/store/payments/{payment_id:str}/confirm/", status_code=200)
async def confirm(request: Request[Any, Any, Any], payment_id: str) -> Response[bytes]:
    reference = _shopper(request)
    if reference is None:
        return _unauthenticated()
    body = await request.body()
    ctx = {"reference": reference, "caller": f"shopper:{reference}", "key": request.headers["idempotency-key"],
           "payment_id": payment_id, "fingerprint": _fingerprint("POST", request.url.path, body)}
    env = Env(ctx, _payment_body)
    await _run("confirm_payment", env)
    return Response(env.response_body(), status_code=200, media_type="application/json")


@get("/api/store/payments/{payment_id:str}/")
async def get_payment(request: Request[Any, Any, Any], payment_id: str) -> Response[bytes]:
    reference = _shopper(request)
    if reference is None:
        return _unauthenticated()
    env = Env({"reference": reference, "caller": f"shopper:{reference}", "payment_id": payment_id}, _payment_body)
    await _run("get_payment", env)
    return Response(env.response_body(), media_type="application/json")


@get("/api/v1/me/payment-methods/")
async def list_payment_methods(request: Request[Any, Any, Any]) -> Response[bytes]:
    reference = _shopper(request)
    if reference is None:
        return _unauthenticated()
    env = Env({"reference": reference, "caller": f"shopper:{reference}"}, _payment_body)
    await _run("list_payment_methods", env)
    methods = [_json(row) for row in env.tables.get("payment_methods", [])]
    return Response(msgspec.json.encode({"object": "list", "data": methods, "has_more": False}),
                    media_type="application/json")


def _signed(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    import time

    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - stamp) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


@post("/api/store/payments/callback/{gateway:str}", status_code=200)
async def webhook(request: Request[Any, Any, Any], gateway: str) -> Response[bytes]:
    body = await request.body()
    if not _signed(request.headers.get("stripe-signature", ""), body, _config().webhook_secret):
        return Response(b'{"status":400,"code":"invalid_signature"}', status_code=400, headers=_problem)
    event = msgspec.json.decode(body)
    obj = event["data"]["object"]
    metadata = obj.get("metadata") or {}
    ctx = {"gateway_id": gateway, "event_id": event["id"], "event_type": event["type"],
           "gateway_payment_id": obj["id"], "payment_id": metadata.get("hexpay_payment_id"),
           "order_id": metadata.get("hexpay_order_id")}
    env = Env(ctx, _payment_body)
    variant = await _run("webhook", env)
    return Response(b'{"received":true,"duplicate":%s}' % (b"true" if variant == "duplicate" else b"false"),
                    media_type="application/json")


async def _no_reset(connection: asyncpg.Connection) -> None:
    """A released connection is rolled back if a transaction is open (asyncpg always does that), and that is all:
    asyncpg's default would send a RESET ALL round trip on every release, which SQLAlchemy's pool does not."""


async def _open() -> None:
    config = _config()
    most = int(os.environ.get("BENCH_POOL_MAX", POOL_MAX))  # lowered by the harness when servers share Postgres
    config.pool = await asyncpg.create_pool(config.dsn, min_size=min(10, most), max_size=most, reset=_no_reset)


async def _close() -> None:
    config = _config()
    if config.pool is not None:
        await config.pool.close()


def create_app() -> Litestar:
    global CONFIG
    CONFIG = Config()
    return Litestar(route_handlers=[create_intent, confirm, get_payment, list_payment_methods, webhook],
                    on_startup=[_open], on_shutdown=[_close], openapi_config=None, logging_config=None)
