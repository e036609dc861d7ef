"""CPU time and peak memory from /proc: of the server under test (its process tree), of the Postgres processes
that serve the bench database (their titles name it) plus Postgres's own helpers (WAL writer, checkpointer ...),
and of the load client.

Postgres backends come and go (pgbench connects per run, a pool may replace a connection), so a background thread
reads them ten times a second; a backend that lived less than that between two readings is not seen.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")
_AUXILIARY = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication",
              "stats collector", "archiver")


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    return int(raw[raw.rindex(b")") + 2:].split()[1])


def title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> list[int]:
    parents = {pid: parent_of(pid) for pid in _all_pids()}
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def peak_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_cpu(root: int) -> float:
    return sum(filter(None, (cpu_seconds(p) for p in [root, *descendants(root)])))


@dataclass
class Mark:
    at: float
    cpu: dict[int, float]


class PostgresWatch:
    """Polls the postmaster's children that belong to the database (or to no database: Postgres's helpers)."""

    def __init__(self, postmaster: int | None, database: str, interval: float = 0.1) -> None:
        self.postmaster, self.database, self.interval = postmaster, database, interval
        self.last: dict[int, float] = {}
        self.first_seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def available(self) -> bool:
        return self.postmaster is not None

    def start(self) -> PostgresWatch:
        if self.available:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _ours(self, pid: int) -> bool:
        text = title(pid)
        return f" {self.database} " in text + " " or any(a in text for a in _AUXILIARY)

    def poll(self) -> None:
        if self.postmaster is None:
            return
        seen: dict[int, float] = {}
        for pid in _all_pids():
            if parent_of(pid) == self.postmaster and self._ours(pid):
                cpu = cpu_seconds(pid)
                if cpu is not None:
                    seen[pid] = cpu
        with self._lock:
            now = time.time()
            for pid, cpu in seen.items():
                self.first_seen.setdefault(pid, now)
                self.last[pid] = cpu

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def mark(self) -> Mark:
        self.poll()
        with self._lock:
            return Mark(time.time(), dict(self.last))

    def used(self, start: Mark, end: Mark) -> tuple[float | None, int]:
        """CPU seconds between the marks, and how many backends started in between."""
        if not self.available:
            return None, 0
        with self._lock:
            total = 0.0
            born = 0
            for pid, cpu in self.last.items():
                if pid in start.cpu:
                    total += end.cpu.get(pid, cpu) - start.cpu[pid]
                elif start.at <= self.first_seen.get(pid, 0) <= end.at:
                    total += end.cpu.get(pid, cpu)
                    born += 1
            return total, born


def postmaster_of(backend_pid: int) -> int | None:
    """The local postmaster serving this backend, or None when the server is not on this machine."""
    parent = parent_of(backend_pid)
    if parent is None or "postgres" not in title(backend_pid) + title(parent):
        return None
    return parent
