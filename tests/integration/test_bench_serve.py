"""The bench's server of several workers (bench.systems.Server, bench.serve --ports), end to end: one process per
port, each answering on its own, the load client's connections spread over them so that every worker works, each
worker's CPU read apart, and stop() taking every process down. The bare handler is served (it needs only a
Postgres to pool connections to); its 401 for a request without a token is the answer the load gets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import procstat
from bench.load import Job, raw_request, run
from bench.systems import Server
from tests.fixtures.postgres import asyncpg_dsn

pytestmark = pytest.mark.postgres


def _alive(pid: int) -> bool:
    return procstat.cpu_seconds(pid) is not None and os.path.exists(f"/proc/{pid}")


async def test_a_server_of_two_workers_serves_a_port_each_and_the_load_reaches_both(
    postgres_url: str, tmp_path: Path
) -> None:
    plans = tmp_path / "plans.json"
    plans.write_text(json.dumps({}))
    env = {"BENCH_DSN": asyncpg_dsn(postgres_url), "BENCH_JWT_SECRET": "s" * 32, "BENCH_WEBHOOK_SECRET": "w" * 32,
           "BENCH_PLANS": str(plans), "BENCH_POOL_MAX": "2"}
    server = Server("bare", 2, env, tmp_path / "bare.log")
    await server.start()
    try:
        workers = server.workers_pids()
        assert len(set(server.ports)) == 2
        assert len(set(workers)) == 2 and server.pid not in workers
        before = server.workers_cpu()
        request = raw_request("GET", "/api/v1/me/payment-methods/", {}, b"")  # no token: 401 at once
        result = await run(Job(server.ports, connections=8, duration=1.5, requests=[request], cycle=True))
        after = server.workers_cpu()
    finally:
        await server.stop()
    assert result.outcomes and {o.status for o in result.outcomes} == {401} and not result.errors
    assert set(before) == set(after) == set(workers)
    assert all(after[pid] > before[pid] for pid in workers), (before, after)  # each port reached its own worker
    assert not any(_alive(pid) for pid in [server.pid, *workers])
