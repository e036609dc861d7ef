"""`make bench` (python -m bench): one run on one Postgres, hexpay beside pgbench and the bare handler.

1. a fresh database, migrated by Alembic; template rows made by hexpay itself; the history seeded by copying them
2. one request of each scenario recorded in process: its statements become the plans (bench/results/plans.json),
   the pgbench scripts (bench/pgbench/) and the bare handler's work
3. per system (pgbench, bare handler, hexpay) and scenario: a warm-up, then repeats of a timed window under
   32 connections; each window's requests, latencies and CPU (server, Postgres, client) measured over the same span;
   after each window the database is checked: rows written match the answers, duplicates changed nothing, no 5xx
4. the cost curve: hexpay again at other history sizes
5. the table, and JSON under bench/results/
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx

from adapters.sqlalchemy import upgrade_to_head
from adapters.sqlalchemy.engine import CONNECTIONS as HEXPAY_CONNECTIONS
from bench import capture, naming, plan, procstat, profiling, report, scenarios, target, templates
from bench.bare_app import POOL_MAX as BARE_CONNECTIONS
from bench.inprocess import in_process_hexpay
from bench.load import Job, Result, raw_request
from bench.measure import Measurement, window
from bench.scenarios import SCENARIOS, VARIANTS, Request, WebhookEvents
from bench.secrets import BenchSecrets
from bench.seed import LINKED_CUSTOMERS, Layout, Pool, Seeder, counts, elapsed
from bench.systems import ROOT, Server, pgbench

BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PROFILES = RESULTS / "profiles"
SCRIPTS = BENCH / "pgbench"
# First guesses of each system's rate (req/s), to size the pools of the first window; then the last window's rate.
GUESS = {"pgbench": 4000.0, "bare": 2500.0, "hexpay": 600.0}


@dataclass
class Options:
    duration: float = 8.0
    warmup: float = 3.0
    margin: float = 1.0
    repeats: int = 3
    connections: int = 32
    workers: int = 2
    level: int = 100_000
    curve: tuple[int, ...] = (10_000,)
    scenarios: tuple[str, ...] = SCENARIOS
    systems: tuple[str, ...] = ("pgbench", "bare", "hexpay")
    keep: bool = False
    label: str = "bench"
    profile: bool = False  # py-spy on the server over each measured window (bench/profiling.py)
    setup_customers: int = 200  # customers a hexpay server sets up (a saved card each) before create_payment


@dataclass
class Context:
    options: Options
    target: target.Target
    secrets: BenchSecrets
    db: asyncpg.Connection
    seeder: Seeder
    templates: templates.Templates
    plans: capture.Plans
    watch: procstat.PostgresWatch
    workdir: Path
    rates: dict[tuple[str, str], float] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    results: list[Measurement] = field(default_factory=list)
    measuring: str = ""  # "<system>-<scenario>" of the windows being run: names their profiles
    profiled: Counter[str] = field(default_factory=Counter)

    def token(self, reference: str) -> str:
        token = self.tokens.get(reference)
        if token is None:
            token = self.tokens[reference] = self.secrets.shopper_token(reference)
        return token

    def rate(self, system: str, scenario: str) -> float:
        """The last measured rate; confirm_payment's first guess is create_payment's (the same work, about)."""
        known = self.rates.get((system, scenario))
        if known is None and scenario == "confirm_payment":
            known = self.rates.get((system, "create_payment"))
        return known if known is not None else GUESS[system]

    def pool_size(self, system: str, scenario: str, seconds: float, share: float = 1.0) -> int:
        return int(self.rate(system, scenario) * seconds * 1.4 * share) + 300


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def say(m: Measurement) -> None:
    s = m.summary()
    cpu = "-" if s["cpu_us_per_request"] is None else f"{s['cpu_us_per_request']:.0f}"
    log(f"  {m.system} {m.scenario}: {s['rps'] or 0:.0f} req/s, p99 {s['p99_ms'] or 0:.1f} ms, "
        f"CPU {cpu} us/request, {'correct' if s['correct'] else 'NOT CORRECT: ' + str(m.checks)[:600]}")


# ---- one window over HTTP --------------------------------------------------------------------------------------
async def http_window(ctx: Context, server: Server, requests: list[bytes], seconds: float, *, measured: bool,
                      replay_share: float = 0.0, keep_bodies: bool = False, cycle: bool = False,
                      ) -> tuple[Any, Result]:
    margin = ctx.options.margin if measured else 0.0
    job = Job(server.ports, ctx.options.connections, seconds + 2 * margin, requests, keep_bodies=keep_bodies,
              replay_share=replay_share, seed=random.randrange(1 << 30), cycle=cycle)
    job_path, result_path = ctx.workdir / f"job-{uuid.uuid4().hex}", ctx.workdir / f"result-{uuid.uuid4().hex}"
    job_path.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    client = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.load", str(job_path),
                                                  str(result_path), cwd=ROOT)
    stats = None
    if measured:
        await asyncio.sleep(margin)
        m0, s0, c0 = ctx.watch.mark(), server.cpu(), procstat.cpu_seconds(client.pid)
        w0 = server.workers_cpu() if server.workers > 1 else {}
        recording = await _profile(ctx, server, seconds) if ctx.options.profile else None
        await asyncio.sleep(seconds)
        m1, s1, c1 = ctx.watch.mark(), server.cpu(), procstat.cpu_seconds(client.pid)
        w1 = server.workers_cpu() if server.workers > 1 else {}
        if recording is not None:
            written = await profiling.finish(recording)
            where = written.relative_to(ROOT) if written else f"py-spy failed, see {recording.summary}"
            log(f"  profile: {where}")
    await client.wait()
    result: Result = pickle.loads(result_path.read_bytes())
    job_path.unlink()
    result_path.unlink()
    if measured:
        inside = [o for o in result.outcomes if m0.at <= o.ended <= m1.at]
        span = min(m1.at, max((o.ended for o in inside), default=m1.at)) - m0.at if result.exhausted else \
            m1.at - m0.at
        postgres, born = ctx.watch.used(m0, m1)
        statuses = Counter(str(o.status) for o in inside)
        stats = window([o.ended - o.sent for o in inside], span, s1 - s0, postgres,
                       None if c0 is None or c1 is None else c1 - c0, dict(statuses), born, result.exhausted,
                       [w1[pid] - w0[pid] for pid in w0 if pid in w1])
    return stats, result


async def _profile(ctx: Context, server: Server, seconds: float) -> profiling.Recording:
    ctx.profiled[ctx.measuring] += 1
    name = f"{ctx.measuring}-{ctx.profiled[ctx.measuring]}"
    return await profiling.start(server.workers_pids(), seconds, PROFILES, name)


def statuses_of(result: Result) -> dict[str, int]:
    return dict(Counter(str(o.status) for o in result.outcomes))


def server_errors(result: Result) -> int:
    return sum(1 for o in result.outcomes if o.status >= 500) + len(result.errors)


def windows_plan(options: Options, repeats: int | None = None) -> list[tuple[float, bool]]:
    warmup = [(options.warmup, False)] if options.warmup > 0 else []
    return warmup + [(options.duration, True)] * (options.repeats if repeats is None else repeats)


def raw(request: Request) -> bytes:
    return raw_request(request.method, request.path, request.headers, request.body)


# ---- the scenarios over HTTP -----------------------------------------------------------------------------------
class HttpScenarios:
    """Drives one server (hexpay or bare) through the scenarios; `marker` keeps its ids apart from the others'."""

    def __init__(self, ctx: Context, system: str, server: Server, repeats: int) -> None:
        self.ctx, self.system, self.server, self.repeats = ctx, system, server, repeats
        self.marker = "h" if system == "hexpay" else "r"
        self.customers: tuple[int, int] | None = None  # (c0, k) of customers this server set up itself
        self.cards: dict[int, str] = {}
        self.confirmable: list[tuple[str, str]] = []  # (payment id, customer reference) opened and not confirmed
        self.current: Measurement | None = None  # the scenario being measured

    def plan_windows(self) -> list[tuple[float, bool]]:
        return windows_plan(self.ctx.options, self.repeats)

    def measurement(self, scenario: str) -> Measurement:
        m = self.current = Measurement(self.system, scenario, self.ctx.seeder.layout.history, self.server.workers)
        self.ctx.results.append(m)
        return m

    def windows(self, scenario: str) -> AsyncIterator[None]:
        """The scenario's windows (its setup, a warm-up, the measured ones), one per step: measure_group runs
        the systems' windows in turn, so that windows of the two systems are never more than seconds apart."""
        if scenario in ("list_payment_methods", "get_payment"):
            return self.reads(scenario)
        return cast(AsyncIterator[None], getattr(self, scenario)())

    def learn(self, scenario: str, stats: Any, result: Result) -> None:
        seconds = (result.ended - result.started) or 1.0
        answered = len(result.outcomes) / seconds if stats is None else stats.rps
        if answered > 0:
            self.ctx.rates[(self.system, scenario)] = answered

    async def setup_customers(self) -> None:
        """hexpay keeps each card at the (in-process) gateway of the worker that saved it: customers get their
        card through this very server, as a shopper would, before they pay."""
        count = self.ctx.options.setup_customers
        c0 = await self.ctx.seeder.customers_only(count)
        self.customers = (c0, count)
        base = f"http://127.0.0.1:{self.server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            async def save(c: int) -> None:
                response = await http.post("/api/v1/me/payment-methods/", headers={
                    "Authorization": f"Bearer {self.ctx.token(naming.reference(c))}"}, json={
                    "gateway": self.ctx.templates.gateway_id,
                    "gateway_payment_method_data": {"payment_method_id": "pm_card_visa"}})
                if response.status_code != 201:
                    raise RuntimeError(f"saving a card: {response.status_code} {response.text[:300]}")
                self.cards[c] = response.json()["id"]

            for start in range(c0, c0 + count, 16):
                await asyncio.gather(*(save(c) for c in range(start, min(start + 16, c0 + count))))

    def card_of(self, c: int) -> str:
        return self.cards[c] if self.customers else naming.payment_method_id(c)

    async def create_pool(self, name: str, size: int) -> Pool:
        return await self.ctx.seeder.pool(name, "pending", size, customers=self.customers)

    def create_requests(self, pool: Pool) -> tuple[list[bytes], list[dict[str, Any]]]:
        requests, metas = [], []
        for n in range(pool.start, pool.stop):
            c = pool.customer(n)
            who = naming.reference(c)
            request = scenarios.create_request(self.ctx.token(who), naming.order_id(n),
                                               self.ctx.templates.gateway_id, self.card_of(c),
                                               f"{self.marker}-{uuid.uuid4().hex}")
            requests.append(raw(request))
            metas.append({"reference": who})
        return requests, metas

    async def create_payment(self) -> AsyncIterator[None]:
        m = self.measurement("create_payment")
        if self.system == "hexpay":
            await self.setup_customers()
        checks: list[dict[str, Any]] = []
        for i, (seconds, measured) in enumerate(self.plan_windows()):
            margin = 2 * self.ctx.options.margin if measured else 0
            pool = await self.create_pool(f"{self.system}-create-{i}",
                                          self.ctx.pool_size(self.system, "create_payment", seconds + margin, 0.9))
            requests, metas = self.create_requests(pool)
            stats, result = await http_window(self.ctx, self.server, requests, seconds, measured=measured,
                                              replay_share=scenarios.REPLAY_SHARE, keep_bodies=True)
            self.learn("create_payment", stats, result)
            checks.append(await self.check_create(pool, result, metas))
            if stats is not None:
                m.windows.append(stats)
            yield
        m.checks = merge_checks(checks)
        m.peak_rss_mib = self.server.peak_rss_mib()

    async def check_create(self, pool: Pool, result: Result, metas: list[dict[str, Any]]) -> dict[str, Any]:
        originals = {o.index: o for o in result.outcomes if not o.replay}
        created = [o for o in originals.values() if o.status == 201]
        replays = [o for o in result.outcomes if o.replay]
        identical = sum(1 for o in replays if o.replayed_header and o.status == originals[o.index].status
                        and o.body == originals[o.index].body)
        rows = await self.ctx.db.fetchval(
            "SELECT count(*) FROM payments WHERE order_id >= $1 AND order_id < $2",
            naming.order_id(pool.start), naming.order_id(pool.stop))
        for o in created:
            answer = json.loads(o.body or b"{}")
            self.confirmable.append((answer.get("payment_id") or answer["id"], metas[o.index]["reference"]))
        errors = server_errors(result)
        return {"answers_2xx": len(created), "rows_created": rows, "replays": len(replays),
                "replays_identical": identical, "5xx_or_dropped": errors, "statuses": statuses_of(result),
                "ok": rows == len(created) == len(originals) and identical == len(replays) and errors == 0}

    async def confirm_payment(self) -> AsyncIterator[None]:
        m = self.measurement("confirm_payment")
        checks: list[dict[str, Any]] = []
        for seconds, measured in self.plan_windows():
            margin = 2 * self.ctx.options.margin if measured else 0
            wanted = self.ctx.pool_size(self.system, "confirm_payment", seconds + margin)
            if len(self.confirmable) < wanted:
                await self.open_more(wanted - len(self.confirmable))
            batch, self.confirmable = self.confirmable[:wanted], self.confirmable[wanted:]
            requests = [raw(scenarios.confirm_request(self.ctx.token(who), pid, f"{self.marker}c-{uuid.uuid4().hex}"))
                        for pid, who in batch]
            stats, result = await http_window(self.ctx, self.server, requests, seconds, measured=measured)
            self.learn("confirm_payment", stats, result)
            sent = {o.index for o in result.outcomes}
            self.confirmable = [b for i, b in enumerate(batch) if i not in sent] + self.confirmable
            answered = [batch[o.index][0] for o in result.outcomes if o.status == 200]
            succeeded = await self.ctx.db.fetchval(
                "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = ANY($1) "
                "AND p.status = 'succeeded' AND o.status = 'paid'", answered)
            errors = server_errors(result)
            checks.append({"answers_2xx": len(answered), "payments_succeeded_orders_paid": succeeded,
                           "5xx_or_dropped": errors, "statuses": statuses_of(result),
                           "ok": succeeded == len(answered) == len(result.outcomes) and errors == 0})
            if stats is not None:
                m.windows.append(stats)
            yield
        m.checks = merge_checks(checks)
        m.peak_rss_mib = self.server.peak_rss_mib()

    async def open_more(self, count: int) -> None:
        """Payments for confirm_payment to confirm, opened untimed through the same server."""
        pool = await self.create_pool(f"{self.system}-create-extra", count + 50)
        requests, metas = self.create_requests(pool)
        _, result = await http_window(self.ctx, self.server, requests, 3600, measured=False, keep_bodies=True)
        check = await self.check_create(pool, result, metas)
        if not check["ok"]:
            raise RuntimeError(f"opening payments to confirm failed: {check}")

    async def webhook(self) -> AsyncIterator[None]:
        m = self.measurement("webhook")
        events = WebhookEvents(self.ctx.templates.succeeded_event, self.ctx.templates.gateway_id,
                               self.ctx.secrets.webhook_secret)
        version = await self.ctx.db.fetchval("SELECT version FROM payments WHERE id = $1",
                                             self.ctx.templates.action_payment)
        per_event = outbox_rows(self.ctx.plans["webhook"]["new"])
        checks: list[dict[str, Any]] = []
        for i, (seconds, measured) in enumerate(self.plan_windows()):
            margin = 2 * self.ctx.options.margin if measured else 0
            size = self.ctx.pool_size(self.system, "webhook", seconds + margin, 1 - scenarios.DUPLICATE_SHARE)
            pool = await self.ctx.seeder.pool(f"{self.system}-webhook-{i}", "action", size)
            numbers = list(range(pool.start, pool.stop))
            deliveries = numbers + random.choices(numbers, k=int(len(numbers) * scenarios.DUPLICATE_SHARE /
                                                                 (1 - scenarios.DUPLICATE_SHARE)))
            random.shuffle(deliveries)
            stamp = int(time.time())
            requests = [raw(events.request(n, naming.event_id(n, self.marker), stamp)) for n in deliveries]
            outbox_before = await self.ctx.db.fetchval("SELECT count(*) FROM outbox")
            stats, result = await http_window(self.ctx, self.server, requests, seconds, measured=measured,
                                              keep_bodies=True)
            self.learn("webhook", stats, result)
            checks.append(await self.check_webhook(pool, deliveries, result, version, per_event, outbox_before))
            if stats is not None:
                m.windows.append(stats)
            yield
        m.checks = merge_checks(checks)
        m.peak_rss_mib = self.server.peak_rss_mib()

    async def check_webhook(self, pool: Pool, deliveries: list[int], result: Result, version: int, per_event: int,
                            outbox_before: int) -> dict[str, Any]:
        db = self.ctx.db
        ok = [o for o in result.outcomes if o.status == 200]
        delivered = sorted({deliveries[o.index] for o in ok})
        taken = sum(1 for o in ok if json.loads(o.body or b"{}").get("duplicate") is False)
        inbox = await db.fetchval("SELECT count(*) FROM webhook_inbox WHERE event_id = ANY($1)",
                                  [naming.event_id(n, self.marker) for n in delivered])
        settled = await db.fetchval(
            "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id JOIN invoices i ON i.order_id = o.id "
            "WHERE p.id = ANY($1) AND p.status = 'succeeded' AND p.version = $2 AND o.status = 'paid' "
            "AND i.status = 'paid'", [naming.payment_id(n) for n in delivered], version + 1)
        untouched = await db.fetchval(
            "SELECT count(*) FROM payments WHERE id >= $1 AND id < $2 AND status = 'requires_action'",
            naming.payment_id(pool.start), naming.payment_id(pool.stop))
        outbox = await db.fetchval("SELECT count(*) FROM outbox") - outbox_before
        errors = server_errors(result)
        return {"deliveries_2xx": len(ok), "events": len(delivered), "answered_as_new": taken,
                "inbox_rows": inbox, "settled_once": settled, "outbox_rows": outbox,
                "outbox_rows_expected": per_event * len(delivered), "5xx_or_dropped": errors,
                "statuses": statuses_of(result),
                "ok": taken == inbox == settled == len(delivered) and untouched == len(pool) - len(delivered)
                and outbox == per_event * len(delivered) and errors == 0 and len(ok) == len(result.outcomes)}

    async def reads(self, scenario: str) -> AsyncIterator[None]:
        m = self.measurement(scenario)
        rng = random.Random(7)
        history = self.ctx.seeder.layout.history
        requests = []
        for _ in range(20_000):
            if scenario == "get_payment":
                n = rng.randint(1, history)
                who = naming.reference(Layout.history_customer(n))
                requests.append(raw(scenarios.get_request(self.ctx.token(who), naming.payment_id(n))))
            else:
                who = naming.reference(rng.randint(1, LINKED_CUSTOMERS))
                requests.append(raw(scenarios.list_request(self.ctx.token(who))))
        checks = []
        for seconds, measured in self.plan_windows():
            stats, result = await http_window(self.ctx, self.server, requests, seconds, measured=measured,
                                              cycle=True)
            self.learn(scenario, stats, result)
            errors = server_errors(result)
            good = sum(1 for o in result.outcomes if o.status == 200)
            checks.append({"answers_2xx": good, "5xx_or_dropped": errors, "statuses": statuses_of(result),
                           "ok": good == len(result.outcomes) and errors == 0})
            if stats is not None:
                m.windows.append(stats)
            yield
        m.checks = merge_checks(checks)
        m.peak_rss_mib = self.server.peak_rss_mib()


