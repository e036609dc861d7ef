"""The bench's profile summary: collapsed stacks from py-spy, summed per function and per hexpay layer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.profiling import area_of, function_of, read_stacks, summary

STACKS = """\
run (uvicorn/main.py:632);create_intent (entrypoints/http/store.py:59);_do_execute (asyncpg/connection.py:2066) 6
run (uvicorn/main.py:632);create_intent (entrypoints/http/store.py:59);seal (adapters/crypto.py:72) 3
run (uvicorn/main.py:632);emit (logging/__init__.py:1113) 1
"""


def test_frames_name_their_function_and_file() -> None:
    assert function_of("Payment.settle (domain/payment.py:120)") == ("Payment.settle", "domain/payment.py")
    assert function_of("<module> (bench/serve.py:24)") == ("<module>", "bench/serve.py")
    assert area_of("adapters/sqlalchemy/connections.py") == "adapters/sqlalchemy"
    assert area_of("adapters/crypto.py") == "adapters/crypto"
    assert area_of("asyncpg/connection.py") == "asyncpg"
    assert area_of("random.py") == "stdlib"


def test_the_summary_sums_own_and_inclusive_samples_over_every_process(tmp_path: Path) -> None:
    first, second = tmp_path / "a.stacks", tmp_path / "b.stacks"
    first.write_text(STACKS)
    second.write_text(STACKS.splitlines()[0] + "\n")  # another worker: the same stack, 6 more samples
    stacks = read_stacks([first, second])
    assert sum(stacks.values()) == 16
    text = summary(stacks)
    assert text.startswith("16 samples")
    assert "  75.0%  asyncpg" in text  # 12 of 16 own samples
    assert "  18.8%  adapters/crypto" in text  # 3 of 16
    assert " 93.8%  create_intent (entrypoints/http/store.py)" in text  # 15 on the stack
    assert "100.0%  run (uvicorn/main.py)" in text


def test_a_recursive_function_counts_once_per_sample() -> None:
    stacks: Counter[tuple[str, ...]] = Counter({("f (a/x.py:1)", "f (a/x.py:2)", "g (a/y.py:3)"): 4})
    assert "100.0%  f (a/x.py)" in summary(stacks)
