"""The request metrics kept as plain numbers (metrics.RequestSeries) are exposed exactly as prometheus_client's
own Counter and Histogram expose the same observations: the same series, labels, bucket counts, counts and sums,
and a _created series for each (its value is the moment a series began, so only its presence is compared)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from entrypoints.http.metrics import LATENCY_BUCKETS, HttpMetrics, RequestSeries

_CREATED = re.compile(r"^(\w+_created\{.*\}) \S+$", re.MULTILINE)

observations = st.lists(st.tuples(
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(["/api/store/payments/{payment_id}/", "unmatched", 'a "quoted" \\ route']),
    st.sampled_from([200, 201, 404, 500]),
    # every bound exactly, just either side of it, and anything from nothing to far past the last bucket
    st.one_of(st.sampled_from(LATENCY_BUCKETS), st.floats(0, 20, allow_nan=False),
              st.sampled_from(LATENCY_BUCKETS).map(lambda b: b * (1 + 1e-9)),
              st.sampled_from(LATENCY_BUCKETS).map(lambda b: b * (1 - 1e-9))),
), max_size=40)


def _library_exposition(seen: list[tuple[str, str, int, float]]) -> str:
    registry = CollectorRegistry()
    requests = Counter("hexpay_http_requests", "HTTP requests by route template, method and status",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("hexpay_http_request_duration_seconds", "HTTP request latency by route template",
                        ["method", "route"], registry=registry, buckets=LATENCY_BUCKETS)
    for method, route, status, seconds in seen:
        requests.labels(method, route, str(status)).inc()
        latency.labels(method, route).observe(seconds)
    return generate_latest(registry).decode()


def _series_exposition(seen: list[tuple[str, str, int, float]]) -> str:
    registry = CollectorRegistry()
    series = RequestSeries()
    registry.register(series)
    for method, route, status, seconds in seen:
        series.observe(method, route, status, seconds)
    return generate_latest(registry).decode()


def _without_created_values(text: str) -> str:
    return _CREATED.sub(r"\1 <created>", text)


@given(observations)
def test_exposed_as_the_library_exposes_the_same_observations(seen: list[tuple[str, str, int, float]]) -> None:
    ours = _series_exposition(seen)
    assert _without_created_values(ours) == _without_created_values(_library_exposition(seen))
    assert ours.count("_created{") == len({(m, r, s) for m, r, s, _ in seen}) + len({(m, r) for m, r, _, _ in seen})


def test_a_request_lands_in_the_first_bucket_at_or_above_it() -> None:
    metrics = HttpMetrics()
    for seconds in (0.005, 0.0051, 10.0, 11.0):
        metrics.observe_request("GET", "/r", 200, seconds)
    text = generate_latest(metrics.registry).decode()
    assert 'hexpay_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/r"} 1.0' in text
    assert 'hexpay_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/r"} 2.0' in text
    assert 'hexpay_http_request_duration_seconds_bucket{le="10.0",method="GET",route="/r"} 3.0' in text
    assert 'hexpay_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/r"} 4.0' in text
    assert 'hexpay_http_request_duration_seconds_sum{method="GET",route="/r"} 21.0101' in text
    assert 'hexpay_http_requests_total{method="GET",route="/r",status="200"} 4.0' in text
