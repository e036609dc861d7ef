"""Instructions executed, counted by valgrind's callgrind: the in-process A/B without the machine's drift.

CPU time on a shared two-core machine moves 10-40% between runs a minute apart; the number of instructions the
process executes for the same requests does not (two runs of 100 creates: 4,264,000 and 4,265,000 per create).
It counts user-space instructions only: system calls, cache misses and Postgres are not in it, so it shows what a
change does to hexpay's own work, not what the work costs in time. The process runs under callgrind with counting
off, and the measured window alone switches it on (callgrind_control), so the setup is not counted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

UNDER_CALLGRIND = "HEXPAY_BENCH_CALLGRIND"  # set in the child that valgrind runs
_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def under_callgrind() -> bool:
    return os.environ.get(UNDER_CALLGRIND) == "1"


@contextlib.contextmanager
def counted() -> Iterator[None]:
    """Counting on for the block, in this process (which must be running under callgrind)."""
    _switch("on")
    try:
        yield
    finally:
        _switch("off")


def _switch(state: str) -> None:
    # Returns once valgrind has acted on it: the instructions before and after the block are not counted.
    subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True, capture_output=True)


def count(module: str, arguments: list[str]) -> tuple[int, str]:
    """Runs `python -m module arguments` under callgrind (counting off until it switches counting on) and returns
    the instructions counted and what it printed."""
    if not available():
        raise SystemExit("counting instructions needs valgrind (the Debian package valgrind)")
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", module, *arguments]
    done = subprocess.run(command, env={**os.environ, UNDER_CALLGRIND: "1"}, capture_output=True, text=True)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"python -m {module} under callgrind failed (exit {done.returncode})")
    return int(found[-1].replace(",", "")), done.stdout
