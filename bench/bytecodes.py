"""Python bytecodes executed, counted per function: where hexpay's own Python goes, without a sampler's or a
deterministic profiler's distortions.

cProfile charges each call its own bookkeeping, so code made of many small calls looks several times dearer than
it is (a webhook's request log line took 7.6% of cProfile's time, and 5 us of a 1,000 us delivery when timed
alone); a sampler under load charges a function for the system calls it waits on. Counting the bytecodes each
function runs (`sys.settrace` with opcode events, in process) is exact and repeatable: it finds the work. It does
not weigh it: a bytecode calling into C (a regex, a JSON encoder, a socket) counts one, so instructions
(bench/instructions.py) measure what a change saves. Tracing makes the process about fifty times slower, so it is
run on a few hundred requests.
"""

from __future__ import annotations

import collections
import contextlib
import sys
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

_PREFIXES = (("/site-packages/", ""), ("/lib/python3", "stdlib/python3"))


class Counts:
    """Bytecodes executed per code object while counting was on."""

    def __init__(self) -> None:
        self.by_code: collections.Counter[CodeType] = collections.Counter()

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        """Counting on for the block, for every frame this thread starts in it (coroutines resumed included)."""
        by_code = self.by_code

        def on_opcode(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                by_code[frame.f_code] += 1
            return on_opcode

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            frame.f_trace_opcodes = True
            return on_opcode

        previous = sys.gettrace()
        sys.settrace(on_call)
        try:
            yield
        finally:
            sys.settrace(previous)

    @property
    def total(self) -> int:
        return sum(self.by_code.values())

    def by_function(self) -> collections.Counter[str]:
        """Code objects of one name and place added together (every dataclass's generated __init__ is
        `<string>:2(__init__)`)."""
        functions: collections.Counter[str] = collections.Counter()
        for code, n in self.by_code.items():
            functions[f"{_short(code.co_filename)}:{code.co_firstlineno}({code.co_name})"] += n
        return functions

    def by_file(self) -> collections.Counter[str]:
        files: collections.Counter[str] = collections.Counter()
        for code, n in self.by_code.items():
            files[_short(code.co_filename)] += n
        return files

    def report(self, requests: int, top: int) -> str:
        """Per request: the total, then the `top` files and functions that ran the most bytecodes."""
        total = self.total
        lines = [f"{total / requests:,.0f} bytecodes per request over {requests:,} requests"]
        for title, counter in (("files", self.by_file()), ("functions", self.by_function())):
            lines.append(f"-- {title} (bytecodes per request, share)")
            lines += [f"{n / requests:9,.0f} {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
        return "\n".join(lines)


def _short(filename: str) -> str:
    """A path from the package or the project's root: `litestar/app.py`, `adapters/sqlalchemy/transaction.py`."""
    for marker, replacement in _PREFIXES:
        if marker in filename:
            return replacement + filename.split(marker, 1)[1]
    for root in sys.path:
        if root and filename.startswith(root.rstrip("/") + "/"):
            return filename[len(root.rstrip("/")) + 1:]
    return filename
