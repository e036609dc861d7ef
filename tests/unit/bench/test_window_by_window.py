"""The bench runs the bare handler's and hexpay's windows in turn (bench.run.in_turn), the order swapped every
round, and reports the ratio of each pair of windows run seconds apart (bench.report.paired): on a machine whose
speed drifts by a third within minutes, only windows close in time compare the systems on one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bench.measure import Measurement, Window
from bench.report import paired
from bench.run import in_turn


async def _windows(name: str, count: int, ran: list[str]) -> AsyncIterator[None]:
    for n in range(count):
        ran.append(f"{name}{n}")
        yield
    ran.append(f"{name} done")


async def test_the_systems_take_turns_and_the_order_swaps_every_round() -> None:
    ran: list[str] = []
    before: list[str] = []
    await in_turn({"bare": _windows("bare", 4, ran), "hexpay": _windows("hexpay", 4, ran)}, before.append)
    assert ran == ["bare0", "hexpay0", "hexpay1", "bare1", "bare2", "hexpay2", "hexpay3", "bare3",
                   "bare done", "hexpay done"]
    assert before[:4] == ["bare", "hexpay", "hexpay", "bare"]


async def test_one_that_ends_early_leaves_the_other_to_go_on() -> None:
    ran: list[str] = []
    await in_turn({"bare": _windows("bare", 1, ran), "hexpay": _windows("hexpay", 3, ran)})
    assert ran == ["bare0", "hexpay0", "hexpay1", "bare done", "hexpay2", "hexpay done"]


def _measured(system: str, rates: list[float]) -> Measurement:
    m = Measurement(system, "create_payment", 100_000, 1)
    m.windows = [Window(requests=int(rate * 8), seconds=8.0, server_cpu_s=1.0, postgres_cpu_s=1.0,
                        client_cpu_s=0.1, p50_ms=10.0, p99_ms=20.0) for rate in rates]
    return m


def test_the_paired_ratio_is_the_median_of_the_windows_ratios_with_their_range() -> None:
    bare = _measured("bare", [400, 300, 500, 400])
    hexpay = _measured("hexpay", [360, 240, 450, 200])
    assert paired(hexpay, bare) == {"median": 0.85, "low": 0.5, "high": 0.9}  # 0.9, 0.8, 0.9, 0.5
    assert paired(None, bare) is None and paired(hexpay, _measured("bare", [])) is None
