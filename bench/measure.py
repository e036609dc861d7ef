"""One measured window: what the load got (requests, latencies) and what it cost (CPU of server, Postgres and
the load client) over the same span of time, and the medians over the repeats."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Window:
    requests: int
    seconds: float
    server_cpu_s: float | None
    postgres_cpu_s: float | None
    client_cpu_s: float | None
    p50_ms: float | None
    p99_ms: float | None
    postgres_backends_started: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    exhausted: bool = False
    # The share of the workers' CPU that the busiest worker used: 1 / workers when the load was even. The check
    # that the load's connections are spread over the workers (a port each): with uvicorn's one shared socket
    # they landed as the kernel woke a worker, up to 0.87 on one of two, which saturated while the other idled.
    busiest_worker_share: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def per_request_us(self, cpu: float | None) -> float | None:
        return None if cpu is None or not self.requests else cpu / self.requests * 1e6

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(rps=round(self.rps, 1), server_cpu_us_per_request=self.per_request_us(self.server_cpu_s),
                   postgres_cpu_us_per_request=self.per_request_us(self.postgres_cpu_s))
        return out


def window(latencies_s: list[float], seconds: float, server_cpu: float | None, postgres_cpu: float | None,
           client_cpu: float | None, statuses: dict[str, int], born: int = 0, exhausted: bool = False,
           workers_cpu: list[float] | None = None) -> Window:
    ms = [x * 1000 for x in latencies_s]
    return Window(len(ms), seconds, server_cpu, postgres_cpu, client_cpu, percentile(ms, 0.50),
                  percentile(ms, 0.99), born, statuses, exhausted, busiest_share(workers_cpu or []))


def busiest_share(workers_cpu: list[float]) -> float | None:
    """The busiest worker's share of the workers' CPU over a window (None for one worker, or none used)."""
    total = sum(workers_cpu)
    return round(max(workers_cpu) / total, 3) if len(workers_cpu) > 1 and total > 0 else None


@dataclass
class Measurement:
    system: str
    scenario: str
    level: int
    workers: int | None
    windows: list[Window] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    peak_rss_mib: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def median(self, value: Any) -> float | None:
        values = [v for v in (value(w) for w in self.windows) if v is not None]
        return statistics.median(values) if values else None

    def summary(self) -> dict[str, Any]:
        server = self.median(lambda w: w.per_request_us(w.server_cpu_s))
        postgres = self.median(lambda w: w.per_request_us(w.postgres_cpu_s))
        return {
            "rps": self.median(lambda w: w.rps),
            "p50_ms": self.median(lambda w: w.p50_ms),
            "p99_ms": self.median(lambda w: w.p99_ms),
            "server_cpu_us_per_request": server,
            "postgres_cpu_us_per_request": postgres,
            "cpu_us_per_request": None if postgres is None else (server or 0.0) + postgres,
            "peak_rss_mib_per_worker": [round(r, 1) for r in self.peak_rss_mib],
            "busiest_worker_share": self.median(lambda w: w.busiest_worker_share),
            "correct": bool(self.checks.get("ok", False)),
        }

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "scenario": self.scenario, "level": self.level, "workers": self.workers,
                "summary": self.summary(), "windows": [w.to_json() for w in self.windows], "checks": self.checks,
                "notes": self.notes}
