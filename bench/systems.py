"""The processes under test: a server (hexpay or the bare handler) on a loopback port, or pgbench."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import procstat

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, app: str, workers: int, env: dict[str, str], log: Path) -> None:
        self.app, self.workers, self.env, self.log = app, workers, env, log
        # One port per worker (bench.serve --ports): the load spreads its connections over them evenly.
        self.ports = [free_port() for _ in range(workers)]
        self.port = self.ports[0]  # setup requests, which need no spreading
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _spawn(self) -> None:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.serve", self.app, "--ports", ",".join(map(str, self.ports))],
                cwd=ROOT, env={**os.environ, **self.env}, stdout=handle, stderr=subprocess.STDOUT)

    async def start(self) -> Server:
        self._spawn()
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} server exited: see {self.log}")
            if len(self.workers_pids()) >= self.workers and all([await self._answers(p) for p in self.ports]):
                await asyncio.sleep(0.5 if self.workers > 1 else 0.1)  # every worker past its startup
                return self
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.app} server did not answer on ports {self.ports}: see {self.log}")

    async def _answers(self, port: int) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (TimeoutError, asyncio.IncompleteReadError, OSError):
            return False
        finally:
            writer.close()
        return True

    def workers_pids(self) -> list[int]:
        """The processes that serve requests: one per port (forked by bench.serve), or the one process alone."""
        if self.workers == 1:
            return [self.pid]
        children = [p for p in procstat.descendants(self.pid) if "bench.serve" in procstat.title(p)
                    or "multiprocessing" in procstat.title(p)]
        return [p for p in children if "resource_tracker" not in procstat.title(p)]

    def cpu(self) -> float:
        return procstat.tree_cpu(self.pid)

    def workers_cpu(self) -> dict[int, float]:
        """Each worker's own CPU seconds so far (a worker gone or unreadable is left out)."""
        return {pid: cpu for pid in self.workers_pids() if (cpu := procstat.cpu_seconds(pid)) is not None}

    def peak_rss_mib(self) -> list[float]:
        return [r for r in (procstat.peak_rss_mib(p) for p in self.workers_pids()) if r is not None]

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        for _ in range(100):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.process.kill()
        self.process.wait()


@dataclass
class PgbenchRun:
    started: float
    returncode: int
    stderr: str
    transactions: list[tuple[int, float, float]]  # (script, latency s, end epoch s)


async def pgbench(scripts: list[tuple[Path, int]], variables: dict[str, int], *, clients: int, seconds: float,
                  env: dict[str, str], workdir: Path, on_start: object = None,
                  transactions: int | None = None) -> PgbenchRun:
    """One pgbench run (prepared statements, like SQLAlchemy's asyncpg dialect), every transaction logged;
    bounded by time, or by `transactions` per client."""
    prefix = workdir / f"pgbench-{time.time_ns()}"
    bound = ["-t", str(transactions)] if transactions else ["-T", str(max(1, round(seconds)))]
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", *bound,
               "-l", "--log-prefix", str(prefix)]
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    for path, weight in scripts:
        command += ["-f", f"{path}@{weight}"]
    started = time.time()
    process = await asyncio.create_subprocess_exec(*command, env={**os.environ, **env}, cwd=workdir,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if callable(on_start):
        await on_start(process.pid, started)
    out, err = await process.communicate()
    return PgbenchRun(started, process.returncode or 0, (err or b"").decode() + (out or b"").decode(),
                      _transactions(workdir, prefix.name))


def _transactions(workdir: Path, prefix: str) -> list[tuple[int, float, float]]:
    """pgbench's per-transaction logs: client, number, latency (us), script, end (epoch s, us); then removed."""
    transactions = []
    for log in workdir.glob(f"{prefix}*"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[2].isdigit():
                transactions.append((int(parts[3]), int(parts[2]) / 1e6, int(parts[4]) + int(parts[5]) / 1e6))
        log.unlink()
    return transactions