def outbox_rows(steps: list[plan.Step]) -> int:
    """Rows the recorded request added to the outbox: as many as its events' arrays hold (Postgres: all the events
    in one statement, alone or with the writes they go with, deferred_writes.py), else from the INSERT's status
    ("INSERT 0 3"), or one per row of an executemany."""
    rows = 0
    for step in steps:
        if "INSERT INTO outbox" not in step.sql:
            continue
        if step.kind == "many":
            rows += len(step.params)
            continue
        arrays = [p.value for p in step.params if isinstance(p, plan.Param) and isinstance(p.value, list)]
        if arrays:
            rows += len(arrays[0])
        else:
            rows += int(step.status.rpartition(" ")[2]) if step.status and step.status.startswith("INSERT") else 1
    return rows


def merge_checks(checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ok": all(c["ok"] for c in checks), "windows": checks}


# ---- pgbench ---------------------------------------------------------------------------------------------------
def write_pgbench_scripts(plans: capture.Plans, gateway_id: str) -> dict[str, Path]:
    SCRIPTS.mkdir(exist_ok=True)
    written = {}
    for scenario, variants in VARIANTS.items():
        for variant, _ in variants:
            preamble, ctx_sql, new_sql = scenarios.pgbench_context(variant, gateway_id)
            lines = [f"-- {scenario}/{variant}: the statements hexpay sent for one such request (recorded by",
                     "-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.", *preamble,
                     *plan.PgbenchRenderer(ctx_sql, new_sql).render(plans[scenario][variant])]
            path = SCRIPTS / f"{scenario}.{variant}.sql"
            path.write_text("\n".join(lines) + "\n")
            written[variant] = path
    return written


class PgbenchScenarios:
    def __init__(self, ctx: Context, scripts: dict[str, Path], repeats: int) -> None:
        self.ctx, self.scripts, self.repeats = ctx, scripts, repeats
        self.created = 0
        self.create_pool: Pool | None = None

    async def sequence(self, name: str, start: int, stop: int) -> None:
        await self.ctx.db.execute(f"DROP SEQUENCE IF EXISTS {name}")
        await self.ctx.db.execute(f"CREATE SEQUENCE {name} START {start} MINVALUE {start} MAXVALUE {stop - 1}")

    async def run(self, scenario: str) -> None:
        ctx, options = self.ctx, self.ctx.options
        m = Measurement("pgbench", scenario, ctx.seeder.layout.history, None)
        ctx.results.append(m)
        m.notes.append("one extra statement per transaction picks a fresh order or payment (SELECT nextval)"
                       if scenario in ("create_payment", "confirm_payment", "webhook") else "")
        plan_ = windows_plan(options, self.repeats)
        total = sum(max(1, round(sec + (2 * options.margin if measured else 0))) for sec, measured in plan_)
        history = ctx.seeder.layout.history
        variables = {"hist": history, "rlo": max(1, history - 20_000 + 1)}
        if scenario == "create_payment":
            self.create_pool = await ctx.seeder.pool("pgbench-create", "pending",
                                                     ctx.pool_size("pgbench", scenario, total, 0.9))
            await self.sequence("bench_orders", self.create_pool.start, self.create_pool.stop)
        elif scenario == "confirm_payment":
            assert self.create_pool is not None, "confirm_payment follows create_payment"
            await self.open_more(total, variables)
            last = await ctx.db.fetchval("SELECT max(order_id) FROM payments WHERE id LIKE 'pay_p%'")
            await self.sequence("bench_payments", self.create_pool.start, int(last[5:]) + 1)
        elif scenario == "webhook":
            pool = await ctx.seeder.pool("pgbench-webhook", "action",
                                         ctx.pool_size("pgbench", scenario, total, 1 - scenarios.DUPLICATE_SHARE))
            await self.sequence("bench_orders", pool.start, pool.stop)
        scripts = [(self.scripts[variant], weight) for variant, weight in VARIANTS[scenario]]
        counts_by_script: Counter[int] = Counter()
        failures = []
        for seconds, measured in plan_:
            stats_box: dict[str, Any] = {}

            async def marks(pid: int, started: float, seconds: float = seconds, box: dict[str, Any] = stats_box,
                            measured: bool = measured) -> None:
                if not measured:
                    return
                await asyncio.sleep(max(0.0, started + options.margin - time.time()))
                box["m0"], box["c0"] = ctx.watch.mark(), procstat.cpu_seconds(pid)
                await asyncio.sleep(seconds)
                box["m1"], box["c1"] = ctx.watch.mark(), procstat.cpu_seconds(pid)

            run = await pgbench(scripts, variables, clients=options.connections,
                                seconds=seconds + (2 * options.margin if measured else 0), env=ctx.target.pgbench_env(),
                                workdir=ctx.workdir, on_start=marks)
            counts_by_script.update(script for script, _, _ in run.transactions)
            if run.returncode != 0 or "aborted" in run.stderr:
                failures.append(run.stderr[-2000:])
            seconds_run = max((end for _, _, end in run.transactions), default=run.started) - run.started
            if run.transactions and seconds_run > 0:
                ctx.rates[("pgbench", scenario)] = len(run.transactions) / seconds_run
            if measured:
                m0, m1 = stats_box["m0"], stats_box["m1"]
                inside = [(lat, end) for _, lat, end in run.transactions if m0.at <= end <= m1.at]
                postgres, born = ctx.watch.used(m0, m1)
                c0, c1 = stats_box["c0"], stats_box["c1"]
                m.windows.append(window([lat for lat, _ in inside], m1.at - m0.at, None, postgres,
                                        None if c0 is None or c1 is None else c1 - c0,
                                        {"committed": len(inside)}, born))
        m.checks = await self.check(scenario, counts_by_script, failures)

    async def open_more(self, seconds: float, variables: dict[str, int]) -> None:
        """Enough payments for confirm_payment to confirm for `seconds`, opened untimed by the create script."""
        assert self.create_pool is not None
        db = self.ctx.db
        created = int(await db.fetchval("SELECT count(*) FROM payments WHERE id LIKE 'pay_p%'"))
        need = int(self.ctx.rate("pgbench", "create_payment") * 1.5 * seconds) + 300
        if created >= need:
            return
        used = int(await db.fetchval("SELECT last_value FROM bench_orders"))
        missing = need - created
        if self.create_pool.stop - 1 - used < missing:
            more = await self.ctx.seeder.pool("pgbench-create-more", "pending", missing + 500, contiguous=True)
            await db.execute(f"ALTER SEQUENCE bench_orders MAXVALUE {more.stop - 1}")
            self.create_pool = Pool(self.create_pool.name, "pending", self.create_pool.start, more.stop)
        clients = self.ctx.options.connections
        run = await pgbench([(self.scripts["create"], 1)], variables, clients=clients, seconds=0,
                            env=self.ctx.target.pgbench_env(), workdir=self.ctx.workdir,
                            transactions=-(-missing // clients))
        if run.returncode != 0 or "aborted" in run.stderr:
            raise RuntimeError(f"pgbench could not open payments to confirm: {run.stderr[-1000:]}")

    async def check(self, scenario: str, done: Counter[int], failures: list[str]) -> dict[str, Any]:
        db = self.ctx.db
        out: dict[str, Any] = {"transactions": dict(done), "failures": failures}
        if scenario == "create_payment":
            rows = await db.fetchval("SELECT count(*) FROM payments WHERE id LIKE 'pay_p%'")
            out.update(rows_created=rows, ok=rows == done[0] and not failures)
        elif scenario == "confirm_payment":
            rows = await db.fetchval("SELECT count(*) FROM payments WHERE id LIKE 'pay_p%' AND status = 'succeeded'")
            out.update(payments_succeeded=rows, ok=rows == done[0] and not failures)
        elif scenario == "webhook":
            rows = await db.fetchval("SELECT count(*) FROM webhook_inbox WHERE event_id LIKE 'evt_p%'")
            out.update(inbox_rows=rows, ok=rows == done[0] and not failures)
        else:
            out.update(ok=not failures)
        return out


# ---- the run ---------------------------------------------------------------------------------------------------
HARNESS_CONNECTIONS = 10  # left for the harness itself (seeding, the checks after each window) and headroom


async def connections_each(ctx: Context, processes: int) -> int:
    """The most connections each server process may hold so that every server of a group fits in Postgres's
    max_connections at once (servers keep their connections open between windows)."""
    most = int(await ctx.db.fetchval("SHOW max_connections"))
    reserved = int(await ctx.db.fetchval("SHOW superuser_reserved_connections"))
    each = (most - reserved - HARNESS_CONNECTIONS) // processes
    if each < 8:
        raise SystemExit(f"Postgres allows {most} connections: too few for {processes} server processes at once")
    return each


async def in_turn(steps: dict[str, AsyncIterator[None]], before: Callable[[str], None] = lambda _: None) -> None:
    """One step of each in turn, the order reversed every round (A B, B A, A B, ...), until every one is done; a
    step that ends early leaves the others to go on alone. `before(name)` is called before each step."""
    live = dict(steps)
    turn = 0
    while live:
        for name in list(live) if turn % 2 == 0 else list(live)[::-1]:
            before(name)
            try:
                await anext(live[name])
            except StopAsyncIteration:
                del live[name]
        turn += 1


def groups_of(options: Options) -> list[tuple[int, list[str]]]:
    """Scenarios by the workers they run on: the sandbox keeps a customer's card and intents in the worker that
    made them, so create_payment and confirm_payment run on one."""
    groups: list[tuple[int, list[str]]] = [
              (1, [s for s in ("create_payment", "confirm_payment") if s in options.scenarios]),
              (options.workers, [s for s in ("webhook", "list_payment_methods", "get_payment")
                                 if s in options.scenarios])]
    if options.workers == 1:  # one server for every scenario
        groups = [(1, [s for _, names in groups for s in names])]
    return [(workers, names) for workers, names in groups if names]


async def measure_group(ctx: Context, systems: list[str], windows: int, workers: int, names: list[str]) -> None:
    """The HTTP systems side by side: each on its own server, started together; for every scenario, one window
    of each system in turn, the order swapped every round (A B, B A, A B, ...), each system's setup and warm-up
    first. On a shared machine whose speed drifts by a third within minutes, two passes one after the other (the
    previous method: A B B A by passes, a minute or two apart) still saw the drift as a difference between the
    systems; windows seconds apart see the same machine."""
    servers: dict[str, Server] = {}
    each = await connections_each(ctx, len(systems) * workers)
    try:
        for system in systems:
            app = "hexpay" if system == "hexpay" else "bare"
            env = {**ctx.secrets.server_env(ctx.target.url()), "BENCH_DSN": ctx.target.dsn(),
                   "BENCH_JWT_SECRET": ctx.secrets.jwt_secret, "BENCH_WEBHOOK_SECRET": ctx.secrets.webhook_secret,
                   "BENCH_PLANS": str(ctx.workdir / "plans.json"),
                   # Each hexpay process also holds its gateway account listener's connection.
                   "HEXPAY_DATABASE_CONNECTIONS": str(min(each - 1, HEXPAY_CONNECTIONS)),
                   "BENCH_POOL_MAX": str(min(each, BARE_CONNECTIONS))}
            servers[system] = await Server(app, workers, env, ctx.workdir / f"{system}-server.log").start()
        drivers = [HttpScenarios(ctx, system, servers[system], windows) for system in systems]
        for name in names:
            log(f"{' and '.join(systems)} ({workers} worker{'s' * (workers > 1)} each) {name}, window by window")

            def measuring(system: str, scenario: str = name) -> None:
                ctx.measuring = f"{system}-{scenario}"

            await in_turn({driver.system: driver.windows(name) for driver in drivers}, measuring)
            for driver in drivers:
                assert driver.current is not None
                say(driver.current)
    finally:
        for server in servers.values():
            await server.stop()


async def measure_pgbench(ctx: Context, runner: PgbenchScenarios, names: list[str]) -> None:
    for name in names:
        log(f"pgbench {name}")
        await runner.run(name)
        say(ctx.results[-1])


async def main(options: Options) -> int:
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    chosen = await target.choose()
    log(f"Postgres: {chosen.server_url.render_as_string(hide_password=True)}; database {chosen.database}")
    await target.create_database(chosen)
    workdir = Path(tempfile.mkdtemp(prefix="hexpay-bench-"))
    secrets = BenchSecrets()
    db = None
    try:
        await asyncio.to_thread(upgrade_to_head, chosen.url())
        db = await asyncpg.connect(chosen.dsn())
        levels = sorted({options.level, *options.curve})
        async with in_process_hexpay(chosen.url(), secrets) as hexpay:
            made = await templates.build(hexpay)
            seeder = Seeder(db, made, Layout())
            await seeder.customers(1, LINKED_CUSTOMERS + 1, linked=True)
            await seeder.history(levels[0])
            await seeder.analyze()
            log(f"templates and {levels[0]} paid orders seeded ({elapsed(started)})")
            plans, traces = await capture.record_all(hexpay, made, seeder, secrets.webhook_secret)
        (workdir / "plans.json").write_text(json.dumps(capture.plans_to_json(plans)))
        (RESULTS / "plans.json").write_text(json.dumps(capture.plans_to_json(plans), indent=1) + "\n")
        scripts = write_pgbench_scripts(plans, made.gateway_id)
        statements = {f"{s}/{v}": plan.summary(steps) for s, vs in plans.items() for v, steps in vs.items()}
        log("statements per request: " + ", ".join(f"{k} {v['statements']}" for k, v in statements.items()))
        backend = await db.fetchval("SELECT pg_backend_pid()")
        watch = procstat.PostgresWatch(procstat.postmaster_of(backend), chosen.database).start()
        ctx = Context(options, chosen, secrets, db, seeder, made, plans, watch, workdir)
        sizes: dict[int, dict[str, int]] = {}
        for level in levels:
            if seeder.layout.history < level:
                await seeder.history(level)
                await seeder.analyze()
                log(f"history now {level} paid orders ({elapsed(started)})")
            sizes[level] = await counts(db)
            main_level = level == options.level
            systems = options.systems if main_level else ("hexpay",)
            repeats = options.repeats if main_level else 1
            runner = PgbenchScenarios(ctx, scripts, repeats)
            for workers, names in groups_of(options):
                if "pgbench" in systems:
                    await measure_pgbench(ctx, runner, names)
                http = [s for s in systems if s != "pgbench"]
                if http:  # each system's windows: as many as two passes of `repeats` gave before
                    await measure_group(ctx, http, repeats * (2 if len(http) > 1 else 1), workers, names)
        watch.stop()
        document = report.document(ctx.results, options, statements, sizes, traces,
                                   postgres_cpu_measured=watch.available, seconds=time.monotonic() - started)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        text = json.dumps(document, indent=1, default=str) + "\n"
        (RESULTS / f"{options.label}-{stamp}.json").write_text(text)
        (RESULTS / f"{options.label}-latest.json").write_text(text)
        print(report.table(document))
        log(f"done in {elapsed(started)}; JSON in bench/results/{options.label}-latest.json")
        return 0 if document["all_correct"] else 1
    finally:
        if db is not None:
            await db.close()
        if not options.keep:
            await target.drop_database(chosen)
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.rmtree(secrets.var_dir, ignore_errors=True)


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a tiny run (CI): small volume, short windows")
    parser.add_argument("--with-1m", action="store_true", help="add the 1M-row point of the cost curve (slow)")
    parser.add_argument("--duration", type=float, help="seconds per measured window (default 8)")
    parser.add_argument("--repeats", type=int, help="measured windows per scenario (default 3)")
    parser.add_argument("--workers", type=int, help="workers for the scenarios that may have several (default 2)")
    parser.add_argument("--scenarios", help="comma-separated subset of " + ",".join(SCENARIOS))
    parser.add_argument("--systems", help="comma-separated subset of pgbench,bare,hexpay")
    parser.add_argument("--level", type=int, help="paid orders in the history for the side-by-side run")
    parser.add_argument("--no-curve", action="store_true", help="skip the cost curve")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy on the servers over each measured window: stacks and a summary in "
                             "bench/results/profiles/ (the window's numbers are then not comparable)")
    args = parser.parse_args(argv)
    options = Options()
    if args.smoke:
        options = Options(duration=1.0, warmup=0.0, margin=0.25, repeats=1, workers=1, level=2_000, curve=(),
                          label="smoke", setup_customers=20)
    if args.duration:
        options.duration = args.duration
    if args.repeats:
        options.repeats = args.repeats
    if args.workers:
        options.workers = args.workers
    if args.level:
        options.level = args.level
    if args.scenarios:
        options.scenarios = tuple(s for s in SCENARIOS if s in args.scenarios.split(","))
    if args.systems:
        options.systems = tuple(s for s in ("pgbench", "bare", "hexpay") if s in args.systems.split(","))
    if args.no_curve:
        options.curve = ()
    if args.with_1m:
        options.curve = (*options.curve, 1_000_000)
    options.keep = args.keep
    if args.profile:
        if profiling.executable() is None:
            parser.error("--profile needs py-spy on the PATH (it is in the dev dependencies: make install)")
        options.profile = True
    if "confirm_payment" in options.scenarios and "create_payment" not in options.scenarios:
        options.scenarios = ("create_payment", *options.scenarios)
    return options


def cli() -> None:
    os.chdir(ROOT)
    raise SystemExit(asyncio.run(main(parse())))
