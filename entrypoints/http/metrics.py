"""Prometheus metrics, in a registry of the app's own (several apps in one process, as in tests, never clash).

Each worker process reports its own request and webhook counters; Prometheus sums them across targets.
The payments gauge is read from the database at scrape time, so every worker reports the same truth.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import prometheus_client.metrics
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from domain.payment import PaymentStatus

PaymentCounts = Callable[[], Awaitable[dict[str, int] | None]]  # None: unknown right now
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestSeries(Collector):
    """hexpay_http_requests (a counter by method, route and status) and hexpay_http_request_duration_seconds (a
    histogram by method and route), exposed exactly as prometheus_client's Counter and Histogram expose them
    (their _total, _bucket, _count, _sum and _created series), but kept as plain numbers and turned into metric
    families only when scraped: the library's observe() takes a lock per value it adds and walks the buckets in
    Python, about 250 bytecodes a request, for numbers that are written and read on the event loop's one thread.
    """

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self._bounds = tuple(sorted(buckets))
        self._counts: dict[tuple[str, str, int], list[float]] = {}  # key -> [requests, created]
        # (method, route) -> [per bucket (the last one +Inf, not cumulative)..., sum, created]
        self._latency: dict[tuple[str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        counted = self._counts.get((method, route, status))
        if counted is None:
            counted = self._counts[(method, route, status)] = [0.0, time.time()]
        counted[0] += 1.0
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[(method, route)] = [0.0] * (len(self._bounds) + 2) + [time.time()]
        latency[bisect_left(self._bounds, seconds)] += 1.0  # the first bucket whose bound is >= seconds ("le")
        latency[-2] += seconds

    def collect(self) -> Iterator[Metric]:
        # The _created series as the library's own metrics give them (PROMETHEUS_DISABLE_CREATED_SERIES=True
        # turns them off there, and so here).
        created = getattr(prometheus_client.metrics, "_use_created", True)
        requests = CounterMetricFamily("hexpay_http_requests", "HTTP requests by route template, method and status",
                                       labels=["method", "route", "status"])
        for (method, route, status), (count, since) in list(self._counts.items()):
            requests.add_metric([method, route, str(status)], count, created=since if created else None)
        yield requests
        name = "hexpay_http_request_duration_seconds"
        latency = HistogramMetricFamily(name, "HTTP request latency by route template", labels=["method", "route"])
        bounds = [*map(floatToGoString, self._bounds), "+Inf"]
        for (method, route), series in list(self._latency.items()):
            cumulative, running = [], 0.0
            for bound, count in zip(bounds, series, strict=False):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([method, route], cumulative, series[-2])
            if created:
                latency.samples.append(Sample(f"{name}_created", {"method": method, "route": route}, series[-1]))
        yield latency


class HttpMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestSeries()
        self.registry.register(self.requests)
        self.webhooks = Counter("hexpay_webhook_events", "Gateway webhook events by type and outcome",
                                ["type", "outcome"], registry=self.registry)
        self.payments = Gauge("hexpay_payments", "Payments by status (read from the database at scrape time)",
                              ["status"], registry=self.registry)
        # The labelled webhook series, found once each: labels() takes a lock and checks its arguments on every
        # call. Event types and outcomes are few, so the set stays small.
        self._webhook_series: dict[tuple[str, str], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # Routes are templates (an unmatched path counts as one route), so the series stay few.
        self.requests.observe(method, route, status, seconds)

    def observe_webhook(self, event_type: str, outcome: str) -> None:
        key = (event_type or "unknown", outcome)
        series = self._webhook_series.get(key)
        if series is None:
            series = self._webhook_series[key] = self.webhooks.labels(*key)
        series.inc()

    async def render(self, payment_counts: PaymentCounts | None) -> bytes:
        if payment_counts is not None:
            counts = await payment_counts()
            if counts is not None:
                for status in PaymentStatus:
                    self.payments.labels(status.value).set(counts.get(status.value, 0))
        return generate_latest(self.registry)
