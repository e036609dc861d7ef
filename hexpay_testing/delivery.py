"""How a webhook sender delivers a history: every report at least once, some more than once, in any order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


@st.composite
def delivery_streams(draw: st.DrawFn, history: Sequence[T], *, max_duplicates: int | None = None) -> list[T]:
    """The history's reports shuffled, with duplicates: Stripe retries a webhook until it is acknowledged and never
    promises an order, and the synchronous answer and a reconciliation poll report the same states again."""
    if not history:
        return []
    limit = len(history) if max_duplicates is None else max_duplicates
    duplicates = draw(st.lists(st.sampled_from(list(history)), max_size=limit))
    return draw(st.permutations([*history, *duplicates]))
