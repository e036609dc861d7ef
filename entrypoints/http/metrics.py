"""Prometheus metrics, in a registry of the app's own (several apps in one process, as in tests, never clash).

Each worker process reports its own request and webhook counters; Prometheus sums them across targets.
The payments gauge is read from the database at scrape time, so every worker reports the same truth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from domain.payment import PaymentStatus

PaymentCounts = Callable[[], Awaitable[dict[str, int] | None]]  # None: unknown right now


class HttpMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("hexpay_http_requests", "HTTP requests by route template, method and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("hexpay_http_request_duration_seconds", "HTTP request latency by route template",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.webhooks = Counter("hexpay_webhook_events", "Gateway webhook events by type and outcome",
                                ["type", "outcome"], registry=self.registry)
        self.payments = Gauge("hexpay_payments", "Payments by status (read from the database at scrape time)",
                              ["status"], registry=self.registry)

        # The labelled series of each (method, route, status), found once: labels() takes a lock and checks its
        # arguments on every call (1% of a webhook's CPU). Routes are templates, so the set stays small.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = (
                self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
        series[0].inc()
        series[1].observe(seconds)

    def observe_webhook(self, event_type: str, outcome: str) -> None:
        self.webhooks.labels(event_type or "unknown", outcome).inc()

    async def render(self, payment_counts: PaymentCounts | None) -> bytes:
        if payment_counts is not None:
            counts = await payment_counts()
            if counts is not None:
                for status in PaymentStatus:
                    self.payments.labels(status.value).set(counts.get(status.value, 0))
        return generate_latest(self.registry)
