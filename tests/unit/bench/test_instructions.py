"""bench.instructions counts only the window it is asked to: a probe does a large setup, then n units of work
inside the window. The count must grow by the same amount for each further n units (so it counts the work, and
counts it repeatably) and must not hold the setup."""

from __future__ import annotations

import pytest

from bench import instructions

pytestmark = pytest.mark.skipif(not instructions.available(), reason="valgrind is not installed")

PROBE = "tests.unit.bench.callgrind_probe"


def test_the_count_is_the_windows_work_alone() -> None:
    none, some, twice = (instructions.count(PROBE, [str(units)])[0] for units in (0, 50_000, 100_000))
    per_step = some - none
    assert per_step > 1_000_000  # 50,000 generator steps of Python are millions of instructions
    assert abs((twice - some) - per_step) < 0.02 * per_step
    # The setup (300,000 units, six times the step) is not in the empty window's count.
    assert none < per_step
