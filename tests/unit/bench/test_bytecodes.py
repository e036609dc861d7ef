"""bench.bytecodes: bytecodes counted per function while counting is on, and only then, for coroutines as they
resume; code objects of one name and place added together."""

from __future__ import annotations

import asyncio
import dataclasses

from bench.bytecodes import Counts


def _loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


async def _resumed(n: int) -> int:
    total = 0
    for i in range(n):
        await asyncio.sleep(0)  # suspended and resumed n times: still counted, as a request's coroutine is
        total += i
    return total


def _count(function_name: str, counts: Counts) -> int:
    return sum(n for name, n in counts.by_function().items() if name.endswith(f"({function_name})"))


def test_a_loop_runs_bytecodes_in_proportion_to_its_turns_and_nothing_is_counted_outside() -> None:
    counts = Counts()
    _loop(1000)  # not counted
    with counts.counting():
        _loop(10)
    ten = _count("_loop", counts)
    with counts.counting():
        _loop(110)
    hundred_and_twenty = _count("_loop", counts)
    per_turn = (hundred_and_twenty - 2 * ten) / 100  # the fixed part cancels: (a + 110b) + (a + 10b) - 2(a + 10b)
    assert per_turn == int(per_turn) and 3 <= per_turn <= 12
    assert counts.total == sum(counts.by_file().values()) == sum(counts.by_function().values())


def test_a_coroutine_is_counted_across_its_suspensions() -> None:
    counts = Counts()

    async def main() -> None:
        with counts.counting():
            await _resumed(5)
        first = _count("_resumed", counts)
        with counts.counting():
            await _resumed(25)
        assert _count("_resumed", counts) - first > 3 * first  # five times the turns: well over four times the count

    asyncio.run(main())


def test_generated_functions_of_one_name_and_place_are_added_together() -> None:
    @dataclasses.dataclass
    class A:
        x: int

    @dataclasses.dataclass
    class B:
        y: int

    counts = Counts()
    with counts.counting():
        A(1)
        B(2)
    generated = {name: n for name, n in counts.by_function().items() if name.endswith("(__init__)")}
    per_class = [n for code, n in counts.by_code.items() if code.co_name == "__init__"]
    assert len(per_class) == 2 and len(generated) == 1  # two code objects, both `<string>:2(__init__)`
    assert sum(generated.values()) == sum(per_class) > 0
    report = counts.report(requests=2, top=5)
    assert report.splitlines()[0] == f"{counts.total / 2:,.0f} bytecodes per request over 2 requests"
    assert "<string>:2(__init__)" in report  # the functions that ran the most, by file, line and name
