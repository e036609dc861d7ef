"""The numbers each guarantee test checked, printed in pytest's summary so every run shows them.

A test calls `measure("label", intents=1, charges=1, ...)`; the terminal summary lists every measurement under
"numbers checked". conftest.py files re-export the fixture and the hook; the hook prints once per session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

_MEASURED: list[tuple[str, str, dict[str, Any]]] = []

Measure = Callable[..., None]


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Measure:
    def record(label: str, **numbers: Any) -> None:
        _MEASURED.append((request.node.nodeid, label, numbers))
        print(f"{label}: " + " ".join(f"{k}={v}" for k, v in numbers.items()))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _MEASURED:
        return
    terminalreporter.section("numbers checked by the guarantee tests")
    for nodeid, label, numbers in _MEASURED:
        terminalreporter.write_line(f"{nodeid.split('::', 1)[-1]} | {label}: "
                                    + " ".join(f"{k}={v}" for k, v in numbers.items()))
    _MEASURED.clear()
