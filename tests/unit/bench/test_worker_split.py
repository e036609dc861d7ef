"""Each window records how the server's CPU split between its workers (bench.measure.busiest_share): uvicorn's
workers accept from one socket, and the load's 32 keep-alive connections can land mostly on one of them, which then
saturates its core while the other idles. The table prints the split beside the ratios it distorts."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.measure import Measurement, busiest_share, window


@pytest.mark.parametrize(("workers_cpu", "share"), [
    ([1.0, 1.0], 0.5),  # even
    ([3.0, 1.0], 0.75),
    ([0.9, 0.05, 0.05], 0.9),
    ([2.0], None),  # one worker: nothing to split
    ([0.0, 0.0], None),  # no CPU used: no share to speak of
    ([], None),
])
def test_the_busiest_workers_share(workers_cpu: list[float], share: float | None) -> None:
    assert busiest_share(workers_cpu) == share


def test_a_window_carries_the_split_and_the_measurement_its_median() -> None:
    m = Measurement("hexpay", "webhook", 100_000, 2)
    for split in ([1.0, 1.0], [3.0, 1.0], [4.0, 1.0]):
        m.windows.append(window([0.01] * 100, 1.0, sum(split), 1.0, 0.1, {"200": 100}, workers_cpu=split))
    assert [w.busiest_worker_share for w in m.windows] == [0.5, 0.75, 0.8]
    assert m.summary()["busiest_worker_share"] == 0.75
    assert m.to_json()["windows"][1]["busiest_worker_share"] == 0.75


def _summary(share: float | None, workers: int) -> dict[str, Any]:
    return {"rps": 100.0, "p50_ms": 5.0, "p99_ms": 9.0, "cpu_us_per_request": 900.0,
            "server_cpu_us_per_request": 600.0, "postgres_cpu_us_per_request": 300.0,
            "peak_rss_mib_per_worker": [100.0], "correct": True, "workers": workers, "busiest_worker_share": share}


def _doc(bare_share: float | None, hexpay_share: float | None, workers: int) -> dict[str, Any]:
    found = {"bare": _summary(bare_share, workers), "hexpay": _summary(hexpay_share, workers),
             "ratios": {"hexpay/bare req/s": 1.0, "hexpay/bare req/s, window by window": None,
                        "hexpay/pgbench req/s": None, "bare/hexpay CPU per request": 1.0}}
    return {"options": {"connections": 32, "level": 1000, "repeats": 3, "duration": 8.0,
                        "systems": ["bare", "hexpay"]},
            "machine": {"cpus": 2}, "rows": {}, "statements_per_request": {}, "side_by_side": {"get_payment": found},
            "cost_curve": {}, "postgres_cpu_measured": True, "all_correct": True}


def test_the_table_prints_the_split_of_each_system() -> None:
    printed = report.table(_doc(0.87, 0.52, 2))
    assert "busiest worker's share of the server CPU (median; 0.50 is even): bare 0.87, hexpay 0.52" in printed


def test_one_worker_or_an_older_run_prints_no_split() -> None:
    assert "busiest worker" not in report.table(_doc(None, None, 1))
