"""A program for test_instructions: a large piece of work outside the counted window and `n` units inside it."""

from __future__ import annotations

import sys

from bench import instructions


def work(units: int) -> int:
    return sum(1 for _ in range(units))  # the same steps throughout (i * i would grow into longer integers)


if __name__ == "__main__":
    work(300_000)  # setup: must not be counted
    with instructions.counted():
        work(int(sys.argv[1]))
