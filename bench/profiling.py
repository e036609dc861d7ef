"""`--profile`: py-spy records each server process over exactly a measured window, and a summary is written beside
the stacks.

The stacks are py-spy's collapsed ("raw") format, one line per distinct stack with its sample count: the input of
flamegraph.pl, speedscope.app and most flame-graph viewers. The summary lists the functions by their own samples
and by the samples they are on the stack for, and the share of each package or hexpay layer.

What a sample means: py-spy samples a thread whenever it is not idle in the event loop's poll, and a process that
is runnable but waiting for a core counts as busy. On a shared machine under load (the server, Postgres and the
load client on two cores) the kernel takes the core away mostly on the way back from a system call, so lines that
make one (a socket write, os.urandom, a log line's write) collect more samples than the CPU they use: in one run
os.urandom showed 11 us per call against 0.3 us measured alone. Read the summary as where the wall time goes, and
confirm a suspect with a micro-benchmark before changing it. `--nonblocking` keeps py-spy from pausing the server
to read its stacks, so the window's own numbers stay close to an unprofiled one; they are still not to be
compared with unprofiled runs.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 200
_LOCATION = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_LAYERS = ("domain", "application", "adapters", "entrypoints", "bench")


@dataclass
class Recording:
    processes: list[asyncio.subprocess.Process]
    outputs: list[Path]
    summary: Path


def executable() -> str | None:
    """py-spy beside this Python (the project's venv, where `make install` puts it), else on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def start(pids: list[int], seconds: float, directory: Path, name: str) -> Recording:
    """py-spy on each server process for `seconds`; awaited by finish()."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once per window, before it is timed)
    outputs = [directory / f"{name}-{pid}.stacks" for pid in pids]
    spy = executable()
    assert spy is not None, "checked when the options were parsed"
    processes = [
        await asyncio.create_subprocess_exec(
            spy, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--duration", str(max(1, round(seconds))),
            "--format", "raw", "--nonblocking", "--output", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        for pid, out in zip(pids, outputs, strict=True)
    ]
    return Recording(processes, outputs, directory / f"{name}.txt")


async def finish(recording: Recording) -> Path | None:
    """Waits for py-spy, then writes the summary of every process's stacks together; None when py-spy failed."""
    failures = []
    for process in recording.processes:
        _, err = await process.communicate()
        if process.returncode:
            failures.append((err or b"").decode(errors="replace").strip()[-300:])
    stacks = [path for path in recording.outputs if path.exists()]
    if not stacks:
        recording.summary.write_text("py-spy recorded nothing: " + "; ".join(failures) + "\n")
        return None
    recording.summary.write_text(summary(read_stacks(stacks)))
    return recording.summary


def read_stacks(paths: list[Path]) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for path in paths:
        for line in path.read_text().splitlines():
            frames, _, count = line.rpartition(" ")
            if frames and count.isdigit():
                stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def function_of(frame: str) -> tuple[str, str]:
    """'Payment.settle (domain/payment.py:120)' -> ('Payment.settle', 'domain/payment.py')."""
    match = _LOCATION.match(frame)
    return (match["function"], match["file"]) if match else (frame, "")


def area_of(file: str) -> str:
    """hexpay's layer and package (adapters/sqlalchemy), else the library (asyncpg, litestar) or the stdlib."""
    parts = file.split("/")
    if parts[0] in _LAYERS:
        return "/".join(parts[:2]).removesuffix(".py")
    if len(parts) == 1:
        return "stdlib" if file.endswith(".py") else file or "?"
    return parts[0]


def summary(stacks: Counter[tuple[str, ...]], top: int = 30) -> str:
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for frames, count in stacks.items():
        leaf, leaf_file = function_of(frames[-1])
        own[f"{leaf} ({leaf_file})"] += count
        areas[area_of(leaf_file)] += count
        for name in {"{} ({})".format(*function_of(frame)) for frame in frames}:
            inclusive[name] += count

    def block(title: str, counts: Counter[str], n: int) -> list[str]:
        return [title, *(f"{100 * c / total:6.1f}%  {name}" for name, c in counts.most_common(n)), ""]

    lines = [f"{total} samples at {RATE_HZ} Hz (where the wall time goes; see bench/profiling.py on reading it)", ""]
    lines += block("by area (own samples):", areas, top)
    lines += block("by function, own samples:", own, top)
    lines += block("by function, on the stack:", inclusive, 2 * top)
    return "\n".join(lines)
